"""Face tracking: ByteTrack from `supervision` behind a small adapter.

The adapter hands back our own Detection objects (landmarks included) with a track id, and says
which tracks have ended, so the runner can drop everything it held about them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openlfr.vision.types import Detection


@dataclass(frozen=True, slots=True)
class TrackedFace:
    track_id: int
    detection: Detection


class FaceTracker:
    """One tracker per camera. `update` is called on detection frames only.

    `lost_after` is the number of detection updates a track may go unseen before it counts as
    ended (ByteTrack keeps it as 'lost' for the same span and can revive it until then).
    """

    def __init__(
        self,
        *,
        updates_per_s: float = 12.5,
        lost_after: int = 12,
        activation_score: float = 0.5,
        match_threshold: float = 0.8,
    ) -> None:
        with warnings.catch_warnings():
            # sv.ByteTrack is deprecated upstream in favour of the `trackers` package, which
            # needs the non-headless OpenCV; pinned to supervision<0.31 until that changes.
            warnings.simplefilter("ignore", FutureWarning)
            import supervision as sv

            self._sv = sv
            self._bt = sv.ByteTrack(
                track_activation_threshold=activation_score,
                lost_track_buffer=lost_after,
                minimum_matching_threshold=match_threshold,
                frame_rate=30.0,  # with lost_track_buffer in updates, 30 keeps the buffer as given
                minimum_consecutive_frames=1,
            )
        self.lost_after = lost_after
        self.updates_per_s = updates_per_s
        self._update_no = 0
        self._last_seen: dict[int, int] = {}
        self.tracks_started = 0

    @property
    def active_ids(self) -> set[int]:
        return set(self._last_seen)

    def update(self, detections: Sequence[Detection]) -> tuple[list[TrackedFace], list[int]]:
        """Assign track ids; returns (tracked faces, ids of tracks that ended now)."""
        self._update_no += 1
        sv = self._sv
        if detections:
            xyxy = np.array([d.box() for d in detections], dtype=np.float32)
            conf = np.array([d.score for d in detections], dtype=np.float32)
            dets = sv.Detections(
                xyxy=xyxy, confidence=conf, data={"idx": np.arange(len(detections))}
            )
        else:
            dets = sv.Detections.empty()
        out = self._bt.update_with_detections(dets)
        tracked: list[TrackedFace] = []
        if len(out):
            for tid, idx in zip(np.asarray(out.tracker_id), out.data["idx"], strict=True):
                t = int(tid)
                if t not in self._last_seen:
                    self.tracks_started += 1
                self._last_seen[t] = self._update_no
                tracked.append(TrackedFace(t, detections[int(idx)]))
        ended = [
            t for t, seen in self._last_seen.items() if self._update_no - seen > self.lost_after
        ]
        for t in ended:
            del self._last_seen[t]
        return tracked, ended

    def finish(self) -> list[int]:
        """End of stream: every live track ends."""
        ended = list(self._last_seen)
        self._last_seen.clear()
        return ended
