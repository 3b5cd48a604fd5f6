"""Per-group FMR/FNMR, the group test and the no-difference floor, on synthetic embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openlfr.errors import DatasetError
from openlfr.eval.dataset import Dataset, ImageRecord, Labels
from openlfr.eval.demographics import evaluate_demographics
from openlfr.vision.contract import l2_normalise


def _groups(seed: int = 0) -> tuple[Dataset, np.ndarray, np.ndarray, Labels]:
    """Group B's faces share a common component, so its impostor scores run high."""
    rng = np.random.default_rng(seed)
    dim = 64
    shared = rng.standard_normal(dim)
    records, rows, labels = [], [], {}
    for g, pull in (("A", 0.0), ("B", 1.0), ("C", 0.0)):
        for i in range(150):
            ident = f"{g}{i:03d}"
            centre = rng.standard_normal(dim) / np.sqrt(dim) + pull * shared / np.sqrt(dim)
            for j in range(2):
                name = f"{ident}_{j}.jpg"
                records.append(ImageRecord(Path("/x") / ident / name, ident))
                rows.append(centre + 0.4 * rng.standard_normal(dim) / np.sqrt(dim))
                labels[name] = {"gender": "female" if g != "C" else "male", "race": g, "age": "30"}
    labels[records[0].path.name]["age"] = "5"  # a child: left out by the adult filter
    ds = Dataset.from_records(Path("/x"), records)
    return (
        ds,
        l2_normalise(np.array(rows, np.float32)),
        np.ones(len(records), bool),
        Labels(labels, "t"),
    )


def test_outlier_group_found_and_floor_above_its_scores() -> None:
    ds, vec, ok, lab = _groups()
    res = evaluate_demographics(ds, vec, ok, lab, ["race"], default_threshold=0.5, min_age=18)
    assert [g.group for g in res.groups] == ["A", "B", "C"]
    assert res.left_out["outside_age_range"] == 1
    low = res.row_at(0.2)
    assert low.worst == "B" and "B" in low.test.significant
    assert low.worst_to_best is not None and low.worst_to_best.lower > 1
    assert res.floor_threshold is not None and res.floor_threshold > 0.2
    for r in res.rows:
        if r.threshold >= res.floor_threshold:
            assert not r.above_factor  # the effect size binds; significance is only reported
    d = res.to_dict()
    assert d["floor_threshold"] == res.floor_threshold and d["groups"][1]["genuine_pairs"] == 150


def test_exclusion_and_missing_labels() -> None:
    ds, vec, ok, lab = _groups()
    res = evaluate_demographics(
        ds, vec, ok, lab, ["gender", "race"], default_threshold=0.5, exclude=("B",)
    )
    assert {g.group for g in res.groups} == {"female/A", "male/C"}
    with pytest.raises(DatasetError, match="no image has usable labels"):
        evaluate_demographics(ds, vec, ok, lab, ["hair"], default_threshold=0.5)


def test_groups_of_too_few_people_are_left_out_and_counted() -> None:
    ds, vec, ok, lab = _groups()
    # Relabel three people of group A as "D": too few for any rate to mean something.
    for ident in ("A000", "A001", "A002"):
        for j in range(2):
            lab.by_image[f"{ident}_{j}.jpg"]["race"] = "D"
    res = evaluate_demographics(ds, vec, ok, lab, ["race"], default_threshold=0.5)
    assert [g.group for g in res.groups] == ["A", "B", "C"]
    assert res.left_out["group_too_small"] == 6
    assert res.filters["min_group_identities"] == 5
    kept = evaluate_demographics(
        ds, vec, ok, lab, ["race"], default_threshold=0.5, min_identities=3
    )
    assert "D" in [g.group for g in kept.groups]
