"""Test walk-by ("blue list", item 12.1): does recognition work here, today, on each camera?

Consenting staff are enrolled on a test list of their own deployment (kept apart from the
watchlist, never searched with it, destroyed with the deployment). After going live they walk
past each camera; the result per camera is how many walked, how many alerted, the scores and
latencies, and the measured TPIR on the day with its exact interval. A camera whose TPIR falls
below the level set at authorisation flags the deployment until the authorising officer
acknowledges. Test alerts are separate records and never counted as operational alerts.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date

from openlfr.eval.stats import rate


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    subject_ref: str
    consent_ref: str  # the signed consent form's reference
    consented_on: date | None


def consent_problems(c: ConsentRecord, *, today: date) -> list[str]:
    out = []
    if not c.subject_ref.strip():
        out.append("missing test subject reference")
    if not c.consent_ref.strip():
        out.append("a test subject needs a recorded consent (consent form reference)")
    if c.consented_on is None:
        out.append("missing consent date")
    elif c.consented_on > today:
        out.append("consent date is in the future")
    return out


def min_tpir_problems(value: float | None) -> list[str]:
    if value is None:
        return []
    if not 0.0 < value <= 1.0:
        return [f"minimum walk-by TPIR {value:g} is not in (0, 1]"]
    return []


@dataclass(frozen=True, slots=True)
class WalkbyHit:
    """One test alert: which test subject, on which camera, its score and latency."""

    subject_id: str
    camera_id: str
    score: float
    latency_ms: float | None


@dataclass(frozen=True, slots=True)
class CameraResult:
    camera_id: str
    walked: int
    alerted: int
    tpir: float
    tpir_lower: float
    tpir_upper: float
    scores: tuple[float, ...]
    median_latency_ms: float | None
    below_level: bool

    def to_dict(self) -> dict[str, object]:
        # Every field, in field order; the scores as a JSON list.
        return {**asdict(self), "scores": list(self.scores)}


def camera_result(
    camera_id: str,
    walked: Sequence[str],
    hits: Iterable[WalkbyHit],
    *,
    min_tpir: float | None,
) -> CameraResult:
    """TPIR on the day = distinct walked subjects that alerted / subjects that walked."""
    walked_set = set(walked)
    mine = [h for h in hits if h.camera_id == camera_id and h.subject_id in walked_set]
    best: dict[str, float] = {}
    for h in mine:
        best[h.subject_id] = max(best.get(h.subject_id, -1.0), h.score)
    r = rate(len(best), len(walked_set))
    lat = [h.latency_ms for h in mine if h.latency_ms is not None]
    tpir = r.value if walked_set else 0.0
    return CameraResult(
        camera_id=camera_id,
        walked=len(walked_set),
        alerted=len(best),
        tpir=tpir,
        tpir_lower=r.lower,
        tpir_upper=r.upper,
        scores=tuple(sorted(best.values(), reverse=True)),
        median_latency_ms=statistics.median(lat) if lat else None,
        below_level=min_tpir is not None and tpir < min_tpir,
    )


def flag_problems(flagged: bool, acknowledged: bool) -> list[str]:
    """A flagged walk-by stops operational use until the authorising officer acknowledges."""
    if flagged and not acknowledged:
        return [
            "the test walk-by measured a TPIR below the authorised level: the authorising "
            "officer must acknowledge before the deployment continues"
        ]
    return []
