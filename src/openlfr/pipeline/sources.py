"""Frame sources: video files, RTSP/HTTP streams, local cameras and image folders.

Every frame carries the wall-clock time it was received (`t_capture`, the start of the alert
latency) and its position in the media (`media_s`). Network sources reconnect with exponential
backoff and report each gap; a source that never opens raises SourceError naming it.
`BufferedSource` decodes on its own thread into a bounded queue: for live sources the queue drops
the oldest frame when full (counted), so the pipeline works on the present, never falls behind.
"""

from __future__ import annotations

import functools
import heapq
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.errors import ImageError, SourceError
from openlfr.pipeline.buffer import BufferedSource
from openlfr.pipeline.frame import (
    STREAM_SCHEMES,
    Backoff,
    Frame,
    FrameSource,
    Gap,
    SourceStats,
    luma_cells,
    not_decoded,
)
from openlfr.safelog import redact_url
from openlfr.vision.imageio import is_image_file, load_image

log = logging.getLogger(__name__)

__all__ = [
    "STREAM_SCHEMES",
    "Backoff",
    "BufferedSource",
    "CameraSource",
    "Frame",
    "FrameSource",
    "Gap",
    "ImageFolderSource",
    "PyAVSource",
    "SourceStats",
    "open_source",
    "redact_url",
]


