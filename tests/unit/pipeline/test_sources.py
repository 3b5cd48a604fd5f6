from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from openlfr.errors import SourceError
from openlfr.pipeline import (
    Backoff,
    BufferedSource,
    CameraSource,
    ImageFolderSource,
    PyAVSource,
    open_source,
)
from openlfr.pipeline.sources import Frame, redact_url

from .conftest import ListSource, scene


def tiny_video(
    path: Path, n: int = 30, fps: int = 10, codec: str = "mpeg4", **options: str
) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps, options=options)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(n):
            img = np.full((48, 64, 3), (i * 8) % 256, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_file_source_delivers_every_frame_with_times(tmp_path: Path) -> None:
    src = PyAVSource(str(tiny_video(tmp_path / "v.mp4")))
    assert not src.live
    got = list(BufferedSource(src, maxsize=2))
    assert [f.index for f in got] == list(range(30))
    assert got[0].image.shape == (48, 64, 3)
    assert got[-1].media_s == pytest.approx(2.9, abs=0.01)
    assert all(b.t_capture >= a.t_capture for a, b in itertools.pairwise(got))
    assert src.fps == pytest.approx(10.0)


def test_file_source_can_start_later(tmp_path: Path) -> None:
    got = list(PyAVSource(str(tiny_video(tmp_path / "v.mp4")), start_s=1.0).frames())
    assert len(got) == 20 and got[0].media_s == pytest.approx(1.0)


def test_missing_and_unopenable_sources_raise_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        PyAVSource(str(tmp_path / "nope.mp4"))
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(SourceError):
        list(PyAVSource(str(tmp_path / "junk.mp4"), open_attempts=1).frames())
    with pytest.raises(SourceError):
        open_source(str(tmp_path / "nowhere"))


def test_a_stream_that_never_opens_gives_up_with_a_clear_error() -> None:
    src = PyAVSource(
        "rtsp://127.0.0.1:9/none", open_attempts=2, open_timeout_s=1, backoff=Backoff(0.01, 1, 0.01)
    )
    with pytest.raises(SourceError, match="cannot open after 2 attempts"):
        list(src.frames())


def test_stream_credentials_never_reach_names_or_errors() -> None:
    src = PyAVSource("rtsp://admin:hunter2@127.0.0.1:9/cam", open_attempts=1, open_timeout_s=1)
    assert src.name == "rtsp://***@127.0.0.1:9/cam"
    with pytest.raises(SourceError) as info:
        list(src.frames())
    assert "hunter2" not in str(info.value)
    assert redact_url("/videos/a.mp4") == "/videos/a.mp4"


def test_open_source_dispatch(tmp_path: Path) -> None:
    assert isinstance(open_source("0"), CameraSource)
    assert isinstance(open_source(str(tmp_path)), ImageFolderSource)
    assert open_source("rtsp://127.0.0.1:9/x").live


def test_image_folder_skips_unreadable_files(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), scene([]))
    (tmp_path / "b.jpg").write_bytes(b"broken")
    cv2.imwrite(str(tmp_path / "c.png"), scene([]))
    src = ImageFolderSource(tmp_path, fps=2)
    got = list(src.frames())
    assert [f.media_s for f in got] == [0.0, 1.0] and src.skipped == [str(tmp_path / "b.jpg")]
    with pytest.raises(SourceError):
        ImageFolderSource(tmp_path / "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images"):
        list(ImageFolderSource(tmp_path / "empty").frames())


class FastLive(ListSource):
    def __init__(self, n: int) -> None:
        super().__init__([np.zeros((4, 4, 3), np.uint8)] * n, live=True)


def test_live_queue_drops_the_oldest_and_counts_it() -> None:
    buf = BufferedSource(FastLive(200), maxsize=3)
    seen: list[int] = []
    for f in buf:
        seen.append(f.index)
        time.sleep(0.002)
    assert buf.dropped > 0 and len(seen) + buf.dropped == 200
    assert seen == sorted(seen) and seen[-1] == 199  # the present is never dropped


def test_offline_queue_waits_instead_of_dropping() -> None:
    buf = BufferedSource(ListSource([np.zeros((4, 4, 3), np.uint8)] * 50), maxsize=2)
    got = []
    for f in buf:
        got.append(f.index)
        time.sleep(0.001)
    assert got == list(range(50)) and buf.dropped == 0


def test_reader_errors_reach_the_consumer_and_stop_counts_leftovers() -> None:
    class Failing(ListSource):
        def frames(self) -> Iterator[Frame]:
            yield from super().frames()
            raise SourceError("camera unplugged", source="cam")

    with pytest.raises(SourceError, match="camera unplugged"):
        list(BufferedSource(Failing([np.zeros((4, 4, 3), np.uint8)] * 3)))
    buf = BufferedSource(FastLive(10), maxsize=10, drop_oldest=False)
    it = iter(buf)
    next(it)
    deadline = time.time() + 5
    while len(buf._q) < 9 and time.time() < deadline:
        time.sleep(0.01)
    buf.stop()
    assert buf.dropped == 9 and not any(
        t.name.startswith("reader:") and t.is_alive() for t in threading.enumerate()
    )


def test_a_lazy_source_skips_only_non_reference_pictures_the_detector_will_not_see(
    tmp_path: Path,
) -> None:
    # H.264 with non-reference B-frames (no B-pyramid): pictures a decoder may skip.
    video = str(tiny_video(tmp_path / "b.mp4", codec="libx264", bf="2", **{"b-pyramid": "none"}))
    every = list(PyAVSource(video).frames())
    src = PyAVSource(video)
    src.decode_for_stride(3)
    got = list(src.frames())
    # Every frame still arrives, in order and with its time: counts and pacing are unchanged.
    assert [f.index for f in got] == list(range(30)) == [f.index for f in every]
    assert [f.media_s for f in got] == pytest.approx([f.media_s for f in every])
    # Those the detector looks at are decoded, and decoded the same; some others are not.
    assert all(f.has_pixels for f in got[::3])
    skipped = [f for f in got if not f.has_pixels]
    assert skipped and all(f.index % 3 for f in skipped)
    for f, g in zip(got, every, strict=True):
        if f.has_pixels:
            assert np.array_equal(f.image, g.image)
    with pytest.raises(ValueError, match="not decoded"):
        _ = skipped[0].image
    # A source that converts every frame (not lazy) decodes them all.
    eager = PyAVSource(video, lazy=False)
    eager.decode_for_stride(3)
    assert all(f.has_pixels for f in eager.frames())


def test_a_live_source_decodes_on_one_thread_unless_told(tmp_path: Path) -> None:
    video = str(tiny_video(tmp_path / "v.mp4"))
    assert PyAVSource(video, realtime=True).decoder_threads == 1
    assert PyAVSource(video).decoder_threads == 0  # a file as fast as it goes: FFmpeg's choice
    assert PyAVSource(video, realtime=True, decoder_threads=4).decoder_threads == 4
