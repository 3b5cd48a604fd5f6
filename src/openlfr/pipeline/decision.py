"""Per-track decisions: pure functions over a track's embedded shots and the watchlist."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from openlfr.matching.watchlist import Watchlist
from openlfr.vision.contract import FloatArray, l2_normalise


@dataclass(frozen=True, slots=True)
class TrackDecision:
    track_id: int
    subject_id: str
    score: float  # the raw cosine score the threshold was applied to
    n_shots: int


def probe_vector(shots: Sequence[FloatArray], qualities: Sequence[float], fuse: bool) -> FloatArray:
    """The track's probe: mean of its shots re-normalised (fuse) or its best-quality shot."""
    if not shots:
        raise ValueError("a probe needs at least one shot")
    if fuse and len(shots) > 1:
        return l2_normalise(np.mean(np.stack(shots), axis=0).astype(np.float32))
    return shots[int(np.argmax(qualities))]


def decide_tracks(
    probes: dict[int, FloatArray],
    n_shots: dict[int, int],
    watchlist: Watchlist,
    threshold: float,
    min_shots: int,
    on_score: Callable[[int, float], None] | None = None,
) -> tuple[list[TrackDecision], int]:
    """Tracks whose probe reaches `threshold`, with at most one track per subject.

    All probes are of faces seen in the same frame, so two of them can never be the same
    person: when several reach one subject, only the highest-scoring track keeps it.
    Returns the decisions and how many tracks lost a subject to a better face in this frame.
    `on_score(track_id, top1_score)` sees every probe's best score (near-miss statistics).
    """
    if not probes or len(watchlist) == 0:
        return [], 0
    ids = list(probes)
    cands = watchlist.search(np.stack([probes[t] for t in ids]), top_k=1)
    best: dict[str, TrackDecision] = {}
    reached = 0
    for tid, c in zip(ids, cands, strict=True):
        if c and on_score is not None:
            on_score(tid, c[0].score)
        if not c or c[0].score < threshold or n_shots[tid] < min_shots:
            continue
        reached += 1
        d = TrackDecision(tid, c[0].subject_id, c[0].score, n_shots[tid])
        if d.subject_id not in best or d.score > best[d.subject_id].score:
            best[d.subject_id] = d
    return sorted(best.values(), key=lambda d: d.track_id), reached - len(best)
