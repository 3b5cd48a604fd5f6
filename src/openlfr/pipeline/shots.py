"""Which of a detection frame's tracked faces become shots, and which chips go to the embedder.

Gate cheaply on geometry, align only the survivors, check sharpness on the chip, then ask the
track's shot policy (bestshot.py). One rule saves embeddings without losing evidence a decision
uses: a track may alert only once it holds `min_shots` (>= 2) shots (decision.py), so its first
shot embedded alone decides nothing. With `ShotPolicy.defer_first` the first shot's chip is
held in the track's evidence (memory only, never written) and embedded together with the
track's second shot, in the same batch, at the same detection update its embedding would
otherwise have been decided with; a track that never gets a second usable shot costs no
embedding at all. The decisions are those of embedding it at once: the shot policy sees the
deferred shot's quality as held, and the first decision a track can reach is taken when its
second shot is embedded either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openlfr.pipeline.bestshot import ShotAction
from openlfr.pipeline.evidence import Deferred, TrackEvidence
from openlfr.pipeline.summary import Counters, PipelineConfig
from openlfr.pipeline.tracking import TrackedFace
from openlfr.vision.engine import FaceEngine
from openlfr.vision.quality import FaceQuality, assess
from openlfr.vision.types import Detection, Image

Chosen = tuple[int, Detection, FaceQuality, ShotAction]


@dataclass(slots=True)
class Shots:
    """A detection frame's chips to embed, in order, and what each one is for."""

    chips: list[Image]
    chosen: list[Chosen]


def pick_shots(
    engine: FaceEngine,
    image: Image,
    tracked: Sequence[TrackedFace],
    tracks: dict[int, TrackEvidence],
    busy: set[int],
    update_no: int,
    cfg: PipelineConfig,
    c: Counters,
) -> Shots:
    policy = cfg.shots
    defer = policy.defer_first and policy.min_shots >= 2
    out = Shots([], [])
    for tf in tracked:
        st = tracks[tf.track_id]
        if st.committed >= policy.max_embeddings or tf.track_id in busy:
            continue  # budget spent, or its last shot is still being embedded
        if update_no - st.last_shot_update < policy.min_gap_updates:
            continue  # too soon for another shot: not worth aligning
        q0 = assess(tf.detection)
        if not cfg.gate.geometry_ok(q0):
            c.faces_gated_out += 1
            continue
        chip = engine.align(image, [tf.detection])[0]
        q = assess(tf.detection, chip)
        if not cfg.gate.passes(q):
            c.faces_gated_out += 1
            continue
        action = policy.choose(
            q.score, st.held_qualities, update_no - st.last_shot_update, st.committed
        )
        if action is None:
            continue
        if defer and not st.shots and st.deferred is None:
            st.deferred = Deferred(chip, tf.detection, q)  # embedded with the second shot
            st.last_shot_update = update_no
            continue
        if st.deferred is not None:
            d, st.deferred = st.deferred, None
            out.chips.append(d.chip)
            out.chosen.append((tf.track_id, d.detection, d.quality, "add"))
        out.chips.append(chip)
        out.chosen.append((tf.track_id, tf.detection, q, action))
    return out