class PyAVSource:
    """A file or a network stream decoded by FFmpeg through PyAV.

    `reconnect` (default: on for network URLs) reopens the stream after an error or an
    unexpected end, with backoff, for up to `reconnect_timeout_s` per outage. `realtime` paces a
    file at its own frame rate, so that a file behaves like a camera (frames drop when the
    pipeline is slower than the video).

    `lazy` (default) hands frames over still in the decoder's YUV, converted to BGR only when
    the pipeline looks at them (frame.py); `decoder_threads` is FFmpeg's thread count for frame-
    and slice-threaded decoding (0: FFmpeg's choice, one per core). By default a live source
    decodes on one thread: a 25 fps camera needs ~5 ms of a core per 1080p frame, and more
    threads add only their synchronisation (~10% more CPU) and a frame of delay each, on cores
    the other cameras need; a file read as fast as it goes uses FFmpeg's choice.

    `loop` (files only) starts the file again at its end, its media time running on, so that a
    recorded clip stands in for a camera in a rehearsal; each new pass is logged.

    `decode_for_stride(n)` (the pipeline calls it with its detection stride) lets a lazy source
    skip decoding the non-reference pictures between the frames the detector looks at
    (FFmpeg's skip_frame=NONREF, set per packet): they come out timed but without pixels. On the
    walkers clip (H.264 High, B-frames), stride 3: 70 of 105 pictures decoded, 4.0 ms CPU per
    frame instead of 5.5.

    Conversions to BGR run swscale on one thread (`threads=1`): PyAV gives every frame its own
    scaler, and its default (0: one thread per core) started new slice threads for every frame
    converted: 1.39 ms CPU per 1080p frame against 0.65 on one thread (same run).
    """

    def __init__(
        self,
        url: str,
        *,
        live: bool | None = None,
        reconnect: bool | None = None,
        realtime: bool = False,
        start_s: float = 0.0,
        open_attempts: int = 3,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        reconnect_timeout_s: float = 60.0,
        backoff: Backoff | None = None,
        options: dict[str, str] | None = None,
        lazy: bool = True,
        decoder_threads: int | None = None,
        loop: bool = False,
    ) -> None:
        network = url.startswith(STREAM_SCHEMES)
        if not network and not Path(url).is_file():
            raise SourceError("video file not found", source=url)
        self._url = url
        self.name = redact_url(url)  # what logs and errors show: never a stream's password
        self.live = (network or realtime) if live is None else live
        self.reconnect = network if reconnect is None else reconnect
        self.realtime = realtime
        self.start_s = start_s
        self.open_attempts = max(1, open_attempts)
        self.timeouts = (open_timeout_s, read_timeout_s)
        self.reconnect_timeout_s = reconnect_timeout_s
        self.backoff = backoff or Backoff()
        self.options = dict(options or {})
        if url.startswith(("rtsp://", "rtsps://")):
            # TCP interleaving: no lost UDP packets smearing frames on a busy network.
            self.options.setdefault("rtsp_transport", "tcp")
        self.lazy = lazy
        self.decoder_threads = (
            (1 if self.live else 0) if decoder_threads is None else decoder_threads
        )
        self.decode_every = 1
        self.stats = SourceStats()
        self._fps: float | None = None
        self._closed = threading.Event()
        self._network = network
        self.loop = loop and not network
        self.passes = 0  # times a looping file started again at its start

    @property
    def fps(self) -> float | None:
        return self._fps

    def _open(self) -> Any:
        import av

        container = av.open(self._url, options=self.options, timeout=self.timeouts)
        if not container.streams.video:
            container.close()
            raise SourceError("no video stream", source=self.name)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame+slice threads: decode is the reader's whole job
        stream.codec_context.thread_count = self.decoder_threads
        if stream.average_rate:
            self._fps = float(stream.average_rate)
        if self.start_s > 0 and not self._network:
            container.seek(
                int(self.start_s / float(stream.time_base or 1)), stream=stream, backward=True
            )
        return container

    def decode_for_stride(self, stride: int) -> None:
        self.decode_every = max(1, stride) if self.lazy else 1

    def _pictures(self, container: Any, stream: Any) -> Iterator[tuple[Any, float | None]]:
        """(decoded picture or None where skipped, its pts in seconds) in display order."""
        n, fps = self.decode_every, self._fps
        if n <= 1 or not fps:
            for vf in container.decode(stream):
                yield vf, _pts_s(vf.pts, vf.time_base)
            return
        ctx = stream.codec_context
        sent: list[float] = []  # pts of the packets sent and not yet seen come out (a heap)
        for pkt in container.demux(stream):
            t = _pts_s(pkt.pts, pkt.time_base)
            if t is not None:
                heapq.heappush(sent, t)
                # A reference picture is decoded whatever this says: others predict from it.
                ctx.skip_frame = "DEFAULT" if round(t * fps) % n == 0 else "NONREF"
            for vf in ctx.decode(pkt):
                tv = _pts_s(vf.pts, vf.time_base)
                while tv is not None and sent and sent[0] < tv - 1e-6:
                    yield None, heapq.heappop(sent)  # shown before this one: it was skipped
                if tv is not None and sent and abs(sent[0] - tv) <= 1e-6:
                    heapq.heappop(sent)
                yield vf, tv
        while sent:
            yield None, heapq.heappop(sent)

    def _why(self, exc: BaseException) -> str:
        # FFmpeg's messages quote the URL, credentials included.
        return str(exc).replace(self._url, self.name)

    def frames(self) -> Iterator[Frame]:
        import av

        opened_once = False
        lost_at: float | None = None
        attempts = 0
        delays = self.backoff.delays()
        t0_wall: float | None = None
        pace_t0: float | None = None
        offset = 0.0  # media time of the passes a looping file has already played
        last_media_s = 0.0
        while not self._closed.is_set():
            try:
                container = self._open()
            except SourceError:
                raise
            except (av.FFmpegError, OSError) as exc:
                attempts += 1
                if not opened_once and attempts >= self.open_attempts:
                    raise SourceError(
                        f"cannot open after {attempts} attempts ({self._why(exc)})",
                        source=self.name,
                    ) from exc
                if lost_at is not None and time.time() - lost_at > self.reconnect_timeout_s:
                    raise SourceError(
                        f"stream lost for more than {self.reconnect_timeout_s:.0f} s "
                        f"({self._why(exc)})",
                        source=self.name,
                    ) from exc
                self._closed.wait(next(delays))
                continue
            if lost_at is not None:
                gap = Gap(lost_at, time.time(), attempts)
                self.stats.gaps.append(gap)
                self.stats.reconnects += 1
                log.warning(
                    "source %s reconnected after a %.1f s gap (%d attempts)",
                    self.name,
                    gap.seconds,
                    attempts,
                )
            opened_once, lost_at, attempts, delays = True, None, 0, self.backoff.delays()
            looped, read_before = False, self.stats.frames_read
            try:
                stream = container.streams.video[0]
                for vf, pts_s in self._pictures(container, stream):
                    if self._closed.is_set():
                        return
                    now = time.time()
                    if t0_wall is None:
                        t0_wall = now
                    if self._network or pts_s is None:
                        media_s = now - t0_wall
                    else:
                        if pts_s + 1e-6 < self.start_s:
                            continue  # seek lands on a keyframe before the start
                        media_s = pts_s + offset
                    last_media_s = media_s
                    if self.realtime and not self._network:
                        if pace_t0 is None:
                            pace_t0 = now - media_s
                        ahead = pace_t0 + media_s - now
                        if ahead > 0:
                            self._closed.wait(ahead)
                            now = time.time()
                    if self.lazy:
                        convert = (
                            not_decoded
                            if vf is None
                            else functools.partial(vf.to_ndarray, format="bgr24", threads=1)
                        )
                        luma = None if vf is None else _luma_of(vf)
                        yield Frame(
                            self.stats.frames_read, None, now, media_s, convert=convert, luma=luma
                        )
                    else:
                        image = vf.to_ndarray(format="bgr24", threads=1)
                        yield Frame(self.stats.frames_read, image, now, media_s)
                    self.stats.frames_read += 1
                if self.loop and self.stats.frames_read > read_before:
                    looped = True
                elif not self.reconnect:
                    return
                else:
                    log.warning("source %s ended unexpectedly; reconnecting", self.name)
            except (av.FFmpegError, OSError) as exc:
                if not self.reconnect:
                    raise SourceError(f"read failed ({self._why(exc)})", source=self.name) from exc
                log.warning(
                    "source %s dropped (%s); reconnecting", self.name, exc.__class__.__name__
                )
            finally:
                container.close()
            if looped:
                step = 1.0 / self._fps if self._fps else 0.04
                offset = last_media_s + step - self.start_s
                self.passes += 1
                log.info(
                    "source %s reached its end: starting again (pass %d)",
                    self.name,
                    self.passes + 1,
                )
                continue
            lost_at = time.time()

    def close(self) -> None:
        self._closed.set()


