"""Accuracy and bias evaluation with the real engine on small subsets of LFW and UTKFace.

Subsets keep the suite within its time budget (about 1,600 images embedded, once, via the
session cache); the full-size run and its numbers are in README.md, "Evaluation".
"""

from __future__ import annotations

import base64
import io
import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openlfr.errors import DatasetError
from openlfr.eval.approval import REPORT_KIND, ModelApproval
from openlfr.eval.demographics import DemographicResult
from openlfr.eval.report import IdentificationPart, build_report
from openlfr.eval.report_html import render_html, write_report
from openlfr.eval.runner import EvalContext, run_demographics, run_identification

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def ident(eval_ctx: EvalContext, lfw_dir: Path) -> IdentificationPart:
    return run_identification(
        eval_ctx,
        lfw_dir / "images",
        [20, 50, 100],
        # A subset this small can only certify a loose policy (about 72 zero-alert searches
        # per half for 5e-2); the full run certifies 1e-3 (README).
        policy_fpir=5e-2,
        policy_size=50,
        max_identities=200,
        boot=50,
        seed=1,
    )


@pytest.fixture(scope="module")
def utk(eval_ctx: EvalContext, utkface_dir: Path) -> list[DemographicResult]:
    return run_demographics(eval_ctx, utkface_dir / "images", [], max_identities=1100, seed=1)


def test_identification_subset(ident: IdentificationPart) -> None:
    assert [r.size for r in ident.results] == [20, 50, 100]
    for r in ident.results:
        assert r.n_mated > 0 and r.n_nonmated > 0
        assert r.rank1_rate.value > 0.9  # SFace on LFW: mates are almost always ranked first
        fp = [f.value for _, f, _ in r.fpir_table]
        fn = [n.value for _, _, n in r.fpir_table]
        # Raising the threshold never adds false alerts and never removes misses.
        assert all(a >= b for a, b in pairwise(fp))
        assert all(a <= b for a, b in pairwise(fn))
        for tp in r.tpir_at_fpir:
            if tp.achievable:
                assert tp.fpir.value <= tp.fpir_target
    assert ident.dataset_summary["identities"] == 200
    cal = ident.results[1].calibration
    assert cal.threshold is not None and cal.calib is not None and cal.heldout is not None
    assert cal.calib.upper <= 5e-2 and cal.heldout.n > 0
    assert sum(ident.failures.values()) >= 0


def test_utkface_groups_are_adults_by_gender_and_race(utk: list[DemographicResult]) -> None:
    (res,) = utk
    assert res.attributes == ("gender", "race")
    assert res.left_out["outside_age_range"] > 0  # children were present and left out
    assert {g.group.split("/")[1] for g in res.groups} <= {"White", "Black", "Asian", "Indian"}
    row = res.row_at(res.default_threshold)
    assert len(row.fmr) == len(res.groups) >= 6
    for r in row.fmr.values():
        assert 0 <= r.lower <= r.value <= r.upper <= 1


def test_lfw_fnmr_per_gender(eval_ctx: EvalContext, lfw_dir: Path) -> None:
    res = run_demographics(
        eval_ctx,
        lfw_dir / "images",
        [lfw_dir / "labels"],
        by=[("gender",)],
        max_identities=200,
        seed=1,
    )
    row = res[0].row_at(0.5)
    assert set(row.fnmr) == {"female", "male"}
    assert all(g.genuine.size > 0 for g in res[0].groups)


def test_labels_that_do_not_match_are_refused(
    eval_ctx: EvalContext, lfw_dir: Path, utkface_dir: Path
) -> None:
    with pytest.raises(DatasetError, match="match none"):
        run_demographics(eval_ctx, utkface_dir / "images", [lfw_dir / "labels"], max_identities=20)


def test_full_report_renders_and_governance_can_load_it(
    eval_ctx: EvalContext, ident: IdentificationPart, utk: list[DemographicResult], tmp_path: Path
) -> None:
    rep = build_report(
        contract=eval_ctx.engine.contract.to_dict(),
        engine_name="sface",
        engine_default=0.5,
        ident=ident,
        demo=utk,
        provenance={"lfw": "subset of 200 identities", "utkface": "subset"},
    )
    jpath, hpath = write_report(tmp_path / "model-eval", rep, ident, utk)
    raw = json.loads(jpath.read_text())
    if raw["kind"] == REPORT_KIND:
        appr = ModelApproval.from_report_json(jpath.read_text())
        assert appr.contract_id == eval_ctx.engine.contract.id
        assert appr.validated_min_threshold >= (ident.calibrated_threshold() or 0)
    else:
        assert raw["approval_withheld"]
    html = render_html(rep, ident, utk)
    pngs = [c.split('"', 1)[0] for c in html.split("data:image/png;base64,")[1:]]
    assert len(pngs) == 4
    for b64 in pngs:
        img = Image.open(io.BytesIO(base64.b64decode(b64)))
        assert img.size[0] > 300 and np.asarray(img).std() > 5  # not blank
    assert hpath.stat().st_size > 10_000


