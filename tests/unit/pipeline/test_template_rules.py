"""How an entry's several photos become searched rows: mean, best-of, or both."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.errors import DatasetError
from openlfr.matching.watchlist import Watchlist, combine_templates
from openlfr.vision.contract import l2_normalise
from openlfr.vision.mock import MOCK_CONTRACT


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    return l2_normalise(rng.standard_normal((n, MOCK_CONTRACT.dim)).astype(np.float32))


def test_mean_rule_is_one_renormalised_row() -> None:
    v = unit(np.random.default_rng(0), 3)
    out = combine_templates(v, "mean")
    assert out.shape == (1, MOCK_CONTRACT.dim)
    assert np.isclose(np.linalg.norm(out[0]), 1.0)
    assert np.allclose(out[0], l2_normalise(v.mean(axis=0)), atol=1e-6)


def test_max_keeps_every_photo_and_both_adds_the_mean() -> None:
    v = unit(np.random.default_rng(1), 2)
    assert combine_templates(v, "max").shape == (2, MOCK_CONTRACT.dim)
    both = combine_templates(v, "both")
    assert both.shape == (3, MOCK_CONTRACT.dim)
    assert np.allclose(both[0], combine_templates(v, "mean")[0])
    # One photo: every rule gives that photo.
    for rule in ("mean", "max", "both"):
        assert combine_templates(v[:1], rule).shape == (1, MOCK_CONTRACT.dim)  # type: ignore[arg-type]


def test_bad_input_is_a_typed_error() -> None:
    with pytest.raises(DatasetError):
        combine_templates(np.zeros((0, MOCK_CONTRACT.dim), np.float32))
    with pytest.raises(DatasetError):
        combine_templates(unit(np.random.default_rng(2), 2), "median")  # type: ignore[arg-type]


def test_from_entries_searches_per_subject_under_each_rule() -> None:
    rng = np.random.default_rng(3)
    a, b = unit(rng, 2), unit(rng, 1)
    probe = a[1]  # exactly one of a's photos
    for rule, rows in (("mean", 2), ("max", 3), ("both", 4)):
        wl = Watchlist.from_entries([("a", a), ("b", b)], MOCK_CONTRACT, rule)  # type: ignore[arg-type]
        assert wl.size == rows and wl.subject_ids == ["a", "b"]
        top = wl.search(probe)[0][0]
        assert top.subject_id == "a"
        # max (and both) find the identical photo at 1.0; the mean scores lower.
        assert (top.score > 0.999) == (rule != "mean")
