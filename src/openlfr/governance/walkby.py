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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum

from openlfr.eval.stats import rate
from openlfr.governance.equality import PerceivedGroup
from openlfr.governance.vocab import parse


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


# -- rates by self-declared group (issue 18 item 2) ----------------------------------------------
# A test subject may, if they choose, declare their sex and ethnic group when enrolled. The
# software never infers either. Rates are shown for a group only when at least
# MIN_GROUP_SUBJECTS people on the test list declared it: a smaller cell would tell colleagues
# one person's declaration and one person's result.

MIN_GROUP_SUBJECTS = 3


class DeclaredSex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    ANOTHER = "another"


def declared_groups(sex: str | None, ethnicity: str | None) -> tuple[str, ...]:
    """The group labels a subject's declaration puts them in ("sex:female", "ethnicity:white");
    nothing for a question left unanswered. Unknown values are refused, not guessed."""
    out = []
    if sex:
        out.append(f"sex:{parse(DeclaredSex, sex, 'declared sex').value}")
    if ethnicity:
        out.append(f"ethnicity:{parse(PerceivedGroup, ethnicity, 'declared ethnic group').value}")
    return tuple(out)


def group_tally(
    walked: Sequence[str], hits: Iterable[WalkbyHit], groups: Mapping[str, Sequence[str]]
) -> dict[str, list[int]]:
    """One run's [walked, alerted] per declared group (subjects who declared nothing add to
    no group)."""
    walked_set = set(walked)
    alerted = {h.subject_id for h in hits if h.subject_id in walked_set}
    out: dict[str, list[int]] = {}
    for sid in sorted(walked_set):
        for g in groups.get(sid, ()):
            cell = out.setdefault(g, [0, 0])
            cell[0] += 1
            cell[1] += sid in alerted
    return out


@dataclass(frozen=True, slots=True)
class GroupRate:
    """Walk-by hit rate of one declared group over every run of a deployment: each walk past a
    camera counts once. `below_rest` when the group's upper 95% bound is under the rate of
    everyone else's walks: a shortfall the walks show, not a guess from a point estimate."""

    group: str
    subjects: int
    walks: int
    alerted: int
    tpir: float
    tpir_lower: float
    tpir_upper: float
    rest_tpir: float | None
    below_rest: bool


def group_rates(
    tallies: Iterable[Mapping[str, Sequence[int]]], totals: tuple[int, int]
) -> list[GroupRate]:
    """Sum runs' tallies; `totals` = (walks, alerted) of all runs, declared or not. A group's
    `subjects` is the most of its people who walked in one run (a run counts each person once),
    so the rule below holds after the test list itself is destroyed; groups under
    MIN_GROUP_SUBJECTS are left out."""
    summed: dict[str, list[int]] = {}
    for t in tallies:
        for g, (w, a) in t.items():
            cell = summed.setdefault(g, [0, 0, 0])
            cell[0] += int(w)
            cell[1] += int(a)
            cell[2] = max(cell[2], int(w))
    out = []
    for g in sorted(summed):
        w, a, people = summed[g]
        if people < MIN_GROUP_SUBJECTS:
            continue
        r = rate(a, w)
        rest_w, rest_a = totals[0] - w, totals[1] - a
        rest = rest_a / rest_w if rest_w > 0 else None
        out.append(
            GroupRate(
                group=g,
                subjects=people,
                walks=w,
                alerted=a,
                tpir=r.value,
                tpir_lower=r.lower,
                tpir_upper=r.upper,
                rest_tpir=rest,
                below_rest=rest is not None and r.upper < rest,
            )
        )
    return out
