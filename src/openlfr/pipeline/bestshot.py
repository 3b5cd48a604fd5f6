"""Quality gate and shot selection: which faces of a track are worth an embedding.

A face is embedded only if it passes the gate. A track collects up to `max_shots` usable shots
over its life, spread in time (at least `min_gap_updates` detection updates apart, so that they
differ in pose and light as the person walks), each at least `evidence_ratio` of its best shot's
quality; once it holds `max_shots`, a later shot replaces the worst held one only when clearly
better and the budget allows. `max_embeddings` bounds what a track costs, replacements included:
it equals `max_shots` by default, so no replacement is embedded (issue 23: on the walkers clip the
5 replacements of 38 embeddings changed no decision, alert or best score; a replacement swaps one
of four fused shots). The values are the measured choice (README, "Track evidence";
`bench/pipeline.py --fusion-study`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from openlfr.vision.quality import FaceQuality

ShotAction = Literal["add", "replace"]


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
    max_shots: int = 4  # K: shots a track holds for its fused probe
    max_embeddings: int = 4  # embeddings a track may cost over its life (5: one replacement)
    min_shots: int = 2  # shots needed before a track may alert (temporal evidence)
    min_gain: float = 0.05  # quality a replacement must add over the worst held shot
    min_gap_updates: int = 2  # detection updates between two shots of one track
    evidence_ratio: float = 0.8  # a further shot may be this fraction of the best one
    # Hold a track's first shot unembedded until its second is taken (shots.py): a track that
    # never gets a second usable shot could not alert and costs no embedding.
    defer_first: bool = True

    def choose(
        self, quality: float, held: Sequence[float], updates_since_last: int, embedded: int
    ) -> ShotAction | None:
        """What to do with a gated face of a track holding shots of qualities `held`."""
        if embedded >= self.max_embeddings:
            return None
        if not held:
            return "add"
        if updates_since_last < self.min_gap_updates:
            return None
        if len(held) < self.max_shots:
            return "add" if quality >= self.evidence_ratio * max(held) else None
        return "replace" if quality >= min(held) + self.min_gain else None
