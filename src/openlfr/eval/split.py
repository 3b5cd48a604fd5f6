"""A person-disjoint development / test split, fixed by seed.

Every choice an evaluation makes (template rule, Z-norm, shot policy) is made on the development
part; every figure the report states is measured on the test part at the threshold a deployment
would run (thresholds follow stated rules and are calibrated on the test part's non-mated
people, which is what their tolerance-limit guarantee is about). A person is in one part only, so
a choice can never have been fitted to the people its figure is measured on.

The split is a seeded hash of the identity: the same person lands in the same part in every run
and on every dataset that names them the same way (an identity review that merges two names
merges them before the split, so both names land together).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from openlfr.errors import DatasetError
from openlfr.eval.dataset import Dataset

Part = Literal["dev", "test"]
DEFAULT_DEV_SHARE = 0.3


def in_dev(identity: str, seed: int, dev_share: float) -> bool:
    h = hashlib.sha256(f"devtest{seed}:{identity}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64 < dev_share


@dataclass(frozen=True, slots=True)
class PersonSplit:
    """Which part of the people an evaluation uses; dev_share 0 means no split."""

    seed: int = 0
    dev_share: float = DEFAULT_DEV_SHARE

    def __post_init__(self) -> None:
        if not 0.0 <= self.dev_share < 1.0:
            raise DatasetError(f"the development share must be in [0, 1), got {self.dev_share}")

    @property
    def active(self) -> bool:
        return self.dev_share > 0

    def part(self, ds: Dataset, which: Part) -> Dataset:
        if not self.active:
            if which == "dev":
                raise DatasetError("no development part: the split is off (dev share 0)")
            return ds
        want = which == "dev"
        keep = [r for r in ds.records if in_dev(r.identity, self.seed, self.dev_share) == want]
        if not keep:
            raise DatasetError(f"the {which} part of {ds.name} is empty", source=str(ds.root))
        return Dataset.from_records(ds.root, keep, ds.name)

    def describe(self, parts: dict[str, dict[str, Dataset]] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "person_disjoint": True,
            "seed": self.seed,
            "dev_share": self.dev_share,
            "rule": "sha256('devtest<seed>:<identity>') below dev_share -> development part",
            "choices_on": "development part" if self.active else "the same images (no split)",
            "figures_on": "test part" if self.active else "the same images (no split)",
        }
        if parts:
            out["datasets"] = {
                name: {p: d.summary() for p, d in ps.items()} for name, ps in parts.items()
            }
        return out
