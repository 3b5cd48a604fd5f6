"""Identity review: known label errors of the evaluation datasets, fixed before scoring.

LFW files some people under two names (Sepp_Blatter and Joseph_Blatter) and some photos under
two people; UTKFace, crawled from the web, holds photos of LFW's public figures. Left in, a
correct match of Judi Dench to Judi Dench counts as a false alert, and at FPIR 1e-3 a handful of
such searches set the certified threshold on their own. The review file lists what a person
decided after looking at each candidate (every UTKFace image and every LFW identity pair whose
best image-to-image score is high; the file header says how high): `merge` two folders into one
identity, `exclude_image` a file, or `keep` a pair as different people (twins, siblings, and
pairs that could not be told for certain stay as non-mated searches). The report states the
review it applied and its digest; `--identity-review none` runs without it, so a reader can
compare the figures with and without it.

Each row also says who decided it and on what basis (`decided_by`, `basis`): candidates are
found by score, so a row states honestly whether the score was known when the images were
looked at. Files written before these columns existed read with both empty, and the report
counts such unattributed decisions.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlfr.errors import DatasetError
from openlfr.eval.dataset import Dataset, ImageRecord

PACKAGED = Path(__file__).with_name("reviews") / "lfw_utkface.csv"
ACTIONS = ("merge", "exclude_image", "keep")


@dataclass(frozen=True, slots=True)
class ReviewRow:
    dataset: str  # "lfw" (folder-per-identity) or "utkface" (flat)
    action: str
    item: str  # folder, or file (folder/file for LFW, file name for UTKFace)
    other: str
    reason: str
    decided_by: str = ""  # who, and when, e.g. "openlfr-dev, 2026-12-04"
    basis: str = ""  # what the decision rested on (images viewed, whether the score was known)


@dataclass(frozen=True, slots=True)
class IdentityReview:
    source: str
    digest: str
    rows: tuple[ReviewRow, ...]

    def of(self, dataset: str, action: str) -> list[ReviewRow]:
        return [r for r in self.rows if r.dataset == dataset and r.action == action]


def load_review(path: Path | None = None) -> IdentityReview:
    p = path or PACKAGED
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise DatasetError(f"cannot read the identity review ({e.strerror})", source=p.name) from e
    body = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    rows = []
    for n, rec in enumerate(csv.DictReader(body), start=2):
        if rec.get("action") not in ACTIONS or not rec.get("item") or not rec.get("dataset"):
            raise DatasetError(
                f"identity review line {n}: needs dataset, action, item", source=p.name
            )
        rows.append(
            ReviewRow(
                rec["dataset"],
                rec["action"],
                rec["item"],
                *(rec.get(k) or "" for k in ("other", "reason", "decided_by", "basis")),
            )
        )
    digest = hashlib.sha256(text.encode()).hexdigest()
    return IdentityReview(p.name, digest, tuple(rows))


def _key(root: Path, path: Path, flat: bool) -> str:
    rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    return rel.name if flat else "/".join(rel.parts[-2:])


def apply_review(
    ds: Dataset, review: IdentityReview, dataset: str, *, flat: bool = False
) -> tuple[Dataset, dict[str, Any]]:
    """The dataset with the review's merges and exclusions for `dataset` applied, and what
    changed (rows naming files or folders this copy does not hold are counted, not errors)."""
    merge = {r.item: r.other for r in review.of(dataset, "merge")}
    drop = {r.item for r in review.of(dataset, "exclude_image")}
    present = set(ds.identities)
    out: list[ImageRecord] = []
    dropped = 0
    merged_into: set[str] = set()
    for rec in ds.records:
        if _key(ds.root, rec.path, flat) in drop:
            dropped += 1
            continue
        ident = rec.identity
        if not flat and ident in merge and merge[ident] in present:
            merged_into.add(ident)
            ident = merge[ident]
        out.append(ImageRecord(rec.path, ident))
    summary = {
        "review": review.source,
        "sha256": review.digest,
        "images_left_out": dropped,
        "identities_merged": len(merged_into),
        "kept_as_different_people": len(review.of(dataset, "keep")),
        "rows_not_in_this_copy": _absent(ds, review, dataset, flat, present),
        "decisions_without_decider_or_basis": sum(
            1 for r in review.rows if r.dataset == dataset and not (r.decided_by and r.basis)
        ),
    }
    return Dataset.from_records(ds.root, out, ds.name), summary


def _absent(
    ds: Dataset, review: IdentityReview, dataset: str, flat: bool, present: Iterable[str]
) -> int:
    have = set(present)
    files = {_key(ds.root, r.path, flat) for r in ds.records}
    n = 0
    for r in review.rows:
        if r.dataset != dataset or r.action == "keep":
            continue
        n += (r.item not in files) if r.action == "exclude_image" else (r.item not in have)
    return n
