"""Quality gate and best-shot selection: which faces of a track are worth an embedding.

A face is embedded only if it passes the gate, and a track is embedded at most
`max_embeddings` times: its first usable shot, then only shots clearly better than the best so
far (or, until `min_shots` are in, about as good and a few updates later, for temporal evidence).
"""

from __future__ import annotations

from dataclasses import dataclass

from openlfr.vision.quality import FaceQuality


@dataclass(frozen=True, slots=True)
class QualityGate:
    min_width_px: float = 32.0  # in full-resolution pixels
    min_sharpness: float = 15.0  # Laplacian variance on the aligned chip
    max_abs_yaw: float = 0.6
    max_abs_roll_deg: float = 35.0
    min_det_score: float = 0.7

    def geometry_ok(self, q: FaceQuality) -> bool:
        """The checks that need no chip, so failing faces are never aligned."""
        return (
            q.width_px >= self.min_width_px
            and abs(q.yaw) <= self.max_abs_yaw
            and abs(q.roll_deg) <= self.max_abs_roll_deg
            and q.det_score >= self.min_det_score
        )

    def passes(self, q: FaceQuality) -> bool:
        return self.geometry_ok(q) and q.sharpness >= self.min_sharpness


@dataclass(frozen=True, slots=True)
class ShotPolicy:
    max_embeddings: int = 3
    min_shots: int = 2  # shots needed before a track may alert (temporal evidence)
    min_gain: float = 0.05  # quality a later shot must add to be embedded
    min_gap_updates: int = 2  # detection updates between two shots of one track
    evidence_ratio: float = 0.9  # an evidence shot may be this fraction of the best one

    def want(
        self, quality: float, n_shots: int, best_quality: float, updates_since_last: int
    ) -> bool:
        if n_shots == 0:
            return True
        if n_shots >= self.max_embeddings or updates_since_last < self.min_gap_updates:
            return False
        if quality >= best_quality + self.min_gain:
            return True
        return n_shots < self.min_shots and quality >= self.evidence_ratio * best_quality
