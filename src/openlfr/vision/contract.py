"""The embedding contract: what a template's numbers mean.

A template is only comparable with another made by the same model, the same version and the same
preprocessing (chip size, alignment, pixel normalisation). Every template carries its contract,
and comparing across contracts raises instead of returning a meaningless score.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from openlfr.dicts import pick
from openlfr.errors import ContractMismatchError

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class EmbeddingContract:
    model_id: str
    model_version: str
    dim: int
    # Canonical description of the preprocessing; hashed, so that any change to chip size,
    # alignment template, colour order or normalisation gives a different contract.
    preprocessing: tuple[tuple[str, Any], ...] = field(default=())
    metric: str = "cosine"

    @property
    def preprocessing_hash(self) -> str:
        canon = json.dumps(dict(self.preprocessing), sort_keys=True, default=str)
        return hashlib.sha256(canon.encode()).hexdigest()

    @property
    def id(self) -> str:
        return f"{self.model_id}@{self.model_version}#{self.preprocessing_hash[:12]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            **pick(self, "model_id", "model_version", "dim", "metric"),
            "preprocessing": dict(self.preprocessing),
            "preprocessing_hash": self.preprocessing_hash,
            "id": self.id,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EmbeddingContract:
        return cls(
            model_id=d["model_id"],
            model_version=d["model_version"],
            dim=int(d["dim"]),
            preprocessing=tuple(sorted(d.get("preprocessing", {}).items())),
            metric=d.get("metric", "cosine"),
        )

    def require_same(self, other: EmbeddingContract) -> None:
        if self.id != other.id or self.dim != other.dim:
            raise ContractMismatchError(
                f"templates of contract {other.id} cannot be compared with {self.id}"
            )


@dataclass(frozen=True, slots=True)
class Template:
    """One L2-normalised embedding and the contract it was made under."""

    vector: FloatArray
    contract: EmbeddingContract

    def __post_init__(self) -> None:
        if self.vector.shape != (self.contract.dim,):
            raise ValueError(
                f"template has shape {self.vector.shape}, contract {self.contract.id} "
                f"says ({self.contract.dim},)"
            )

    def similarity(self, other: Template) -> float:
        self.contract.require_same(other.contract)
        return float(np.dot(self.vector, other.vector))

    def digest(self) -> str:
        """Stable hash of the template (for audit stubs): never the template itself."""
        h = hashlib.sha256(self.contract.id.encode())
        h.update(np.ascontiguousarray(self.vector, dtype=np.float32).tobytes())
        return h.hexdigest()


def l2_normalise(x: FloatArray) -> FloatArray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def fuse(templates: list[Template]) -> Template:
    """Mean of several templates of one contract, re-normalised (multi-shot probes/enrolment)."""
    if not templates:
        raise ValueError("fuse() needs at least one template")
    c = templates[0].contract
    for t in templates[1:]:
        c.require_same(t.contract)
    mean = np.mean(np.stack([t.vector for t in templates]), axis=0)
    return Template(l2_normalise(mean.astype(np.float32)), c)