def _luma_of(vf: Any) -> Callable[[int], np.ndarray] | None:
    """The decoded picture's Y plane, subsampled, where its format has one (YUV): read as
    decoded, so the motion gate costs no colour conversion."""
    if not vf.format.name.startswith(("yuv", "yuvj", "nv12", "nv21")):
        return None

    def luma(step: int) -> np.ndarray:
        p = vf.planes[0]
        y = np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width]
        return luma_cells(y, step)

    return luma


def _pts_s(pts: int | None, time_base: Any) -> float | None:
    return float(pts * time_base) if pts is not None and time_base else None


class CameraSource:
    """A local camera by index, through OpenCV (V4L2 on Linux)."""

    live = True

    def __init__(self, index: int, *, width: int | None = None, height: int | None = None) -> None:
        self.name = f"camera:{index}"
        self.index = index
        self.size = (width, height)
        self.stats = SourceStats()
        self._fps: float | None = None
        self._closed = threading.Event()

    @property
    def fps(self) -> float | None:
        return self._fps

    def frames(self) -> Iterator[Frame]:
        import cv2

        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            raise SourceError("camera cannot be opened", source=self.name)
        try:
            if self.size[0] and self.size[1]:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
            self._fps = float(cap.get(cv2.CAP_PROP_FPS)) or None
            t0: float | None = None
            while not self._closed.is_set():
                ok, img = cap.read()
                if not ok:
                    raise SourceError("camera stopped delivering frames", source=self.name)
                now = time.time()
                t0 = now if t0 is None else t0
                yield Frame(self.stats.frames_read, np.ascontiguousarray(img), now, now - t0)
                self.stats.frames_read += 1
        finally:
            cap.release()

    def close(self) -> None:
        self._closed.set()


class ImageFolderSource:
    """Sorted images of a folder, as frames `1/fps` seconds apart; unreadable files are skipped."""

    live = False

    def __init__(self, folder: str | Path, *, fps: float = 1.0) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SourceError("image folder not found", source=str(folder))
        self.name = str(self.folder)
        self._fps = fps
        self.stats = SourceStats()
        self.skipped: list[str] = []
        self._closed = threading.Event()

    @property
    def fps(self) -> float | None:
        return self._fps

    def frames(self) -> Iterator[Frame]:
        paths = sorted(p for p in self.folder.iterdir() if is_image_file(p))
        if not paths:
            raise SourceError("no images in folder", source=self.name)
        for i, p in enumerate(paths):
            if self._closed.is_set():
                return
            try:
                img = load_image(p)
            except ImageError as exc:
                self.skipped.append(str(p))
                log.warning("skipping %s: %s", p.name, exc.__class__.code)
                continue
            yield Frame(self.stats.frames_read, img, time.time(), i / self._fps)
            self.stats.frames_read += 1

    def close(self) -> None:
        self._closed.set()


def open_source(
    spec: str, *, realtime: bool = False, start_s: float = 0.0, loop: bool = False
) -> FrameSource:
    """A source from a CLI string: a camera index, a stream URL, an image folder or a file.
    `loop`: a file starts again at its end (other sources have no end to loop at)."""
    if spec.isdigit():
        return CameraSource(int(spec))
    if spec.startswith(STREAM_SCHEMES):
        return PyAVSource(spec)
    p = Path(spec)
    if p.is_dir():
        return ImageFolderSource(p)
    if p.is_file():
        return PyAVSource(str(p), realtime=realtime, start_s=start_s, loop=loop)
    raise SourceError("not a camera index, stream URL, folder or file", source=spec)
