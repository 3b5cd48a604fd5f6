"""`openlfr eval ...`: accuracy and bias evaluation, calibration, the model evaluation report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from openlfr.errors import OpenLFRError

eval_app = typer.Typer(
    help="Measure the face engine: 1:N error rates, demographic differentials, approval report."
)

DataOpt = typer.Option(
    ...,
    "--data",
    help="Dataset folder (one subfolder per identity, or flat with one person per image).",
)
SizesOpt = typer.Option(
    "100,1000,5000", "--watchlist-sizes", help="Comma-separated watchlist sizes."
)
CacheOpt = typer.Option(
    None, "--cache", help="Template cache folder (default: OpenLFR data dir / cache)."
)
NoCacheOpt = typer.Option(False, "--no-cache", help="Embed everything afresh and keep nothing.")
EngineOpt = typer.Option(None, "--engine", help="sface (default), dlib or onnx.")
JsonOpt = typer.Option(False, "--json", help="Print the report JSON to stdout.")
ReportOpt = typer.Option(None, "--report", help="Write OUT.html and OUT.json.")
SeedOpt = typer.Option(0, "--seed", help="Seed of watchlist selection and calibration split.")
MaxIdOpt = typer.Option(
    None, "--max-identities", help="Use a seeded subset of this many identities (quick runs)."
)
PolicyOpt = typer.Option(
    1e-3, "--policy-fpir", help="FPIR the calibrated threshold must certify (upper bound)."
)
PolicySizeOpt = typer.Option(
    1000, "--policy-size", help="Watchlist size the policy FPIR applies to."
)
ThresholdOpt = typer.Option(
    None, "--threshold", help="Operating threshold to report at (default: the engine's)."
)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"not a comma-separated list of integers: {text!r}") from None
    if not sizes or any(s <= 0 for s in sizes):
        raise typer.BadParameter("watchlist sizes must be positive")
    return sizes


def _context(engine: str | None, cache: Path | None, no_cache: bool, quiet: bool) -> Any:
    from openlfr.config import get_settings
    from openlfr.eval.runner import EvalContext
    from openlfr.vision.engine import build_engine

    eng = build_engine(get_settings().vision, engine=engine)
    return EvalContext.create(eng, cache, use_cache=not no_cache, progress=not quiet)


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
    from openlfr.eval.report import build_report, report_json, write_report

    rep = build_report(
        contract=ctx.engine.contract.to_dict(),
        engine_name=ctx.engine.name,
        engine_default=default_t,
        ident=ident,
        demo=demo,
        provenance=provenance,
    )
    if report_out is not None:
        j, h = write_report(report_out, rep, ident, demo)
        typer.echo(f"report: {h} and {j}", err=as_json)
    if as_json:
        typer.echo(report_json(rep))
    else:
        _print_summary(rep)


def _print_summary(rep: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    ident = rep.get("identification")
    if ident:
        t = Table(title=f"Open-set identification: {ident['dataset']}")
        for col in (
            "watchlist",
            "mated",
            "non-mated",
            "TPIR@FPIR 1e-2",
            "TPIR@FPIR 1e-3",
            "FPIR@default [95%]",
            "calibrated T",
        ):
            t.add_column(col, justify="right")
        dflt = rep["engine_default_threshold"]
        for s in ident["sizes"]:
            tp = {x["fpir_target"]: x for x in s["tpir_at_fpir"]}

            def fmt(level: float, tp: dict[float, Any] = tp) -> str:
                x = tp.get(level)
                if not x or not x["achievable"]:
                    return "n/a"
                lo, hi = x["tpir_bootstrap_ci"]
                return f"{x['tpir']['rate']:.3f} ({lo:.3f}-{hi:.3f}) @{x['threshold']:.3f}"

            at = next((b for b in s["by_threshold"] if abs(b["threshold"] - dflt) < 1e-9), None)
            fp = (
                f"{at['fpir']['rate']:.2e} [{at['fpir']['lower']:.1e}, {at['fpir']['upper']:.1e}]"
                if at
                else "-"
            )
            cal = s["calibration"]
            t.add_row(
                f"{s['watchlist_size']:,}",
                str(s["mated_searches"]),
                str(s["nonmated_searches"]),
                fmt(1e-2),
                fmt(1e-3),
                fp,
                "n/a"
                if cal["threshold"] is None
                else f"{cal['threshold']} (held-out ok: {cal['heldout_within_interval']})",
            )
        con.print(t)
        ds = ident["dataset_summary"]
        con.print(
            f"{ds['images']} images of {ds['identities']} identities; "
            f"{ds['identities_with_1_image']} have a single image and serve only as non-mated "
            "searches unless a watchlist is larger than the identities with mates "
            f"({ds['identities_with_2plus_images']})"
        )
        if ident["failed_images"]:
            con.print(f"images left out (typed errors): {ident['failed_images']}")
    for d in rep.get("demographics", []):
        row = d["at_default_threshold"]
        t = Table(
            title=f"FMR per {' x '.join(d['grouped_by'])} at threshold {row['threshold']}: "
            f"{d['dataset']}"
        )
        for col in ("group", "impostor pairs", "FMR [95%]", "FNMR [95%]", "Holm p"):
            t.add_column(col, justify="right")
        for g in d["groups"]:
            f = row["fmr"][g["group"]]
            n = row["fnmr"].get(g["group"])
            t.add_row(
                g["group"],
                str(g["impostor_pairs"]),
                f"{f['rate']:.2e} [{f['lower']:.1e}, {f['upper']:.1e}]",
                f"{n['rate']:.4f} [{n['lower']:.4f}, {n['upper']:.4f}]" if n else "-",
                f"{row['fisher_holm_p'].get(g['group'], 1.0):.2g}",
            )
        con.print(t)
        pr = d["at_pooled_threshold"]["worst_to_best_fmr_ratio"]
        if pr:
            con.print(
                f"at pooled FMR {d['pooled_fmr_target']:g} "
                f"(threshold {d['pooled_threshold']:.4f}): "
                f"worst/best {d['at_pooled_threshold']['worst_group']}/"
                f"{d['at_pooled_threshold']['best_group']} = "
                f"{pr['ratio']:.1f} [{pr['lower']:.1f}, {pr['upper']:.1f}]"
            )
        con.print(f"lowest threshold without significant group differences: {d['floor_threshold']}")
        con.print(f"left out: {d['left_out']}")
    if rep.get("approval"):
        a = rep["approval"]
        con.print(
            f"[green]validated minimum threshold {a['validated_min_threshold']}[/green] "
            f"(policy FPIR {a['policy_fpir']})"
        )
    else:
        con.print(f"[yellow]no approval: {rep.get('approval_withheld')}[/yellow]")


@eval_app.command("identification")
def identification(
    data: Path = DataOpt,
    watchlist_sizes: str = SizesOpt,
    nonmated: Path | None = typer.Option(
        None, "--nonmated", help="Extra non-mated images, one person per image (e.g. UTKFace)."
    ),
    policy_fpir: float = PolicyOpt,
    policy_size: int = PolicySizeOpt,
    threshold: float | None = ThresholdOpt,
    as_json: bool = JsonOpt,
    report: Path | None = ReportOpt,
    cache: Path | None = CacheOpt,
    no_cache: bool = NoCacheOpt,
    engine: str | None = EngineOpt,
    seed: int = SeedOpt,
    max_identities: int | None = MaxIdOpt,
) -> None:
    """Open-set 1:N evaluation (FNIR/TPIR at fixed FPIR, FPIR at fixed thresholds, calibration)."""
    from openlfr.eval.runner import run_identification

    sizes = _sizes(watchlist_sizes)
    try:
        ctx = _context(engine, cache, no_cache, as_json)
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
        )
        prov = {"identification": str(data)}
        if nonmated:
            prov["extra non-mated"] = str(nonmated)
        _finish(ctx, ident, [], prov, dflt, as_json, report)
    except OpenLFRError as exc:
        _fail(exc)


@eval_app.command("demographics")
def demographics(
    data: Path = DataOpt,
    labels: list[Path] = typer.Option(
        [],
        "--labels",
        help="Labels files (LFW: female_names.txt, male_names.txt, race JSON; or their folder). "
        "Omit for UTKFace, whose labels are in the file names.",
    ),
    by: list[str] = typer.Option([], "--by", help="Grouping, e.g. gender,race (repeatable)."),
    min_age: int | None = typer.Option(
        18, "--min-age", help="Adults only by default (UTKFace has many children)."
    ),
    max_age: int | None = typer.Option(None, "--max-age"),
    include_other: bool = typer.Option(
        False, "--include-other", help="Keep UTKFace's heterogeneous 'Other' race group."
    ),
    fmr_target: float = typer.Option(
        1e-3, "--fmr-target", help="Pooled FMR of the second comparison threshold."
    ),
    min_groupsize: int = typer.Option(
        5,
        "--min-group-identities",
        min=1,
        help="Leave out groups of fewer people (too few pairs for a meaningful rate).",
    ),
    threshold: float | None = ThresholdOpt,
    as_json: bool = JsonOpt,
    report: Path | None = ReportOpt,
    cache: Path | None = CacheOpt,
    no_cache: bool = NoCacheOpt,
    engine: str | None = EngineOpt,
    seed: int = SeedOpt,
    max_identities: int | None = MaxIdOpt,
) -> None:
    """False match / non-match rates per group, ratios, tests, and the no-difference floor."""
    from openlfr.eval.runner import run_demographics

    try:
        ctx = _context(engine, cache, no_cache, as_json)
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
            seed=seed,
        )
        prov = {"demographics": str(data), "labels": ", ".join(map(str, labels)) or "file names"}
        _finish(ctx, None, demo, prov, dflt, as_json, report)
    except OpenLFRError as exc:
        _fail(exc)


@eval_app.command("report")
def full_report(
    lfw: Path = typer.Option(
        ..., "--lfw", help="Folder-per-identity dataset for 1:N (e.g. ../shared/data/lfw/images)."
    ),
    utkface: Path = typer.Option(
        ...,
        "--utkface",
        help="UTKFace images: FMR per gender x race; also extra non-mated searches.",
    ),
    lfw_labels: list[Path] = typer.Option(
        [], "--lfw-labels", help="LFW labels (folder or files) for FNMR per group."
    ),
    out: Path = typer.Option(..., "--out", help="Write OUT.html and OUT.json."),
    watchlist_sizes: str = SizesOpt,
    policy_fpir: float = PolicyOpt,
    policy_size: int = PolicySizeOpt,
    min_age: int | None = typer.Option(18, "--min-age"),
    min_groupsize: int = typer.Option(
        5,
        "--min-group-identities",
        min=1,
        help="Leave out groups of fewer people (too few pairs for a meaningful rate).",
    ),
    threshold: float | None = ThresholdOpt,
    as_json: bool = JsonOpt,
    cache: Path | None = CacheOpt,
    no_cache: bool = NoCacheOpt,
    engine: str | None = EngineOpt,
    seed: int = SeedOpt,
    max_identities: int | None = MaxIdOpt,
) -> None:
    """The full model evaluation report with its approval section (what governance consumes)."""
    from openlfr.eval.runner import run_demographics, run_identification

    sizes = _sizes(watchlist_sizes)
    try:
        ctx = _context(engine, cache, no_cache, as_json)
        dflt = _engine_default(ctx, threshold)
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
        )
        demo = run_demographics(
            ctx,
            utkface,
            [],
            default_threshold=dflt,
            min_age=min_age,
            min_group_identities=min_groupsize,
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
                seed=seed,
                max_identities=max_identities,
                min_group_identities=min_groupsize,
            )
            prov["demographics (FNMR)"] = f"{lfw} with {', '.join(map(str, lfw_labels))}"
        _finish(ctx, ident, demo, prov, dflt, as_json, out)
    except OpenLFRError as exc:
        _fail(exc)


@eval_app.command("expected-alerts")
def expected_alerts(
    report: Path = typer.Option(..., "--report", help="A model evaluation report (JSON)."),
    faces: int = typer.Option(..., "--faces", min=0, help="Faces expected to pass the cameras."),
    watchlist_size: int = typer.Option(..., "--watchlist-size", min=1),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Default: the report's recommended threshold."
    ),
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


def register(app: typer.Typer) -> None:
    """Add `openlfr eval ...` to the root app."""
    app.add_typer(eval_app, name="eval")
