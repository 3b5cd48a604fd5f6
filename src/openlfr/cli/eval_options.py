"""Option types shared by the `openlfr eval ...` commands (one definition each, as `Annotated`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Data = Annotated[
    Path,
    typer.Option(
        "--data",
        help="Dataset folder (one subfolder per identity, or flat with one person per image).",
    ),
]
Sizes = Annotated[str, typer.Option("--watchlist-sizes", help="Comma-separated watchlist sizes.")]
Cache = Annotated[
    Path | None,
    typer.Option("--cache", help="Template cache folder (default: OpenLFR data dir / cache)."),
]
NoCache = Annotated[
    bool, typer.Option("--no-cache", help="Embed everything afresh and keep nothing.")
]
Engine = Annotated[str | None, typer.Option("--engine", help="sface (default), dlib or onnx.")]
Json = Annotated[bool, typer.Option("--json", help="Print the report JSON to stdout.")]
Report = Annotated[Path | None, typer.Option("--report", help="Write OUT.html and OUT.json.")]
Seed = Annotated[
    int, typer.Option("--seed", help="Seed of watchlist selection and calibration split.")
]
MaxIdentities = Annotated[
    int | None,
    typer.Option(
        "--max-identities", help="Use a seeded subset of this many identities (quick runs)."
    ),
]
PolicyFpir = Annotated[
    float,
    typer.Option("--policy-fpir", help="FPIR the calibrated threshold must certify (upper bound)."),
]
PolicySize = Annotated[
    int, typer.Option("--policy-size", help="Watchlist size the policy FPIR applies to.")
]
Threshold = Annotated[
    float | None,
    typer.Option("--threshold", help="Operating threshold to report at (default: the engine's)."),
]
MinAge = Annotated[
    int | None,
    typer.Option("--min-age", help="Adults only by default (UTKFace has many children)."),
]
MinGroup = Annotated[
    int,
    typer.Option(
        "--min-group-identities",
        min=1,
        help="Leave out groups of fewer people (too few pairs for a meaningful rate).",
    ),
]
EnrolPhotos = Annotated[
    str,
    typer.Option(
        "--enrol-photos",
        help="Enrolment photos per listed person, comma-separated (e.g. 1,2): one "
        "configuration per value.",
    ),
]
ProbeShots = Annotated[
    str,
    typer.Option(
        "--probe-shots",
        help="Probe shots fused per search, comma-separated (e.g. 1,3).",
    ),
]
TemplateRule = Annotated[
    str,
    typer.Option(
        "--template-rule",
        help="How an entry's photos combine: auto (measure mean, max, both; pick), mean, max, "
        "both.",
    ),
]
Factor = Annotated[
    float,
    typer.Option(
        "--fairness-factor",
        min=1.0,
        help="Effect-size criterion: no group's FMR above this multiple of the pooled FMR "
        "with 95% confidence.",
    ),
]
NoZnorm = Annotated[
    bool, typer.Option("--no-znorm", help="Skip the Z-norm comparison (raw scores only).")
]
Labels = Annotated[
    list[Path],
    typer.Option(
        "--labels",
        help="Labels files (LFW: female_names.txt, male_names.txt, race JSON; or their folder). "
        "Omit for UTKFace, whose labels are in the file names.",
    ),
]


def int_list(text: str, what: str = "values") -> list[int]:
    try:
        vals = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"not a comma-separated list of integers: {text!r}") from None
    if not vals or any(s <= 0 for s in vals):
        raise typer.BadParameter(f"{what} must be positive")
    return vals


def rule_option(text: str) -> str | None:
    if text not in ("auto", "mean", "max", "both"):
        raise typer.BadParameter("--template-rule must be auto, mean, max or both")
    return None if text == "auto" else text


IdentityReview = Annotated[
    str,
    typer.Option(
        "--identity-review",
        help="Label fixes applied before scoring (LFW aliases merged, mislabelled photos and "
        "UTKFace photos of LFW people left out): 'packaged' (eval/reviews/lfw_utkface.csv), a CSV "
        "of the same form, or 'none'.",
    ),
]


DevShare = Annotated[
    float,
    typer.Option(
        "--dev-share",
        min=0.0,
        max=0.9,
        help="Share of the people (seeded, person-disjoint) kept as the development part on "
        "which choices are made; figures come from the rest. 0: no split (choices and figures "
        "on the same people).",
    ),
]