def test_configurations_on_real_lfw_subset(eval_ctx: EvalContext, lfw_dir: Path) -> None:
    """K enrolment photos and M fused shots with the real engine, on the images the `ident`
    fixture already embedded (same subset and seed): more photos and more shots find more of
    the listed people at the same threshold, and non-mated fused probes come from people off
    the list only."""
    from openlfr.eval.runner import ConfigOptions

    part = run_identification(
        eval_ctx,
        lfw_dir / "images",
        [20, 50],
        policy_fpir=5e-2,
        policy_size=50,
        max_identities=200,
        boot=50,
        seed=1,
        configurations=ConfigOptions(
            enrol_photos=(1, 2), probe_shots=(1, 2), labels=(lfw_dir / "labels",), znorm=False
        ),
    ).configurations
    assert part is not None
    by = {(c["enrol_photos"], c["probe_shots"], c["watchlist_size"]): c for c in part.items}
    assert set(by) == {(k, m, n) for k in (1, 2) for m in (1, 2) for n in (20, 50)}
    at = {k: by[k]["at_default_threshold"]["tpir"] for k in by}
    assert at[(2, 2, 50)] >= at[(1, 1, 50)] and at[(2, 1, 50)] >= at[(1, 1, 50)] - 0.02
    for c in part.items:
        assert c["mated_people"] == by[(1, 1, 50)]["mated_people"] or c["watchlist_size"] == 20
        if c["probe_shots"] == 2:
            assert (
                c["nonmated_searches"]
                < by[(c["enrol_photos"], 1, c["watchlist_size"])]["nonmated_searches"]
            )
    genders = {d.configuration: d for d in part.demographics}
    assert set(genders) == {(1, 1), (1, 2), (2, 1), (2, 2)}
    assert all({g.group for g in d.groups} == {"female", "male"} for d in genders.values())
    curve = [p for p in part.tpir_curve if (p["enrol_photos"], p["probe_shots"]) == (2, 2)]
    assert curve and all(0 <= p["tpir_lower"] <= p["tpir"] <= 1 for p in curve)


def test_packaged_identity_review_matches_the_shared_datasets(
    lfw_dir: Path, utkface_dir: Path
) -> None:
    # Every merge and exclusion of the review names a folder or file these copies hold, so a
    # report run on them applies the whole review (a renamed copy would silently skip rows).
    from openlfr.eval.dataset import scan_any, scan_flat
    from openlfr.eval.review import apply_review, load_review

    rev = load_review()
    lfw, s1 = apply_review(scan_any(lfw_dir / "images"), rev, "lfw")
    utk, s2 = apply_review(scan_flat(utkface_dir / "images"), rev, "utkface", flat=True)
    assert s1["rows_not_in_this_copy"] == 0 and s2["rows_not_in_this_copy"] == 0
    assert s1["identities_merged"] == len(rev.of("lfw", "merge"))
    assert s1["images_left_out"] == len(rev.of("lfw", "exclude_image"))
    assert s2["images_left_out"] == len(rev.of("utkface", "exclude_image"))
    assert "Sepp_Blatter" not in lfw.identities and "Joseph_Blatter" in lfw.identities
    # Rows revisited for issue 18: the toddlers stay in, the mislabelled photos go.
    names = {r.path.name for r in utk.records}
    assert "3_1_2_20161219151448835.jpg.chip.jpg" in names
    lfw_files = {r.path.name for r in lfw.records}
    assert "Michael_Schumacher_0008.jpg" not in lfw_files
    assert not {"Anja_Paerson_0001.jpg", "Janica_Kostelic_0001.jpg"} & lfw_files
    # Every UTKFace keep row and every duplicate's kept copy names a file this copy holds.
    for r in rev.of("utkface", "keep") + rev.of("utkface", "exclude_image"):
        assert r.other.endswith(".jpg") is False or r.other in names, r
        assert r.action != "keep" or r.item in names, r
