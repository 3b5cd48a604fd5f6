"""What the public sees of assurance (item 12.5): per deployment, the test walk-by results and
expected against measured false alerts; per year, the summary with equality monitoring.

Counts, rates and intervals only: no staff reference, consent form, score of a named person or
perceived group of an identifiable alert leaves through here.
"""

from __future__ import annotations

from typing import Any

from openlfr.eval.stats import rate
from openlfr.governance import transparency


def public_assurance(record: dict[str, Any]) -> dict[str, Any]:
    """The publishable part of `Assurance.record`."""
    runs = [
        {
            k: r.get(k)
            for k in (
                "at",
                "camera_id",
                "walked",
                "alerted",
                "tpir",
                "tpir_lower",
                "tpir_upper",
                "below_level",
            )
        }
        for r in record["walkby_runs"]
    ]
    return {
        "controller_profile": record["controller_profile"],
        "walkby_min_tpir": record["min_walkby_tpir"],
        "walkby_runs": runs,
        "walkby_result": walkby_summary(runs),
        "walkby_flag_acknowledged": record["walkby_acknowledged"]
        if record["walkby_flagged"]
        else None,
        "expected_false_alerts_per_1000_faces": record["expected_false_alerts_per_1000_faces"],
        "measured_false_alerts_per_1000_faces": record["measured_false_alerts_per_1000_faces"],
        "monitor_pauses": sum(1 for e in record["monitor_events"] if e["kind"] == "pause"),
        "monitor_events": [
            {k: e.get(k) for k in ("at", "kind", "reason", "threshold_before", "threshold_after")}
            for e in record["monitor_events"]
        ],
    }


def walkby_summary(runs: list[dict[str, Any]]) -> str:
    """One line for the public table, e.g. 'cam-1: 2/2 (TPIR 1.00, 95% CI 0.16-1.00)'."""
    if not runs:
        return "no test walk-by"
    return "; ".join(
        f"{r['camera_id']}: {r['alerted']}/{r['walked']} (TPIR {r['tpir']:.2f}, 95% CI "
        f"{r['tpir_lower']:.2f}-{r['tpir_upper']:.2f}){' below level' if r['below_level'] else ''}"
        for r in runs
    )


def annual(svc: Any, year: int) -> dict[str, Any]:
    """The annual summary (F.19) with the year's walk-bys, monitor pauses and C.12 equality."""
    base = svc.transparency.annual_summary(year)
    records = base.pop("deployment_records", [])
    runs = pauses = below = 0
    for r in records:
        a = public_assurance(svc.assurance.record(r["deployment_id"]))
        runs += len(a["walkby_runs"])
        below += sum(1 for w in a["walkby_runs"] if w["below_level"])
        pauses += a["monitor_pauses"]
    # Intervals on the year's rates (exact, 95%): a count of 3 in 2 million is not "zero".
    fa = rate(base["false_alerts"], base["faces_processed"])
    base["false_alerts_per_1000_faces_lower"] = 1000 * fa.lower if fa.n else None
    base["false_alerts_per_1000_faces_upper"] = 1000 * fa.upper if fa.n else None
    base["walkby_runs"] = runs
    base["walkby_runs_below_level"] = below
    base["monitor_pauses"] = pauses
    # Only ended deployments, and no count under 10 (special-category data: issue 22).
    base["equality"] = svc.assurance.equality(year, published=True)
    base["equality_flagged_groups"] = [g["group"] for g in base["equality"] if g["flagged"]]
    return base


def deployments_csv(published: list[dict[str, Any]]) -> str:
    rows = []
    for p in published:
        row: dict[str, Any] = {**p["notice"], "state": p["state"]}
        row.pop("signage", None)
        if p.get("record"):
            rec = dict(p["record"])
            a = rec.pop("assurance", None) or {}
            row.update(rec)
            row.update(
                {
                    f"assurance.{k}": v
                    for k, v in a.items()
                    if k not in ("walkby_runs", "monitor_events")
                }
            )
        rows.append(row)
    return transparency.to_csv(rows)


def annual_csv(summary: dict[str, Any]) -> str:
    """Two sections in one file would confuse spreadsheets: the summary row, then per group."""
    head = {k: v for k, v in summary.items() if k not in ("equality",)}
    head["equality_flagged_groups"] = ";".join(summary["equality_flagged_groups"])
    out = transparency.to_csv([head])
    if summary["equality"]:
        groups = [
            {k: v for k, v in g.items() if k != "outcomes"}
            | {f"outcome.{o}": n for o, n in (g["outcomes"] or {}).items()}
            for g in summary["equality"]
        ]
        out += "\n" + transparency.to_csv(groups)
    return out
