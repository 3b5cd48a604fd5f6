"""Evaluation datasets: folder-per-identity trees, flat folders, and the labels that come with them.

Labels (gender, race, age) come only from the dataset itself, from its file names or its label
files; OpenLFR never infers a demographic attribute from a face.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openlfr.errors import DatasetError
from openlfr.vision.imageio import IMAGE_SUFFIXES


@dataclass(frozen=True, slots=True)
class ImageRecord:
    path: Path
    identity: str


@dataclass(frozen=True, slots=True)
class Dataset:
    """Images with identities; `identities` maps each identity to its record indices."""

    root: Path
    records: tuple[ImageRecord, ...]
    name: str = ""
    identities: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def from_records(cls, root: Path, records: Sequence[ImageRecord], name: str = "") -> Dataset:
        ids: dict[str, list[int]] = {}
        for i, r in enumerate(records):
            ids.setdefault(r.identity, []).append(i)
        return cls(root, tuple(records), name or root.name, ids)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def paths(self) -> list[Path]:
        return [r.path for r in self.records]

    def summary(self) -> dict[str, int]:
        sizes = [len(v) for v in self.identities.values()]
        return {
            "images": len(self.records),
            "identities": len(self.identities),
            "identities_with_2plus_images": sum(1 for s in sizes if s >= 2),
            "identities_with_1_image": sum(1 for s in sizes if s == 1),
        }


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _require_dir(root: Path) -> Path:
    root = Path(root)
    if not root.exists():
        raise DatasetError("dataset folder does not exist", source=str(root))
    if not root.is_dir():
        raise DatasetError("dataset path is not a folder", source=str(root))
    return root


def scan_identity_folders(root: Path, name: str = "") -> Dataset:
    """A folder per identity, images inside (LFW, ORL). Subfolders without images are skipped."""
    root = _require_dir(root)
    records: list[ImageRecord] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        records.extend(ImageRecord(f, sub.name) for f in _image_files(sub))
    if not records:
        raise DatasetError(
            "no images found: expected one subfolder per identity with image files inside",
            source=str(root),
        )
    return Dataset.from_records(root, records, name)


def scan_flat(root: Path, name: str = "") -> Dataset:
    """A flat folder where every image is a different person (UTKFace): identity = file name."""
    root = _require_dir(root)
    files = _image_files(root)
    if not files:
        raise DatasetError("no image files found in the folder", source=str(root))
    return Dataset.from_records(root, [ImageRecord(f, f.name) for f in files], name)


def scan_any(root: Path, name: str = "") -> Dataset:
    """Folder-per-identity if the folder has subfolders with images, else flat."""
    root = _require_dir(root)
    if any(p.is_dir() for p in root.iterdir()):
        return scan_identity_folders(root, name)
    return scan_flat(root, name)


# --- labels ---------------------------------------------------------------------------------

UTK_GENDERS = {0: "male", 1: "female"}
UTK_RACES = {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Other"}
_UTK_RE = re.compile(r"^(\d{1,3})_([01])_([0-4])_")


@dataclass(frozen=True, slots=True)
class Labels:
    """Per-image attributes (e.g. {"gender": "female", "race": "Black", "age": "34"})."""

    by_image: dict[str, dict[str, str]]
    source: str
    problems: tuple[str, ...] = ()

    def attribute_names(self) -> list[str]:
        names: set[str] = set()
        for attrs in self.by_image.values():
            names.update(attrs)
        return sorted(names)


def parse_utkface_name(filename: str) -> dict[str, str]:
    """AGE_GENDER_RACE_DATE.jpg -> {"age", "gender", "race"}; DatasetError if malformed."""
    m = _UTK_RE.match(filename)
    if not m:
        raise DatasetError("file name is not AGE_GENDER_RACE_DATE.jpg", source=filename)
    age, g, r = int(m.group(1)), int(m.group(2)), int(m.group(3))
    return {"age": str(age), "gender": UTK_GENDERS[g], "race": UTK_RACES[r]}


def utkface_labels(dataset: Dataset) -> Labels:
    by_image: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for r in dataset.records:
        try:
            by_image[r.path.name] = parse_utkface_name(r.path.name)
        except DatasetError as exc:
            problems.append(str(exc))
    if not by_image:
        raise DatasetError(
            "no file name carries UTKFace labels (AGE_GENDER_RACE_DATE.jpg)",
            source=str(dataset.root),
        )
    return Labels(by_image, "UTKFace file names", tuple(problems))


def _read_lines(path: Path) -> list[str]:
    try:
        return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read labels file ({exc})", source=str(path)) from exc


def lfw_labels(files: Iterable[Path], dataset: Dataset) -> Labels:
    """LFW labels: `female_names.txt` / `male_names.txt` (one image file name a line) give gender;
    a JSON object identity -> ancestry (usc-sail) gives race. A folder is expanded to its files.

    Label entries that name no image of the dataset, and images without a label, are counted in
    `problems`; if no image at all gets a label, the labels do not belong to this dataset.
    """
    expanded: list[Path] = []
    for f in files:
        f = Path(f)
        if f.is_dir():
            expanded.extend(sorted(p for p in f.iterdir() if p.suffix in {".txt", ".json"}))
        elif f.exists():
            expanded.append(f)
        else:
            raise DatasetError("labels file does not exist", source=str(f))
    if not expanded:
        raise DatasetError("no labels files given")
    names = {r.path.name: r for r in dataset.records}
    ids = set(dataset.identities)
    by_image: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for f in expanded:
        unknown = 0
        if f.suffix == ".json":
            try:
                raw = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DatasetError(f"not a JSON labels file ({exc})", source=str(f)) from exc
            if not isinstance(raw, dict):
                raise DatasetError("expected a JSON object identity -> label", source=str(f))
            for ident, value in raw.items():
                if ident not in ids:
                    unknown += 1
                    continue
                # Mixed ancestry ("african,caucasian") is kept as its own label rather than
                # forced into one group.
                for i in dataset.identities[ident]:
                    by_image.setdefault(dataset.records[i].path.name, {})["race"] = str(value)
        else:
            stem = f.stem.lower()
            if stem.startswith("female"):
                gender = "female"
            elif stem.startswith("male"):
                gender = "male"
            else:
                raise DatasetError(
                    "unknown labels file: expected female_names.txt, male_names.txt or a .json",
                    source=str(f),
                )
            for line in _read_lines(f):
                if line not in names:
                    unknown += 1
                    continue
                by_image.setdefault(line, {})["gender"] = gender
        if unknown:
            problems.append(f"{f.name}: {unknown} entries name no image/identity in {dataset.root}")
    if not by_image:
        raise DatasetError(
            f"the labels match none of the {len(dataset)} images: wrong labels for this dataset?",
            source=", ".join(str(f) for f in expanded),
        )
    unlabelled = sum(1 for r in dataset.records if r.path.name not in by_image)
    if unlabelled:
        problems.append(f"{unlabelled} of {len(dataset)} images have no label")
    return Labels(by_image, ", ".join(f.name for f in expanded), tuple(problems))
