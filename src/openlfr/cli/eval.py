"""`openlfr eval ...`: accuracy and bias evaluation, calibration, the model evaluation report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from openlfr.cli import eval_options as o
from openlfr.cli.eval_options import int_list, rule_option
from openlfr.errors import OpenLFRError

eval_app = typer.Typer(
    help="Measure the face engine: 1:N error rates, demographic differentials, approval report."
)


def _context(
    engine: str | None, cache: Path | None, no_cache: bool, quiet: bool, review: str = "packaged"
) -> Any:
    from openlfr.config import get_settings
    from openlfr.eval.review import load_review
    from openlfr.eval.runner import EvalContext
    from openlfr.vision.engine import build_engine

    eng = build_engine(get_settings().vision, engine=engine)
    rev = None if review == "none" else load_review(None if review == "packaged" else Path(review))
    return EvalContext.create(eng, cache, use_cache=not no_cache, progress=not quiet, review=rev)


def _engine_default(ctx: Any, threshold: float | None) -> float:
    from openlfr.vision.engine import default_threshold

    return (
        float(threshold) if threshold is not None else float(default_threshold(ctx.engine.contract))
    )


def _fail(exc: OpenLFRError) -> None:
    typer.secho(f"error [{exc.code}]: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _finish(
    ctx: Any,
    ident: Any,
    demo: list[Any],
    provenance: dict[str, str],
    default_t: float,
    as_json: bool,
    report_out: Path | None,
) -> None:
    from openlfr.eval.report import build_report, report_json
    from openlfr.eval.report_html import write_report

    if ctx.review is not None:
        # In the provenance, so the approval governance stores names the data fixes it rests on.
        provenance["identity review"] = f"{ctx.review.source} sha256:{ctx.review.digest[:16]}"
    rep = build_report(
        contract=ctx.engine.contract.to_dict(),
        engine_name=ctx.engine.name,
        engine_default=default_t,
        ident=ident,
        demo=demo,
        provenance=provenance,
    )
    rep["identity_review"] = (
        {"applied": False}
        if ctx.review is None
        else {
            "applied": True,
            "file": ctx.review.source,
            "sha256": ctx.review.digest,
            "by_dataset": ctx.reviewed,
        }
    )
    if report_out is not None:
        j, h = write_report(report_out, rep, ident, demo)
        typer.echo(f"report: {h} and {j}", err=as_json)
    if as_json:
        typer.echo(report_json(rep))
    else:
        from openlfr.cli.eval_summary import print_summary

        print_summary(rep)


def _config_options(
    enrol_photos: str,
    probe_shots: str,
    labels: list[Path],
    template_rule: str,
    factor: float,
    no_znorm: bool,
    single_floors: dict[str, float | None] | None = None,
) -> Any:
    from openlfr.eval.runner import ConfigOptions

    return ConfigOptions(
        enrol_photos=tuple(int_list(enrol_photos, "enrolment photos")),
        probe_shots=tuple(int_list(probe_shots, "probe shots")),
        labels=tuple(labels),
        single_floors=single_floors or {},
        rule=rule_option(template_rule),  # type: ignore[arg-type]
        factor=factor,
        znorm=not no_znorm,
    )


@eval_app.command("identification")
def identification(
    data: o.Data,
    watchlist_sizes: o.Sizes = "100,1000,5000",
    nonmated: Annotated[
        Path | None,
        typer.Option(
            "--nonmated", help="Extra non-mated images, one person per image (e.g. UTKFace)."
        ),
    ] = None,
    labels: o.Labels = [],  # noqa: B006 (Typer reads the default, never mutates it)
    enrol_photos: o.EnrolPhotos = "1",
    probe_shots: o.ProbeShots = "1",
    template_rule: o.TemplateRule = "auto",
    factor: o.Factor = 2.0,
    no_znorm: o.NoZnorm = False,
    policy_fpir: o.PolicyFpir = 1e-3,
    policy_size: o.PolicySize = 1000,
    threshold: o.Threshold = None,
    as_json: o.Json = False,
    report: o.Report = None,
    cache: o.Cache = None,
    no_cache: o.NoCache = False,
    engine: o.Engine = None,
    seed: o.Seed = 0,
    max_identities: o.MaxIdentities = None,
    identity_review: o.IdentityReview = "packaged",
) -> None:
    """Open-set 1:N evaluation (FNIR/TPIR at fixed FPIR, FPIR at fixed thresholds, calibration),
    per (enrolment photos, probe shots) configuration. `--labels` adds the per-configuration
    gender evaluation to each configuration's floor; without it the floor is the calibration
    only (fairness not evaluated: use `eval report`)."""
    from openlfr.eval.runner import run_identification

    sizes = int_list(watchlist_sizes, "watchlist sizes")
    co = _config_options(enrol_photos, probe_shots, labels, template_rule, factor, no_znorm)
    try:
        ctx = _context(engine, cache, no_cache, as_json, identity_review)
        dflt = _engine_default(ctx, threshold)
        ident = run_identification(
            ctx,
            data,
            sizes,
            extra_nonmated=nonmated,
            policy_fpir=policy_fpir,
            policy_size=policy_size,
            seed=seed,
            max_identities=max_identities,
            default_threshold=dflt,
            configurations=co,
        )
        prov = {"identification": str(data)}
        if nonmated:
            prov["extra non-mated"] = str(nonmated)
        _finish(ctx, ident, [], prov, dflt, as_json, report)
    except OpenLFRError as exc:
        _fail(exc)


@eval_app.command("demographics")
def demographics(
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
    factor: o.Factor = 2.0,
    threshold: o.Threshold = None,
    as_json: o.Json = False,
    report: o.Report = None,
    cache: o.Cache = None,
    no_cache: o.NoCache = False,
    engine: o.Engine = None,
    seed: o.Seed = 0,
    max_identities: o.MaxIdentities = None,
    identity_review: o.IdentityReview = "packaged",
) -> None:
    """False match / non-match rates per group, ratios to pooled, tests, and the fair floor."""
    from openlfr.eval.runner import run_demographics

    try:
        ctx = _context(engine, cache, no_cache, as_json, identity_review)
        dflt = _engine_default(ctx, threshold)
        groupings = [tuple(a.strip() for a in b.split(",") if a.strip()) for b in by] or None
        demo = run_demographics(
            ctx,
            data,
            labels,
            by=groupings,
            default_threshold=dflt,
            min_age=min_age,
            max_age=max_age,
            exclude=() if include_other else ("Other",),
            pooled_fmr_target=fmr_target,
            max_identities=max_identities,
            min_group_identities=min_groupsize,
            factor=factor,
            seed=seed,
        )
        prov = {"demographics": str(data), "labels": ", ".join(map(str, labels)) or "file names"}
        _finish(ctx, None, demo, prov, dflt, as_json, report)
    except OpenLFRError as exc:
        _fail(exc)


@eval_app.command("report")
def full_report(
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
    watchlist_sizes: o.Sizes = "100,1000,5000",
    enrol_photos: o.EnrolPhotos = "1,2",
    probe_shots: o.ProbeShots = "1,3",
    template_rule: o.TemplateRule = "auto",
    factor: o.Factor = 2.0,
    no_znorm: o.NoZnorm = False,
    policy_fpir: o.PolicyFpir = 1e-3,
    policy_size: o.PolicySize = 1000,
    min_age: o.MinAge = 18,
    min_groupsize: o.MinGroup = 5,
    threshold: o.Threshold = None,
    as_json: o.Json = False,
    cache: o.Cache = None,
    no_cache: o.NoCache = False,
    engine: o.Engine = None,
    seed: o.Seed = 0,
    max_identities: o.MaxIdentities = None,
    identity_review: o.IdentityReview = "packaged",
) -> None:
    """The full model evaluation report with its approval section (what governance consumes)."""
    from pathlib import Path as P

    from openlfr.eval.runner import run_demographics, run_identification

    sizes = int_list(watchlist_sizes, "watchlist sizes")
    try:
        ctx = _context(engine, cache, no_cache, as_json, identity_review)
        dflt = _engine_default(ctx, threshold)
        demo = run_demographics(
            ctx,
            utkface,
            [],
            default_threshold=dflt,
            min_age=min_age,
            min_group_identities=min_groupsize,
            factor=factor,
            seed=seed,
        )
        prov = {
            "identification": str(lfw),
            "extra non-mated": str(utkface),
            "demographics (FMR)": str(utkface),
        }
        if lfw_labels:
            demo += run_demographics(
                ctx,
                lfw,
                lfw_labels,
                default_threshold=dflt,
                max_identities=max_identities,
                min_group_identities=min_groupsize,
                factor=factor,
                seed=seed,
            )
            prov["demographics (FNMR)"] = f"{lfw} with {', '.join(map(str, lfw_labels))}"
        floors = {
            f"{' x '.join(d.attributes)} ({P(d.dataset).name})": d.floor_threshold for d in demo
        }
        co = _config_options(
            enrol_photos, probe_shots, lfw_labels, template_rule, factor, no_znorm, floors
        )
        ident = run_identification(
            ctx,
            lfw,
            sizes,
            extra_nonmated=utkface,
            policy_fpir=policy_fpir,
            policy_size=policy_size,
            seed=seed,
            max_identities=max_identities,
            default_threshold=dflt,
            configurations=co,
        )
        _finish(ctx, ident, demo, prov, dflt, as_json, out)
    except OpenLFRError as exc:
        _fail(exc)


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
) -> None:
    """Write a report's approval (thresholds and rates only) as the model's calibration file,
    which `openlfr watch` uses to derive its threshold."""
    from openlfr.eval.calibration import load_approval_file, packaged_path

    try:
        appr = load_approval_file(report)
    except OpenLFRError as exc:
        _fail(exc)
        return
    target = out or packaged_path(appr.contract_id.split("@", 1)[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(appr.to_dict(), indent=1) + "\n", encoding="utf-8")
    typer.echo(f"calibration for {appr.contract_id} written to {target}")


def register(app: typer.Typer) -> None:
    """Add `openlfr eval ...` to the root app."""
    app.add_typer(eval_app, name="eval")
