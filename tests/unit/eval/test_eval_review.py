"""The identity review: label fixes applied to evaluation datasets before scoring."""

from __future__ import annotations

from pathlib import Path

import pytest

from openlfr.errors import DatasetError
from openlfr.eval.dataset import Dataset, ImageRecord
from openlfr.eval.review import PACKAGED, apply_review, load_review

REVIEW = """# a comment line
dataset,action,item,other,best_score,reason
lfw,merge,Sepp_Blatter,Joseph_Blatter,0.74,one man
lfw,exclude_image,Raul_Ibanez/Raul_Ibanez_0001.jpg,Carlos_Beltran/Carlos_Beltran_0001.jpg,0.99,dup
lfw,keep,Tia_Mowry,Tamara_Mowry,0.68,twins
lfw,merge,Not_Here,Joseph_Blatter,0.7,absent
utkface,exclude_image,57_0_0_x.jpg,Pierce_Brosnan,0.76,public figure
"""


def _lfw(root: Path) -> Dataset:
    recs = [
        ImageRecord(root / "Joseph_Blatter" / "Joseph_Blatter_0001.jpg", "Joseph_Blatter"),
        ImageRecord(root / "Sepp_Blatter" / "Sepp_Blatter_0001.jpg", "Sepp_Blatter"),
        ImageRecord(root / "Raul_Ibanez" / "Raul_Ibanez_0001.jpg", "Raul_Ibanez"),
        ImageRecord(root / "Raul_Ibanez" / "Raul_Ibanez_0002.jpg", "Raul_Ibanez"),
        ImageRecord(root / "Tia_Mowry" / "Tia_Mowry_0001.jpg", "Tia_Mowry"),
        ImageRecord(root / "Tamara_Mowry" / "Tamara_Mowry_0001.jpg", "Tamara_Mowry"),
    ]
    return Dataset.from_records(root, recs, "lfw")


def test_merges_aliases_drops_listed_files_and_keeps_twins(tmp_path: Path) -> None:
    f = tmp_path / "review.csv"
    f.write_text(REVIEW)
    rev = load_review(f)
    fixed, summary = apply_review(_lfw(tmp_path / "lfw"), rev, "lfw")
    assert len(fixed.identities["Joseph_Blatter"]) == 2 and "Sepp_Blatter" not in fixed.identities
    assert [fixed.records[i].path.name for i in fixed.identities["Raul_Ibanez"]] == [
        "Raul_Ibanez_0002.jpg"
    ]
    assert "Tia_Mowry" in fixed.identities and "Tamara_Mowry" in fixed.identities
    assert summary["images_left_out"] == 1 and summary["identities_merged"] == 1
    assert summary["kept_as_different_people"] == 1 and summary["rows_not_in_this_copy"] == 1
    assert summary["sha256"] == rev.digest


def test_flat_datasets_take_only_their_own_rows(tmp_path: Path) -> None:
    f = tmp_path / "review.csv"
    f.write_text(REVIEW)
    root = tmp_path / "utk"
    recs = [ImageRecord(root / n, n) for n in ("57_0_0_x.jpg", "30_1_2_y.jpg")]
    fixed, summary = apply_review(
        Dataset.from_records(root, recs), load_review(f), "utkface", flat=True
    )
    assert [r.path.name for r in fixed.records] == ["30_1_2_y.jpg"]
    assert summary["images_left_out"] == 1 and summary["identities_merged"] == 0


def test_malformed_review_is_a_typed_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("dataset,action,item\nlfw,rename,X\n")
    with pytest.raises(DatasetError, match="line 2"):
        load_review(f)
    with pytest.raises(DatasetError, match="cannot read"):
        load_review(tmp_path / "missing.csv")


def test_packaged_review_is_well_formed_and_holds_no_image_data() -> None:
    rev = load_review(PACKAGED)
    kinds = {(r.dataset, r.action) for r in rev.rows}
    allowed = {("lfw", "merge"), ("lfw", "exclude_image"), ("lfw", "keep")}
    assert kinds <= allowed | {("utkface", "exclude_image"), ("utkface", "keep")}
    assert all(r.reason and r.basis for r in rev.rows)
    # A UTKFace copy left out as a duplicate of another keeps that other one in.
    gone = {r.item for r in rev.of("utkface", "exclude_image")}
    assert not gone & {r.other for r in rev.of("utkface", "exclude_image")}
    # Names only: no row carries anything longer than a file name and a reason.
    assert max(len(r.item) for r in rev.rows) < 120
    merged = {r.item for r in rev.of("lfw", "merge")}
    assert not merged & {r.other for r in rev.of("lfw", "merge")}  # no chains of merges


NEW_COLUMNS = """dataset,action,item,other,best_score,reason,decided_by,basis
lfw,exclude_image,A/A_0001.jpg,B,,shows B,"dev, 2026-12-04",images viewed side by side
utkface,keep,3_1_2_x.jpg,Princess_Aiko,0.65,a toddler,"dev, 2026-12-04",images viewed
utkface,exclude_image,57_0_0_x.jpg,Pierce_Brosnan,0.76,public figure,,
"""


def test_rows_say_who_decided_and_on_what_and_old_files_still_read(tmp_path: Path) -> None:
    new, old = tmp_path / "new.csv", tmp_path / "old.csv"
    new.write_text(NEW_COLUMNS)
    old.write_text(REVIEW)
    rev = load_review(new)
    assert rev.rows[0].decided_by == "dev, 2026-12-04"
    assert rev.rows[0].basis == "images viewed side by side"
    assert all(r.decided_by == r.basis == "" for r in load_review(old).rows)
    root = tmp_path / "utk"
    recs = [ImageRecord(root / n, n) for n in ("57_0_0_x.jpg", "3_1_2_x.jpg")]
    fixed, summary = apply_review(Dataset.from_records(root, recs), rev, "utkface", flat=True)
    # A `keep` row leaves its image in (the Princess_Aiko toddlers are non-mated searches).
    assert [r.path.name for r in fixed.records] == ["3_1_2_x.jpg"]
    assert summary["kept_as_different_people"] == 1
    assert summary["decisions_without_decider_or_basis"] == 1
