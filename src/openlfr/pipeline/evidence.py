"""A track's evidence: its shots' embeddings and qualities, in memory only, while it lives.

Privacy boundary: this object is the only place a non-matching person's embeddings exist, and,
while a first shot waits for the track's second (shots.py), its aligned chip; the runner calls
`clear()` when the track ends, and nothing here is ever logged or written.
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

    def add(self, vector: FloatArray, quality: float, update_no: int, action: ShotAction) -> None:
        if action == "replace" and self.shots:
            worst = int(np.argmin(self.qualities))
            self.shots[worst], self.qualities[worst] = vector, quality
        else:
            self.shots.append(vector)
            self.qualities.append(quality)
        self.embedded += 1
        self.last_shot_update = update_no

    def probe(self, fuse: bool) -> FloatArray:
        return probe_vector(self.shots, self.qualities, fuse)

    def clear(self) -> None:
        self.shots.clear()
        self.qualities.clear()
        self.last_seen = None
        self.deferred = None  # a first shot that never mattered goes unembedded
