"""Equality monitoring (requirement C.12): do false alerts fall more on one group?

The only source of a group is an operator's optional, after-review record of how they perceived
the person (the software never infers one: there are no demographic classifiers in OpenLFR).
Records are kept apart from the alerts and hold an alert id, the review decision and the group.

The question asked of a year's records: is a group's share of the false alerts different from
its share of the confirmed alerts? If the system were equally accurate for everyone the two
shares would agree; each group gets Fisher's exact test of its 2x2 table (this group / others x
false / confirmed), Holm-corrected across groups, and exact intervals on both shares.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from scipy import stats

from openlfr.dicts import pick
from openlfr.eval.stats import holm, rate
from openlfr.governance.vocab import parse

ALPHA = 0.05


class PerceivedGroup(StrEnum):
    """The ONS 2021 high-level ethnic groups (as police forces report stop and search)."""

    ASIAN = "asian_or_asian_british"
    BLACK = "black_or_black_british"
    MIXED = "mixed_or_multiple"
    WHITE = "white"
    OTHER = "other_ethnic_group"


def parse_group(value: str) -> PerceivedGroup:
    return parse(PerceivedGroup, value, "perceived group")


def record_problems(alert_status: str, *, is_test: bool, already_recorded: bool) -> list[str]:
    """A perceived group may be recorded only after review, once, and never for test alerts."""
    out = []
    if alert_status not in ("confirmed", "rejected"):
        out.append(f"the alert is {alert_status}: record a perceived group only after review")
    if is_test:
        out.append("test walk-by alerts are not part of equality monitoring")
    if already_recorded:
        out.append("a perceived group is already recorded for this alert")
    return out


@dataclass(frozen=True, slots=True)
class GroupRecord:
    group: str
    false_alert: bool  # rejected on review; confirmed otherwise
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class GroupRow:
    group: str
    false_alerts: int
    confirmed: int
    false_share: float
    false_share_ci: tuple[float, float]
    confirmed_share: float
    confirmed_share_ci: tuple[float, float]
    p_value: float
    p_adjusted: float
    flagged: bool
    outcomes: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        return {
            **pick(self, "group", "false_alerts"),
            "confirmed_alerts": self.confirmed,
            **_share("false_share", self.false_share, self.false_share_ci),
            **_share("confirmed_share", self.confirmed_share, self.confirmed_share_ci),
            **pick(self, "p_value", "p_adjusted", "flagged", "outcomes"),
        }


def _share(name: str, value: float, ci: tuple[float, float]) -> dict[str, float]:
    """A share with its 95% interval as `name`, `name_lower`, `name_upper`."""
    return {name: value, f"{name}_lower": ci[0], f"{name}_upper": ci[1]}


def summarise(records: Iterable[GroupRecord], alpha: float = ALPHA) -> list[GroupRow]:
    """One row per group seen, flagged where its false-alert share differs significantly."""
    recs = list(records)
    total_f = sum(r.false_alert for r in recs)
    total_c = len(recs) - total_f
    groups = sorted({r.group for r in recs})
    raw: list[tuple[str, int, int, float, dict[str, int]]] = []
    for g in groups:
        mine = [r for r in recs if r.group == g]
        f = sum(r.false_alert for r in mine)
        c = len(mine) - f
        outcomes: dict[str, int] = {}
        for r in mine:
            if r.outcome:
                outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        if total_f and total_c:
            table = [[f, total_f - f], [c, total_c - c]]
            p = float(stats.fisher_exact(table).pvalue)
        else:
            p = 1.0  # nothing to compare against yet
        raw.append((g, f, c, p, outcomes))
    adjusted = holm([p for *_, p, _ in raw]) if raw else []
    rows = []
    for (g, f, c, p, outcomes), pa in zip(raw, adjusted, strict=True):
        fr, cr = rate(f, total_f), rate(c, total_c)
        rows.append(
            GroupRow(
                group=g,
                false_alerts=f,
                confirmed=c,
                false_share=f / total_f if total_f else 0.0,
                false_share_ci=(fr.lower, fr.upper),
                confirmed_share=c / total_c if total_c else 0.0,
                confirmed_share_ci=(cr.lower, cr.upper),
                p_value=p,
                p_adjusted=pa,
                flagged=pa < alpha,
                outcomes=outcomes,
            )
        )
    return rows


# Published counts below this are withheld (ONS-style small-number suppression): with a handful
# of alerts a deployment's group figures would point at the people stopped.
SUPPRESS_BELOW = 10


def suppress_small(row: dict[str, object]) -> dict[str, object]:
    """A published row: when either count is under SUPPRESS_BELOW, every figure that could give
    it back (counts, shares, intervals, tests) is withheld; small outcome counts likewise."""
    counts = [row["false_alerts"], row["confirmed_alerts"]]
    out = dict(row)
    if any(isinstance(c, int) and c < SUPPRESS_BELOW for c in counts):
        out = {k: (v if k == "group" else None) for k, v in row.items()}
        out["suppressed"] = True
        return out
    outcomes = row.get("outcomes")
    if isinstance(outcomes, dict):
        out["outcomes"] = {
            k: (n if isinstance(n, int) and n >= SUPPRESS_BELOW else None)
            for k, n in outcomes.items()
        }
    out["suppressed"] = False
    return out
