import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openlfr.errors import ImageDecodeError, ImageTooLargeError
from openlfr.vision.imageio import ImageLimits, load_image


def png_bytes(w: int, h: int, colour: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(buf, format="PNG")
    return buf.getvalue()


def test_loads_bgr(tmp_path: Path) -> None:
    p = tmp_path / "a.png"
    p.write_bytes(png_bytes(8, 6))
    img = load_image(p)
    assert img.shape == (6, 8, 3) and img.dtype == np.uint8
    assert tuple(img[0, 0]) == (30, 200, 10)  # BGR


def test_greyscale_pgm_becomes_three_channels(tmp_path: Path) -> None:
    p = tmp_path / "a.pgm"
    Image.new("L", (5, 4), 77).save(p)
    assert load_image(p).shape == (4, 5, 3)


def test_non_image_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "notes.jpg"
    p.write_text("hello, not a jpeg")
    with pytest.raises(ImageDecodeError, match=r"notes\.jpg"):
        load_image(p)


def test_truncated_jpeg(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        buf, "JPEG"
    )
    p = tmp_path / "cut.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageDecodeError, match=r"cut\.jpg"):
        load_image(p)


def test_empty_and_missing(tmp_path: Path) -> None:
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(ImageDecodeError, match="empty"):
        load_image(tmp_path / "e.png")
    with pytest.raises(ImageDecodeError, match="cannot read"):
        load_image(tmp_path / "missing.png")


def bomb_png(w: int, h: int) -> bytes:
    """A tiny PNG whose header claims w x h pixels (IHDR patched, CRC fixed)."""
    data = bytearray(png_bytes(4, 4))
    data[16:24] = struct.pack(">II", w, h)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize("side", [20000, 7000])  # above PIL's own bomb limit, and only ours
def test_decompression_bomb_refused_before_decoding(side: int) -> None:
    bomb = bomb_png(side, side)
    with pytest.raises(ImageTooLargeError, match="pixel limit"):
        load_image(bomb, name="bomb.png")


def test_byte_limit() -> None:
    with pytest.raises(ImageTooLargeError, match="byte limit"):
        load_image(png_bytes(50, 50), limits=ImageLimits(max_bytes=10))
