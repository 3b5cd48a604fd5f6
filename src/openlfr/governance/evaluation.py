"""C.11: what an evaluation report must contain before its model approval can be recorded.

The approval section alone (threshold floor, FPIR curve) says nothing about who the model fails:
the report must also carry the per-group section (`openlfr eval demographics`): for each grouping,
at least two groups, each with its false-match and false-non-match rates and its significance
test (Fisher exact, Holm-corrected) at the evaluated threshold.
"""

from __future__ import annotations

from typing import Any

RATES = ("fmr", "fnmr")


def report_problems(report: dict[str, Any]) -> list[str]:
    demo = report.get("demographics")
    if not isinstance(demo, list) or not demo:
        return [
            "the report has no per-group (demographic) section: run `openlfr eval demographics` "
            "and approve the combined report"
        ]
    out: list[str] = []
    for i, ev in enumerate(demo):
        name = " x ".join(ev.get("grouped_by") or []) or f"evaluation {i + 1}"
        groups = [str(g.get("group")) for g in ev.get("groups") or [] if isinstance(g, dict)]
        if len(groups) < 2:
            out.append(f"per-group section {name}: needs at least two groups")
            continue
        row = ev.get("at_default_threshold")
        if not isinstance(row, dict):
            out.append(f"per-group section {name}: no rates at the evaluated threshold")
            continue
        for key in RATES:
            missing = [g for g in groups if g not in (row.get(key) or {})]
            # FNMR needs genuine pairs: a group without any is reported, not required.
            if key == "fmr" and missing:
                out.append(f"per-group section {name}: no {key} for {', '.join(missing)}")
        tests = row.get("fisher_holm_p") or {}
        missing = [g for g in groups if g not in tests]
        if missing:
            out.append(f"per-group section {name}: no significance test for {', '.join(missing)}")
    return out


def per_group_summary(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-group section reduced to what an impact assessment quotes: per grouping, each
    group's false-match and false-non-match rate and Holm-adjusted p at the evaluated threshold."""
    out = []
    for ev in report.get("demographics") or []:
        row = ev.get("at_default_threshold") or {}

        def value(key: str, g: str, row: dict[str, Any] = row) -> float | None:
            v = (row.get(key) or {}).get(g)
            return v.get("value") if isinstance(v, dict) else v

        groups = [str(g.get("group")) for g in ev.get("groups") or [] if isinstance(g, dict)]
        out.append(
            {
                "grouped_by": list(ev.get("grouped_by") or []),
                "dataset": ev.get("dataset", ""),
                "threshold": row.get("threshold", ev.get("default_threshold")),
                "significantly_higher": list(row.get("significantly_higher_groups") or []),
                "groups": [
                    {
                        "group": g,
                        "fmr": value("fmr", g),
                        "fnmr": value("fnmr", g),
                        "p_holm": (row.get("fisher_holm_p") or {}).get(g),
                    }
                    for g in groups
                ],
            }
        )
    return out
