"""The evaluation report (approval section, partial reports) and the `openlfr eval` commands,
driven end to end by the mock engine."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from openlfr.eval.approval import REPORT_KIND, ModelApproval
from openlfr.eval.demographics import evaluate_demographics
from openlfr.eval.identification import THRESHOLD_GRID, evaluate_size, plan_gallery, score_size
from openlfr.eval.report import PARTIAL_KIND, IdentificationPart, build_report
from openlfr.eval.report_html import render_html

from ._synth import synthetic
from .test_eval_demographics import _groups


def _ident_part() -> IdentificationPart:
    ds, vec, ok = synthetic([2] * 150 + [1] * 4000, noise=0.6)
    gal = plan_gallery(ds, ok, seed=0)
    results, curves = [], {}
    for size in (50, 100):
        sc = score_size(size, gal, vec)
        results.append(
            evaluate_size(sc, thresholds=[*THRESHOLD_GRID, 0.5], policy_fpir=1e-2, boot=10)
        )
        ks = sc.fpir_counts(THRESHOLD_GRID)
        curves[size] = [(t, int(k), sc.n_nonmated) for t, k in zip(THRESHOLD_GRID, ks, strict=True)]
    return IdentificationPart(
        "synthetic", ds.summary(), None, {}, [], 0, 1e-2, 100, results, curves
    )


def test_full_report_carries_a_loadable_approval() -> None:
    ident = _ident_part()
    ds, vec, ok, lab = _groups()
    demo = [evaluate_demographics(ds, vec, ok, lab, ["race"], default_threshold=0.5)]
    rep = build_report(
        contract={"id": "synthetic@1#abc"},
        engine_name="synthetic",
        engine_default=0.5,
        ident=ident,
        demo=demo,
        provenance={"data": "synthetic"},
    )
    assert rep["kind"] == REPORT_KIND
    appr = ModelApproval.from_report_json(json.dumps(rep))
    cal = ident.calibrated_threshold()
    assert cal is not None and demo[0].floor_threshold is not None
    assert appr.validated_min_threshold == pytest.approx(max(cal, demo[0].floor_threshold))
    assert appr.default_threshold >= appr.validated_min_threshold
    assert {p.watchlist_size for p in appr.fpir_curve} == {50, 100}
    assert all(p.fpir_upper >= p.fpir for p in appr.fpir_curve)
    assert appr.expected_false_alerts(10_000, 100, appr.validated_min_threshold) >= 0
    html = render_html(rep, ident, demo)
    assert html.count("data:image/png;base64,") == 4 and "Validated minimum threshold" in html


def test_partial_report_has_no_approval() -> None:
    rep = build_report(
        contract={"id": "x"},
        engine_name="x",
        engine_default=0.5,
        ident=_ident_part(),
        demo=[],
        provenance={},
    )
    assert rep["kind"] == PARTIAL_KIND and "approval" not in rep
    with pytest.raises(ValueError, match="not an OpenLFR model evaluation"):
        ModelApproval.from_report_json(json.dumps(rep))


# --- CLI, with the mock engine -----------------------------------------------------------------

COLOURS = [(b, g, r) for b in (0, 90, 200) for g in (0, 120, 230) for r in (40, 160, 250)]


def _img(path: Path, bgr: tuple[int, int, int], jitter: int) -> None:
    img = np.full((80, 80, 3), 128, np.uint8)
    img[16 + jitter : 64, 16 : 64 - jitter] = bgr
    cv2.imwrite(str(path), img)


@pytest.fixture()
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    import openlfr.cli.eval_run as er
    from openlfr.cli.eval import register
    from openlfr.eval.runner import EvalContext
    from openlfr.vision.mock import mock_engine

    def ctx(
        engine: str | None,
        cache: Path | None,
        no_cache: bool,
        quiet: bool,
        review: str = "none",
        split: tuple[int, float] = (0, 0.0),
    ) -> EvalContext:
        # The split is off here: these synthetic sets are too small to divide (test_eval_split).
        from openlfr.eval.review import load_review

        rev = None if review in ("none", "packaged") else load_review(Path(review))
        return EvalContext.create(
            mock_engine(), tmp_path / "cache", use_cache=not no_cache, progress=False, review=rev
        )

    monkeypatch.setattr(er, "open_context", ctx)
    monkeypatch.setattr(er, "engine_default", lambda c: 0.5)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    register(app)
    return app


def _lfw_like(root: Path) -> Path:
    for i, colour in enumerate(COLOURS):
        d = root / f"Person_{i:02d}"
        d.mkdir(parents=True)
        for j in range(3 if i < 12 else 1):
            _img(d / f"Person_{i:02d}_{j + 1:04d}.png", colour, j)
    (root / "Person_00" / "Person_00_0009.jpg").write_bytes(b"corrupt")
    return root


def test_cli_identification_writes_report_and_reports_bad_images(
    cli: typer.Typer, tmp_path: Path
) -> None:
    data = _lfw_like(tmp_path / "lfw")
    out = tmp_path / "rep" / "ident"
    res = CliRunner().invoke(
        cli,
        [
            "eval",
            "identification",
            "--data",
            str(data),
            "--watchlist-sizes",
            "5,10",
            "--json",
            "--report",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["kind"] == PARTIAL_KIND
    # The corrupt file, and the pale squares the mock detector cannot see, are counted by type.
    failed = rep["identification"]["failed_images"]
    assert failed["image_decode_error"] == 1 and set(failed) <= {"image_decode_error", "no_face"}
    assert [s["watchlist_size"] for s in rep["identification"]["sizes"]] == [5, 10]
    assert out.with_suffix(".html").exists() and out.with_suffix(".json").exists()
    assert (out.parent / "ident_det.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_bad_inputs_exit_cleanly(cli: typer.Typer, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(cli, ["eval", "identification", "--data", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "dataset_error" in r.output and "no image" in r.output
    singles = tmp_path / "singles"
    for i in range(3):
        (singles / f"P{i}").mkdir(parents=True)
        _img(singles / f"P{i}" / "a.png", COLOURS[i], 0)
    r = CliRunner().invoke(
        cli, ["eval", "identification", "--data", str(singles), "--watchlist-sizes", "2"]
    )
    assert r.exit_code == 2 and "non-mated" in r.output
    r = CliRunner().invoke(
        cli, ["eval", "identification", "--data", str(singles), "--watchlist-sizes", "x"]
    )
    assert r.exit_code != 0
    data = _lfw_like(tmp_path / "lfw")
    labels = tmp_path / "male_names.txt"
    labels.write_text("Nobody_0001.jpg\n")
    r = CliRunner().invoke(
        cli, ["eval", "demographics", "--data", str(data), "--labels", str(labels)]
    )
    assert r.exit_code == 2 and "match none" in r.output
    # A clip that is not there is refused before anything is embedded.
    args = ["eval", "report", "--lfw", str(data), "--utkface", str(data), "--out", str(tmp_path)]
    r = CliRunner().invoke(cli, [*args, "--camera-video", str(tmp_path / "no.mp4")])
    assert r.exit_code == 2 and "camera-video" in r.output


def test_cli_full_report_with_utkface_style_names(cli: typer.Typer, tmp_path: Path) -> None:
    data = _lfw_like(tmp_path / "lfw")
    utk = tmp_path / "utk"
    utk.mkdir()
    for i, colour in enumerate(COLOURS):
        _img(utk / f"{20 + i}_{i % 2}_{i % 4}_2017{i:04d}.jpg", colour, 1)
    _img(utk / "3_0_0_20170000.jpg", COLOURS[0], 2)  # a child, left out
    out = tmp_path / "full"
    r = CliRunner().invoke(
        cli,
        [
            "eval",
            "report",
            "--lfw",
            str(data),
            "--utkface",
            str(utk),
            "--out",
            str(out),
            "--watchlist-sizes",
            "5,10",
            "--policy-size",
            "10",
            "--policy-fpir",
            "0.5",
            "--min-group-identities",
            "1",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    demo = rep["demographics"][0]
    assert demo["grouped_by"] == ["gender", "race"]
    assert demo["left_out"]["outside_age_range"] == 1
    assert rep["kind"] in (REPORT_KIND, PARTIAL_KIND)
    # Camera-like probes beside every measured configuration (eval/camera_like.py).
    assert ("camera_like" in rep) == (rep["identification"]["configurations"] is not None)
    if rep["kind"] == REPORT_KIND:
        ModelApproval.from_report_json(out.with_suffix(".json").read_text())


def test_cli_expected_alerts(cli: typer.Typer, tmp_path: Path) -> None:
    ident = _ident_part()
    ds, vec, ok, lab = _groups()
    demo = [evaluate_demographics(ds, vec, ok, lab, ["race"], default_threshold=0.5)]
    rep = build_report(
        contract={"id": "c"},
        engine_name="s",
        engine_default=0.5,
        ident=ident,
        demo=demo,
        provenance={},
    )
    assert rep["expected_false_alerts_per_100k_faces"][0]["watchlist_size"] == 50
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rep))
    args = ["eval", "expected-alerts", "--report", str(path), "--faces", "10000"]
    r = CliRunner().invoke(cli, [*args, "--watchlist-size", "100"])
    assert r.exit_code == 0 and "expected false alerts" in r.output
    r = CliRunner().invoke(cli, [*args, "--watchlist-size", "100", "--threshold", "0.21"])
    assert "second authorisation" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    r = CliRunner().invoke(
        cli,
        ["eval", "expected-alerts", "--report", str(bad), "--faces", "1", "--watchlist-size", "1"],
    )
    assert r.exit_code == 2 and "not a usable report" in r.output


def test_cli_identification_per_configuration(cli: typer.Typer, tmp_path: Path) -> None:
    data = _lfw_like(tmp_path / "lfw")
    args = ["eval", "identification", "--data", str(data), "--watchlist-sizes", "5,10"]
    r = CliRunner().invoke(
        cli,
        [*args, "--enrol-photos", "1,2", "--probe-shots", "1", "--policy-fpir", "0.5", "--json"],
    )
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    items = rep["by_configuration"]
    assert {(c["enrol_photos"], c["probe_shots"], c["watchlist_size"]) for c in items} == {
        (1, 1, 5),
        (1, 1, 10),
        (2, 1, 5),
        (2, 1, 10),
    }
    for c in items:
        assert set(c) >= {"threshold", "tpir", "fpir", "fpir_upper", "bound_by"}
    assert rep["identification"]["configurations"]["template_rule"] in ("mean", "max", "both")
    # More photos than any identity has: the single-image protocol stands, the reason is given.
    r = CliRunner().invoke(cli, [*args, "--enrol-photos", "3", "--probe-shots", "2", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert "usable images" in rep["identification"]["configurations_unavailable"]
    r = CliRunner().invoke(cli, [*args, "--enrol-photos", "0"])
    assert r.exit_code != 0 and "must be positive" in r.output
    r = CliRunner().invoke(cli, [*args, "--template-rule", "median"])
    assert r.exit_code != 0 and "template-rule" in r.output


def test_cli_export_calibration_and_watch_threshold(cli: typer.Typer, tmp_path: Path) -> None:
    from openlfr.cli.watch import _derived_threshold
    from openlfr.vision.mock import mock_engine

    ident = _ident_part()
    ds, vec, ok, lab = _groups()
    demo = [evaluate_demographics(ds, vec, ok, lab, ["race"], default_threshold=0.5)]
    eng = mock_engine()
    rep = build_report(
        contract={"id": eng.contract.id},
        engine_name="mock",
        engine_default=0.5,
        ident=ident,
        demo=demo,
        provenance={},
    )
    (tmp_path / "r.json").write_text(json.dumps(rep))
    out = tmp_path / "cal" / "mock.json"
    r = CliRunner().invoke(
        cli, ["eval", "export-calibration", "--report", str(tmp_path / "r.json"), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    cal = json.loads(out.read_text())
    assert cal["contract_id"] == eng.contract.id and "images" not in out.read_text()
    t = _derived_threshold(eng, 80, 1e-2, out)
    appr = ModelApproval.from_dict(cal)
    assert t >= appr.validated_min_threshold and appr.fpir_at(80, t) <= 1e-2
    from openlfr.errors import ModelError

    with pytest.raises(ModelError, match="covers at most"):
        _derived_threshold(eng, 101, 1e-2, out)
