"""Image loading with limits, and the conversions the rest share (downscale, JPEG).

The pixel limit is checked from the header before any pixel is decoded, so a decompression bomb
costs nothing; truncated and non-image files raise ImageDecodeError naming the file.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

from openlfr.errors import ImageDecodeError, ImageTooLargeError
from openlfr.vision.types import Image

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".bmp", ".webp", ".tif", ".tiff"}
)


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_pixels: int = 40_000_000
    max_bytes: int = 50 * 1024 * 1024


def load_image(
    source: str | Path | bytes, *, limits: ImageLimits | None = None, name: str | None = None
) -> Image:
    """Decode a file path or bytes to an HxWx3 BGR uint8 array."""
    limits = limits or ImageLimits()
    label = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ImageDecodeError(f"cannot read file ({exc.strerror})", source=label) from exc
        if size > limits.max_bytes:
            raise ImageTooLargeError(
                f"{size} bytes is over the {limits.max_bytes}-byte limit", source=label
            )
        data = path.read_bytes()
    if len(data) > limits.max_bytes:
        raise ImageTooLargeError(
            f"{len(data)} bytes is over the {limits.max_bytes}-byte limit", source=label
        )
    if not data:
        raise ImageDecodeError("empty file", source=label)
    return decode_image(data, limits=limits, label=label)


def decode_image(data: bytes, *, limits: ImageLimits, label: str) -> Image:
    try:
        with warnings.catch_warnings():
            # PIL warns (rather than raises) between 1x and 2x its own bomb limit; our own
            # limit below is the one that decides.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            img = PILImage.open(io.BytesIO(data))
            w, h = img.size
            if w * h > limits.max_pixels:
                raise ImageTooLargeError(
                    f"{w}x{h} = {w * h} pixels is over the {limits.max_pixels}-pixel limit",
                    source=label,
                )
            img.load()
            rgb = img.convert("RGB")
    except ImageTooLargeError:
        raise
    except PILImage.DecompressionBombError as exc:
        raise ImageTooLargeError(f"over the pixel limit ({exc})", source=label) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(f"not a readable image ({exc})", source=label) from exc
    arr = np.asarray(rgb, dtype=np.uint8)
    return np.ascontiguousarray(arr[:, :, ::-1])


def encode_jpeg(image: Image, quality: int = 90) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageDecodeError("JPEG encoding failed")
    return bytes(buf.tobytes())


def encode_png(image: Image) -> bytes:
    """Lossless: an aligned chip the centre re-embeds must be the very pixels the worker did."""
    import cv2

    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ImageDecodeError("PNG encoding failed")
    return bytes(buf.tobytes())


def downscale(image: Image, max_side: int | None) -> tuple[Image, float]:
    """The image shrunk so its longer side is at most `max_side`, and the factor applied."""
    h, w = image.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return image, 1.0
    scale = max_side / max(h, w)
    small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return small, scale


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
