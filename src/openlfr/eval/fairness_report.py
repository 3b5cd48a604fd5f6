"""The report's `fairness` section: the floor's criterion, and per group at the deployed
threshold what the data show and what they cannot exclude.

`floor` is the highest effect-size floor of the demographic evaluations (significance tests
are reported in each evaluation and never bind). `groups` gives, at the threshold a deployment
of the base configuration (1 photo, 1 shot, the policy list size) runs, each group's false-match
rate and its ratio to the pooled rate with both ends of the interval: the upper end is the
largest disparity the data cannot rule out, and `thin` marks groups whose evidence is too thin to
exclude the policy factor. Identification rates (TPIR) are given where the dataset lets a group's
listed people be searched for (LFW, several photos per person); UTKFace has one photo per person,
so its groups carry false-match rates only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openlfr.eval.config_runner import ConfigurationPart
from openlfr.eval.demographics import DemographicResult
from openlfr.eval.fairness import group_evidence

READING = (
    "A group 'shown above factor' has a false-match (or miss) rate above the factor times the "
    "pooled rate with 95% confidence; such a group fails the threshold. A 'thin' group's "
    "interval still reaches above the factor: the data neither show nor exclude a disparity "
    "that large, which more evaluation data of that group would settle. Groups are the "
    "datasets' own labels (LFW gender by image, ancestry for 866 people, noisy; UTKFace gender "
    "x race of web photos); the figures describe these photos, not a deployment's passers-by."
)


def dataset_name(path: str) -> str:
    """A dataset's name for readers: its folder, or the folder above a generic `images`."""
    p = Path(path)
    return p.parent.name if p.name == "images" and p.parent.name else p.name


def _base_item(cp: ConfigurationPart | None, size: int) -> dict[str, Any] | None:
    if cp is None:
        return None
    return next(
        (
            it
            for it in cp.items
            if it["enrol_photos"] == 1 and it["probe_shots"] == 1 and it["watchlist_size"] == size
        ),
        None,
    )


def fairness_section(
    demo: Sequence[DemographicResult],
    cp: ConfigurationPart | None,
    *,
    policy_size: int,
    factor: float,
    deployed_threshold: float | None,
) -> dict[str, Any]:
    floors = {
        f"{' x '.join(d.attributes)} ({dataset_name(d.dataset)}, single images)": d.floor_threshold
        for d in demo
    }
    floors |= {
        f"{' x '.join(d.attributes)} ({dataset_name(d.dataset)}, {d.configuration[0]}-photo "
        f"templates, {d.configuration[1]}-shot probes)": d.floor_threshold
        for d in (cp.demographics if cp else [])
    }
    known = [f for f in floors.values() if f is not None]
    base = _base_item(cp, policy_size)
    t = deployed_threshold if deployed_threshold is not None else (base or {}).get("threshold")
    found: dict[str, dict[str, dict[str, Any]]] = {}
    if base is not None:
        for attrs, rows in base.get("by_group", {}).items():
            found[attrs] = {r["group"]: r for r in rows}
    groups: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    if t is not None:
        for d in demo:
            attrs = " x ".join(d.attributes)
            ds = dataset_name(d.dataset)
            row = d.row_at(t)
            for g, ev in group_evidence(row.fmr, factor).items():
                tp = found.get(attrs, {}).get(g) if d.dataset == cp_dataset(cp) else None
                groups.append(_entry(ds, attrs, g, ev.to_dict(), tp))
                if tp is not None:
                    seen.add((attrs, g))
        # Groups with identification rates but no false-match evaluation of their own.
        for attrs, rows in found.items():
            for g, tp in rows.items():
                if (attrs, g) not in seen:
                    groups.append(_entry(dataset_name(cp_dataset(cp)), attrs, g, None, tp))
    return {
        "criterion": "effect_size",
        "factor": factor,
        "floor": max(known) if len(known) == len(floors) and known else None,
        "floors": floors,
        "significance_binding": False,
        "threshold": t,
        "configuration": {"enrol_photos": 1, "probe_shots": 1, "watchlist_size": policy_size},
        "groups": groups,
        "identification_by_configuration": [
            {
                k: it[k]
                for k in ("enrol_photos", "probe_shots", "watchlist_size", "threshold", "by_group")
            }
            for it in (cp.items if cp else [])
            if it.get("by_group")
        ],
        "reading": READING,
    }


def cp_dataset(cp: ConfigurationPart | None) -> str:
    return cp.dataset if cp is not None and cp.dataset else ""


def _entry(
    dataset: str,
    attrs: str,
    group: str,
    fmr: dict[str, Any] | None,
    tp: dict[str, Any] | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "group": f"{dataset}: {attrs}={group}",
        "dataset": dataset,
        "attributes": attrs,
        "fmr": None,
        "fmr_ratio": None,
        "fmr_ratio_upper": None,
        "tpir": None,
        "tpir_ci": None,
        "thin": None,
    }
    if fmr is not None:
        out.update({k: v for k, v in fmr.items() if k != "group"})
    if tp is not None:
        out.update(
            {
                "tpir": tp["tpir"],
                "tpir_ci": tp["tpir_ci"],
                "tpir_people": tp["people"],
                "fnir_ratio": tp["fnir_ratio"],
                "fnir_ratio_ci": tp["fnir_ratio_ci"],
                "fnir_shown_above_factor": tp["fnir_shown_above_factor"],
                "fnir_thin": tp["thin"],
            }
        )
        if fmr is None:
            out["thin"] = tp["thin"]
    return out
