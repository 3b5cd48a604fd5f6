"""A track's evidence: its shots' embeddings, qualities and aligned chips, in memory only,
while it lives.

Privacy boundary: this object is the only place a non-matching person's embeddings and chips
exist (the chips, besides a first shot waiting for the track's second (shots.py), because an
alert sends the chips its probe was fused from, so that the centre can re-embed exactly what
decided: pipeline/alerts.py); the runner calls `clear()` when the track ends, and nothing here
is ever logged or written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from openlfr.pipeline.bestshot import ShotAction
from openlfr.pipeline.decision import probe_vector
from openlfr.vision.contract import FloatArray
from openlfr.vision.quality import FaceQuality
from openlfr.vision.types import Detection, Image


@dataclass(slots=True)
class Deferred:
    """A track's first shot, aligned and gated but not yet embedded (shots.py)."""

    chip: Image
    detection: Detection
    quality: FaceQuality


@dataclass(slots=True)
class TrackEvidence:
    first_frame: int
    last_frame: int
    last_shot_update: int = -(10**9)
    embedded: int = 0  # embeddings this track has cost (replacements included)
    shots: list[FloatArray] = field(default_factory=list)
    qualities: list[float] = field(default_factory=list)
    chips: list[Image] = field(default_factory=list)  # each shot's aligned chip, as `shots`
    alerted: set[str] = field(default_factory=set)
    last_seen: Detection | None = None  # its last box: where the motion gate expects it
    deferred: Deferred | None = None  # its first shot, until a second one is taken

    @property
    def committed(self) -> int:
        """Embeddings spent or promised (a deferred shot will be embedded if it matters)."""
        return self.embedded + (self.deferred is not None)

    @property
    def held_qualities(self) -> list[float]:
        """The qualities the shot policy compares with: held shots and the deferred one."""
        if self.deferred is None:
            return self.qualities
        return [*self.qualities, self.deferred.quality.score]

    @property
    def best_quality(self) -> float:
        return max(self.held_qualities, default=0.0)

    def add(
        self,
        vector: FloatArray,
        quality: float,
        update_no: int,
        action: ShotAction,
        chip: Image | None = None,
    ) -> None:
        if action == "replace" and self.shots:
            worst = int(np.argmin(self.qualities))
            self.shots[worst], self.qualities[worst] = vector, quality
            if chip is not None and worst < len(self.chips):
                self.chips[worst] = chip
        else:
            self.shots.append(vector)
            self.qualities.append(quality)
            if chip is not None:
                self.chips.append(chip)
        self.embedded += 1
        self.last_shot_update = update_no

    def probe(self, fuse: bool) -> FloatArray:
        return probe_vector(self.shots, self.qualities, fuse)

    def probe_chips(self, fuse: bool) -> list[Image]:
        """The chips `probe(fuse)` was made from (empty when any shot came without one)."""
        if len(self.chips) != len(self.shots) or not self.shots:
            return []
        if fuse and len(self.shots) > 1:
            return list(self.chips)
        return [self.chips[int(np.argmax(self.qualities))]]

    def clear(self) -> None:
        self.shots.clear()
        self.qualities.clear()
        self.chips.clear()
        self.last_seen = None
        self.deferred = None  # a first shot that never mattered goes unembedded
