"""What every frame source shares: the Frame, gaps and stats, the source protocol, backoff.

A Frame's pixels may be converted lazily: PyAV decodes every frame (the codec needs them all), but
turning YUV into a BGR array costs nearly as much as decoding a 1080p frame, and the pipeline
looks at one frame in `detect_stride`. A source may therefore hand over a `convert` callable
instead of the array; `frame.image` runs it on first use, and a frame nobody looks at is never
converted. A source may also skip decoding a frame the pipeline will not look at, where the codec
allows it (a non-reference picture nothing else is predicted from): such a frame keeps its index
and times, so drops, pacing and counts are unchanged, but has no pixels (`has_pixels` is false).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from openlfr.vision.types import Image

STREAM_SCHEMES = (
    "rtsp://",
    "rtsps://",
    "rtmp://",
    "http://",
    "https://",
    "udp://",
    "tcp://",
    "srt://",
)

_EMPTY: Image = np.empty((0, 0, 3), np.uint8)


def luma_cells(y: Image, step: int) -> Image:
    """Mean brightness of `step` x `step` cells: an edge moving by a pixel or two moves the
    cell's mean (subsampling every `step`-th pixel would see it only when it crosses one)."""
    h, w = y.shape[:2]
    return cv2.resize(y, (max(1, w // step), max(1, h // step)), interpolation=cv2.INTER_AREA)


def not_decoded() -> Image:
    """The `convert` of a frame whose picture was never decoded."""
    raise ValueError("this frame was not decoded (the source skipped it for the detector)")


class Frame:
    """index: monotonic over the whole run, reconnects included; t_capture: time.time() when the
    frame was received from the source; media_s: seconds into the media (files) or since the
    source first opened (live)."""

    __slots__ = ("_convert", "_image", "_luma", "index", "media_s", "t_capture")

    def __init__(
        self,
        index: int,
        image: Image | None,
        t_capture: float,
        media_s: float,
        *,
        convert: Callable[[], Image] | None = None,
        luma: Callable[[int], Image] | None = None,
    ) -> None:
        if image is None and convert is None:
            raise ValueError("a frame needs its image or a way to convert it")
        self.index = index
        self.t_capture = t_capture
        self.media_s = media_s
        self._image = image
        self._convert = convert if image is None else None
        self._luma = luma if image is None else None

    @property
    def converted(self) -> bool:
        return self._image is not None

    @property
    def has_pixels(self) -> bool:
        return self._convert is not not_decoded

    @property
    def image(self) -> Image:
        if self._image is None:
            assert self._convert is not None
            self._image = self._convert()
            self._convert = None  # the decoded picture goes with it
        return self._image

    @image.setter
    def image(self, value: Image) -> None:
        self._image, self._convert, self._luma = value, None, None

    def luma(self, step: int) -> Image:
        """Brightness averaged over `step` x `step` cells (the motion gate's input): from the
        decoder's Y plane where the source gives it (no colour conversion), else from BGR."""
        if self._image is None and self._luma is not None:
            return self._luma(step)
        return luma_cells(cv2.cvtColor(self.image, cv2.COLOR_BGR2GRAY), step)

    def release(self) -> None:
        """Drop the pixels (and the decoder's picture) now, keeping the frame's times."""
        self.image = _EMPTY

    def __repr__(self) -> str:
        return f"Frame(index={self.index}, media_s={self.media_s:.3f})"


@dataclass(frozen=True, slots=True)
class Gap:
    """A period with no frames because the stream dropped: what an operator must be told."""

    started_at: float
    ended_at: float
    attempts: int

    @property
    def seconds(self) -> float:
        return self.ended_at - self.started_at


@dataclass(slots=True)
class SourceStats:
    frames_read: int = 0
    reconnects: int = 0
    gaps: list[Gap] = field(default_factory=list)


class FrameSource(Protocol):
    name: str
    live: bool  # True: frames arrive in real time and are dropped, not waited for
    stats: SourceStats

    @property
    def fps(self) -> float | None: ...

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 8.0

    def delays(self) -> Iterator[float]:
        d = self.initial_s
        while True:
            yield d
            d = min(self.max_s, d * self.factor)
