"""`openlfr eval ...`: accuracy and bias evaluation, calibration, the model evaluation report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from openlfr.cli import eval_options as o
from openlfr.cli.eval_options import int_list
from openlfr.cli.eval_run import EvalRun, fail, scoring_command
from openlfr.errors import OpenLFRError

eval_app = typer.Typer(
    help="Measure the face engine: 1:N error rates, demographic differentials, approval report."
)


@scoring_command(eval_app, "identification", protocol={})
def identification(
    run: EvalRun,
    data: o.Data,
    watchlist_sizes: o.Sizes = "100,1000,3000",
    nonmated: Annotated[
        Path | None,
        typer.Option(
            "--nonmated", help="Extra non-mated images, one person per image (e.g. UTKFace)."
        ),
    ] = None,
    labels: o.Labels = [],  # noqa: B006 (Typer reads the default, never mutates it)
    report: o.Report = None,
) -> None:
    """Open-set 1:N evaluation (FNIR/TPIR at fixed FPIR, FPIR at fixed thresholds, calibration),
    per (enrolment photos, probe shots) configuration. `--labels` adds the per-configuration
    gender evaluation to each configuration's floor; without it the floor is the calibration
    only (fairness not evaluated: use `eval report`)."""
    sizes = int_list(watchlist_sizes, "watchlist sizes")
    ident = run.identify(data, sizes, nonmated, run.configurations(labels))
    prov = {"identification": str(data)}
    if nonmated:
        prov["extra non-mated"] = str(nonmated)
    run.finish(ident, [], prov, report)


@scoring_command(eval_app, "demographics")
def demographics(
    run: EvalRun,
    data: o.Data,
    labels: o.Labels = [],  # noqa: B006
    by: Annotated[
        list[str], typer.Option("--by", help="Grouping, e.g. gender,race (repeatable).")
    ] = [],  # noqa: B006
    min_age: o.MinAge = 18,
    max_age: Annotated[int | None, typer.Option("--max-age")] = None,
    include_other: Annotated[
        bool,
        typer.Option("--include-other", help="Keep UTKFace's heterogeneous 'Other' race group."),
    ] = False,
    fmr_target: Annotated[
        float, typer.Option("--fmr-target", help="Pooled FMR of the second comparison threshold.")
    ] = 1e-3,
    min_groupsize: o.MinGroup = 5,
    report: o.Report = None,
) -> None:
    """False match / non-match rates per group, ratios to pooled, tests, and the fair floor."""
    from openlfr.eval.runner import run_demographics

    groupings = [tuple(a.strip() for a in b.split(",") if a.strip()) for b in by] or None
    demo = run_demographics(
        run.ctx,
        data,
        labels,
        by=groupings,
        default_threshold=run.default_threshold,
        min_age=min_age,
        max_age=max_age,
        exclude=() if include_other else ("Other",),
        pooled_fmr_target=fmr_target,
        max_identities=run.max_identities,
        min_group_identities=min_groupsize,
        factor=run.factor,
        seed=run.seed,
    )
    prov = {"demographics": str(data), "labels": ", ".join(map(str, labels)) or "file names"}
    run.finish(None, demo, prov, report)


@scoring_command(eval_app, "report", protocol={"enrol_photos": "1,2", "probe_shots": "1,3"})
def full_report(
    run: EvalRun,
    lfw: Annotated[
        Path,
        typer.Option(
            "--lfw", help="Folder-per-identity dataset for 1:N (e.g. ../shared/data/lfw/images)."
        ),
    ],
    utkface: Annotated[
        Path,
        typer.Option(
            "--utkface",
            help="UTKFace images: FMR per gender x race; also extra non-mated searches.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Write OUT.html and OUT.json.")],
    lfw_labels: Annotated[
        list[Path],
        typer.Option("--lfw-labels", help="LFW labels (folder or files) for FNMR per group."),
    ] = [],  # noqa: B006
    watchlist_sizes: o.Sizes = "100,1000,3000",
    min_age: o.MinAge = 18,
    min_groupsize: o.MinGroup = 5,
    camera_video: Annotated[
        Path | None,
        typer.Option(
            "--camera-video",
            exists=True,
            dir_okay=False,
            help="A clip of people walking past a camera: genuine pairs from its face tracks "
            "(enrol from a track's start, probe with its later shots; camera_like.track_probes).",
        ),
    ] = None,
) -> None:
    """The full model evaluation report with its approval section (what governance consumes)."""
    from openlfr.eval.fairness_report import dataset_name
    from openlfr.eval.runner import run_demographics

    sizes = int_list(watchlist_sizes, "watchlist sizes")
    run.configurations(lfw_labels)  # refuse a bad protocol option before anything is scored
    # Both demographic runs (UTKFace for FMR, LFW with labels for FNMR) judge by one criterion.
    common: dict[str, Any] = {
        "default_threshold": run.default_threshold,
        "min_group_identities": min_groupsize,
        "factor": run.factor,
        "seed": run.seed,
    }
    demo = run_demographics(run.ctx, utkface, [], min_age=min_age, **common)
    prov = {
        "identification": str(lfw),
        "extra non-mated": str(utkface),
        "demographics (FMR)": str(utkface),
    }
    if lfw_labels:
        demo += run_demographics(
            run.ctx, lfw, lfw_labels, max_identities=run.max_identities, **common
        )
        prov["demographics (FNMR)"] = f"{lfw} with {', '.join(map(str, lfw_labels))}"
    floors = {
        f"{' x '.join(d.attributes)} ({dataset_name(d.dataset)})": d.floor_threshold for d in demo
    }
    ident = run.identify(lfw, sizes, utkface, run.configurations(lfw_labels, floors))
    # M degraded shots of one photo beside M different photos (issue 18): its own module.
    from openlfr.eval.camera_like import run_camera_like

    camera = run_camera_like(
        run.ctx, lfw, ident, seed=run.seed, max_identities=run.max_identities, video=camera_video
    )
    run.finish(ident, demo, prov, out, camera_like=camera)


@eval_app.command("expected-alerts")
def expected_alerts(
    report: Annotated[Path, typer.Option("--report", help="A model evaluation report (JSON).")],
    faces: Annotated[
        int, typer.Option("--faces", min=0, help="Faces expected to pass the cameras.")
    ],
    watchlist_size: Annotated[int, typer.Option("--watchlist-size", min=1)],
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Default: the report's recommended threshold."),
    ] = None,
) -> None:
    """Expected false alerts of a deployment: faces x FPIR (upper bound) at its size, threshold."""
    from openlfr.eval.approval import ModelApproval

    try:
        appr = ModelApproval.from_report_json(report.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        typer.secho(
            f"error [dataset_error]: {report}: not a usable report ({exc})", fg="red", err=True
        )
        raise typer.Exit(2) from None
    t = appr.default_threshold if threshold is None else threshold
    below = t < appr.validated_min_threshold
    fpir = appr.fpir_at(watchlist_size, t)
    typer.echo(
        f"threshold {t:.4f}, watchlist {watchlist_size:,}: FPIR (upper bound) {fpir:.2e}, "
        f"expected false alerts {faces * fpir:.1f} in {faces:,} faces"
    )
    if below:
        typer.secho(
            f"threshold is below the validated minimum {appr.validated_min_threshold:.4f}: "
            "needs a second authorisation",
            fg="yellow",
        )


@eval_app.command("export-calibration")
def export_calibration(
    report: Annotated[Path, typer.Option("--report", help="A full model evaluation report.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Default: the package's calibration file for the model."),
    ] = None,
    shipped_report: Annotated[
        bool,
        typer.Option(
            "--shipped-report",
            help="Also write the report, per-threshold tables left out, as the package's "
            "shipped evaluation (`openlfr model approve --shipped`).",
        ),
    ] = False,
) -> None:
    """Write a report's approval (thresholds and rates only) as the model's calibration file,
    which `openlfr watch` uses to derive its threshold."""
    from openlfr.eval.calibration import load_approval_file, packaged_path

    try:
        appr = load_approval_file(report)
    except OpenLFRError as exc:
        fail(exc)
    target = out or packaged_path(appr.contract_id.split("@", 1)[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(appr.to_dict(), indent=1) + "\n", encoding="utf-8")
    typer.echo(f"calibration for {appr.contract_id} written to {target}")
    if shipped_report:
        from openlfr.eval.calibration import shipped_report_path
        from openlfr.eval.report import for_package, report_json

        dest = shipped_report_path(appr.contract_id.split("@", 1)[0])
        full = json.loads(report.read_text(encoding="utf-8"))
        dest.write_text(report_json(for_package(full), compact=True) + "\n", encoding="utf-8")
        typer.echo(f"shipped report written to {dest}")


def register(app: typer.Typer) -> None:
    """Add `openlfr eval ...` to the root app."""
    app.add_typer(eval_app, name="eval")
