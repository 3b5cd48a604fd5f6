from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.errors import ContractMismatchError, DatasetError
from openlfr.matching import Watchlist
from openlfr.vision.contract import EmbeddingContract, Template, l2_normalise
from openlfr.vision.mock import MOCK_CONTRACT

from .conftest import BLUE, RED, scene


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    return l2_normalise(rng.standard_normal((n, MOCK_CONTRACT.dim)).astype(np.float32))


def test_search_finds_the_subject_and_takes_the_best_row_per_subject() -> None:
    rng = np.random.default_rng(1)
    v = unit(rng, 4)
    wl = Watchlist(["b", "a", "b", "c"], v, MOCK_CONTRACT)
    assert wl.subject_ids == ["a", "b", "c"] and wl.size == 4 and len(wl) == 3
    res = wl.search(v[2], top_k=2)
    assert res[0][0].subject_id == "b" and res[0][0].score == pytest.approx(1.0, abs=1e-5)
    scores = wl.scores(v)
    assert scores.shape == (4, 3)
    # Row 0 and row 2 are both "b": each scores 1.0 against "b".
    assert scores[0, 1] == pytest.approx(1.0, abs=1e-5) and scores[2, 1] == pytest.approx(
        1.0, abs=1e-5
    )


def test_vectors_are_renormalised() -> None:
    v = np.zeros((1, MOCK_CONTRACT.dim), np.float32)
    v[0, 0] = 3.0
    wl = Watchlist(["a"], v, MOCK_CONTRACT)
    assert wl.search(v[0] / 3.0)[0][0].score == pytest.approx(1.0)


def test_bad_arrays_raise_typed_errors() -> None:
    rng = np.random.default_rng(2)
    with pytest.raises(DatasetError):
        Watchlist(["a", "b"], unit(rng, 3), MOCK_CONTRACT)
    with pytest.raises(DatasetError):
        Watchlist(["a"], np.ones((1, 5), np.float32), MOCK_CONTRACT)
    bad = unit(rng, 1)
    bad[0, 0] = np.nan
    with pytest.raises(DatasetError):
        Watchlist(["a"], bad, MOCK_CONTRACT)
    wl = Watchlist(["a"], unit(rng, 1), MOCK_CONTRACT)
    with pytest.raises(DatasetError):
        wl.scores(np.ones((1, 5), np.float32))


def test_a_template_of_another_contract_is_refused() -> None:
    rng = np.random.default_rng(3)
    wl = Watchlist(["a"], unit(rng, 1), MOCK_CONTRACT)
    other = EmbeddingContract("other/model", "1", MOCK_CONTRACT.dim)
    with pytest.raises(ContractMismatchError):
        wl.search(Template(unit(rng, 1)[0], other))


def test_empty_watchlist_searches_to_nothing() -> None:
    wl = Watchlist([], np.zeros((0, MOCK_CONTRACT.dim), np.float32), MOCK_CONTRACT)
    assert len(wl) == 0
    assert wl.search(unit(np.random.default_rng(4), 2)) == [[], []]


def test_from_folder_enrols_good_photos_and_reports_bad_ones(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "alice").mkdir()
    cv2.imwrite(str(tmp_path / "alice" / "1.png"), scene([(100, 100, RED)]))
    (tmp_path / "bob").mkdir()
    cv2.imwrite(str(tmp_path / "bob" / "two.png"), scene([(10, 10, BLUE), (200, 150, RED)]))
    (tmp_path / "bob" / "broken.jpg").write_bytes(b"not a jpeg at all")
    (tmp_path / "carol").mkdir()
    wl, issues = Watchlist.from_folder(tmp_path, engine)
    assert wl.subject_ids == ["alice"]
    codes = {(i.subject_id, i.code) for i in issues}
    assert codes == {
        ("bob", "multiple_faces"),
        ("bob", "image_decode_error"),
        ("carol", "no_photos"),
    }


def test_from_folder_missing_dir(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatasetError):
        Watchlist.from_folder(tmp_path / "nope", engine)
