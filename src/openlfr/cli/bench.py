"""`openlfr bench ...`: accuracy and speed benchmarks on public data."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from openlfr.config import get_settings
from openlfr.errors import OpenLFRError

bench_app = typer.Typer(help="Benchmarks on public data.", no_args_is_help=True)


@bench_app.command("lfw")
def lfw(
    data: Path = typer.Option(..., "--data", help="LFW folder with pairs.txt and images/."),
    folds: int = typer.Option(10, "--folds", min=1, max=10, help="Evaluate the first N folds."),
    engine: str = typer.Option(None, "--engine", help="sface (default), dlib or onnx."),
    roc: Path = typer.Option(
        Path("lfw_roc.png"), "--roc", help="Where to write the ROC plot (PNG)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object instead of a summary."
    ),
    failures: bool = typer.Option(False, "--failures", help="List images without a usable face."),
) -> None:
    """LFW 10-fold verification: accuracy, TAR at FAR 1e-3, threshold, throughput, ROC."""
    from openlfr.eval.lfw import run_lfw
    from openlfr.vision import build_engine

    err = Console(stderr=True)
    try:
        eng = build_engine(get_settings().vision, engine=engine)
        with Progress(
            TextColumn("embedding LFW images"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("lfw", total=None)
            result = run_lfw(
                eng,
                data,
                folds=folds,
                roc_png=roc,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except OpenLFRError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    d = result.to_dict()
    if as_json:
        if not failures:
            d.pop("failures")
        typer.echo(json.dumps(d))
        return
    out = Console()
    out.print(f"engine            {d['engine']}  ({d['contract']['id']})")
    out.print(f"folds / pairs     {d['folds']} / {d['pairs']}")
    out.print(f"accuracy          {100 * d['accuracy']:.2f}% ± {100 * d['accuracy_std']:.2f}")
    out.print(f"threshold         {d['threshold']:.4f}  ({d['threshold_source']})")
    out.print(
        f"TAR @ FAR 1e-3    {100 * d['tar_at_far_1e-3']:.2f}%  "
        f"(threshold {d['threshold_at_far_1e-3']:.4f}, {d['impostor_pairs']} impostor pairs)"
    )
    out.print(
        f"images            {d['images']} ({d['images_failed']} without a usable face; "
        f"{d['pairs_missing_face']} pairs affected)"
    )
    out.print(
        f"throughput        {d['faces_per_second']:.1f} faces/s "
        f"({d['ms_per_image']:.1f} ms per image, end to end)"
    )
    out.print(f"wall time         {d['wall_seconds']:.1f} s")
    out.print(f"ROC               {d['roc_png']}")
    if failures:
        for name, why in sorted(result.failures.items()):
            out.print(f"  {name}: {why}")


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
