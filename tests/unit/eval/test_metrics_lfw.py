from pathlib import Path

import numpy as np
import pytest

from openlfr.errors import DatasetError
from openlfr.eval.lfw import read_pairs
from openlfr.eval.metrics import (
    accuracy,
    best_accuracy_threshold,
    roc,
    tar_at_far,
    threshold_at_far,
)


def test_threshold_at_far_allows_at_most_the_rate() -> None:
    imp = np.linspace(0, 1, 1000)
    t = threshold_at_far(imp, 1e-2)
    assert np.mean(imp >= t) <= 1e-2
    assert np.mean(imp >= t) >= 0.009


def test_tar_at_far_and_accuracy() -> None:
    gen = np.array([0.9, 0.8, 0.7, 0.2])
    imp = np.array([0.1, 0.3, 0.75, 0.0])
    tar, t = tar_at_far(gen, imp, 0.0)
    assert t > 0.75 and tar == 0.5
    th = best_accuracy_threshold(gen, imp)
    assert accuracy(gen, imp, th) == pytest.approx(6 / 8)


def test_roc_is_monotone() -> None:
    rng = np.random.default_rng(1)
    r = roc(rng.normal(1, 1, 500), rng.normal(0, 1, 500))
    assert np.all(np.diff(r.far) >= 0) and np.all(np.diff(r.tar) >= 0)


def test_read_pairs(tmp_path: Path) -> None:
    p = tmp_path / "pairs.txt"
    p.write_text("2\t1\nA\t1\t2\nA\t1\tB\t3\nC\t2\t4\nC\t1\tD\t1\n")
    folds = read_pairs(p)
    assert len(folds) == 2 and folds[0][0].a == "A/A_0001.jpg" and folds[0][0].same
    assert folds[0][1].b == "B/B_0003.jpg" and not folds[0][1].same


def test_read_pairs_errors(tmp_path: Path) -> None:
    p = tmp_path / "pairs.txt"
    p.write_text("garbage")
    with pytest.raises(DatasetError, match="not an LFW pairs file"):
        read_pairs(p)
    p.write_text("1\t2\nA\t1\t2\n")
    with pytest.raises(DatasetError, match="expected 4 pair lines"):
        read_pairs(p)
