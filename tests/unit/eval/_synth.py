"""Synthetic embeddings for evaluation logic tests: identities are random unit centres, images
are noisy copies, so genuine scores are high and impostor scores near zero."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openlfr.eval.dataset import Dataset, ImageRecord
from openlfr.vision.contract import l2_normalise


def synthetic(
    images_per_identity: list[int], dim: int = 32, noise: float = 0.35, seed: int = 1
) -> tuple[Dataset, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    records: list[ImageRecord] = []
    rows: list[np.ndarray] = []
    for i, n in enumerate(images_per_identity):
        centre = rng.standard_normal(dim)
        centre /= np.linalg.norm(centre)
        for j in range(n):
            records.append(
                ImageRecord(Path(f"/synthetic/id{i:04d}/id{i:04d}_{j:04d}.jpg"), f"id{i:04d}")
            )
            rows.append(centre + noise * rng.standard_normal(dim) / np.sqrt(dim))
    vectors = l2_normalise(np.array(rows, np.float32))
    ds = Dataset.from_records(Path("/synthetic"), records, "synthetic")
    return ds, vectors, np.ones(len(records), bool)
