"""Spend detection where faces can be: skip a due detection when nothing new can be in it.

Detection (YuNet at 960 px, ~16 ms) is the camera thread's largest cost, paid every
`detect_stride`-th frame whatever the scene does. At each due frame the gate compares the
decoder's luma, averaged over `step` x `step` cells (no colour conversion: the Y plane is read
as decoded, ~0.3 ms at 1080p), with the last due frame's, and skips the detection when

- nothing moves anywhere (an empty corridor at night): no face can have arrived; or
- every live track is settled (its shot budget spent, nothing more to learn from it) and
  nothing moves away from the tracked people (their face boxes widened to take in head and
  body): no new face is entering, and the tracks' positions can wait a due frame (at most
  `settled_skip` in a row: longer, and a walking face moves too far for the tracker to follow);

but never for longer than `max_idle_s`, so a face that arrives without moving much (or a
light change the threshold missed) is found within that time, and, optionally, only moves
inside the configured `regions` count. Everything is a function of the frames' pixels, so a
file gives the same detections (and the same alerts) on every run.

Privacy: only a subsampled luma picture of the previous due frame is kept, in memory, and
replaced at the next; it is never written or logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from openlfr.vision.types import Detection, Image


@dataclass(frozen=True, slots=True)
class MotionGate:
    enabled: bool = True
    step: int = 8  # luma cells of 8 x 8 pixels: 1080p -> 240 x 135
    pixel_delta: int = 8  # a change of a cell's mean luma (0-255) that counts as movement
    min_moving_cells: int = 4  # fewer moving cells than this is noise (sensor, compression)
    max_idle_s: float = 0.5  # detect at least this often whatever the gate says
    settled_skip: int = 1  # due frames in a row skipped because every track is settled
    # Regions of the view (x1, y1, x2, y2 as fractions of the frame) where faces can be; empty:
    # the whole view. Motion elsewhere (a road, a screen) never triggers a detection.
    regions: tuple[tuple[float, float, float, float], ...] = ()


class DetectionGate:
    """One camera's gate. `due(...)` at each frame the detection stride makes due."""

    def __init__(self, cfg: MotionGate) -> None:
        self.cfg = cfg
        self._prev: Image | None = None
        self._last_detect_s = float("-inf")
        self._region_mask: Image | None = None
        self.skipped_still = 0
        self.skipped_settled = 0
        self._settled_run = 0

    def _regions(self, shape: tuple[int, ...]) -> Image | None:
        if not self.cfg.regions:
            return None
        if self._region_mask is None or self._region_mask.shape != shape[:2]:
            h, w = shape[:2]
            m = np.zeros((h, w), np.uint8)
            for x1, y1, x2, y2 in self.cfg.regions:
                m[int(y1 * h) : int(np.ceil(y2 * h)), int(x1 * w) : int(np.ceil(x2 * w))] = 1
            self._region_mask = m
        return self._region_mask

    def due(
        self,
        luma: Image,
        media_s: float,
        tracked: Sequence[Detection],
        all_settled: bool,
    ) -> bool:
        """Whether to detect on this due frame. `luma`: its subsampled Y plane; `tracked`: the
        live tracks' last boxes (full-resolution pixels); `all_settled`: no track wants a shot."""
        cfg = self.cfg
        prev, self._prev = self._prev, luma
        if (
            not cfg.enabled
            or prev is None
            or prev.shape != luma.shape
            or media_s - self._last_detect_s >= cfg.max_idle_s
        ):
            return self._detect(media_s)
        moving = (cv2.absdiff(luma, prev) > cfg.pixel_delta).astype(np.uint8)
        if (region := self._regions(moving.shape)) is not None:
            moving &= region
        if int(moving.sum()) < cfg.min_moving_cells:
            self.skipped_still += 1
            return False
        if not all_settled or not tracked or self._settled_run >= cfg.settled_skip:
            return self._detect(media_s)
        s = cfg.step
        h, w = moving.shape
        for d in tracked:
            bw, bh = d.x2 - d.x1, d.y2 - d.y1
            x1, x2 = int((d.x1 - bw) / s), int(np.ceil((d.x2 + bw) / s))
            y1, y2 = int((d.y1 - 0.5 * bh) / s), int(np.ceil((d.y2 + 6 * bh) / s))
            moving[max(0, y1) : max(0, min(h, y2)), max(0, x1) : max(0, min(w, x2))] = 0
        if int(moving.sum()) >= cfg.min_moving_cells:
            return self._detect(media_s)  # something moves away from everyone tracked
        self.skipped_settled += 1
        self._settled_run += 1
        return False

    def _detect(self, media_s: float) -> bool:
        self._last_detect_s, self._settled_run = media_s, 0
        return True
