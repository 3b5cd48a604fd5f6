"""Face selection and error rules, on the mock engine (no models)."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.errors import (
    FaceTooSmallError,
    ModelDigestError,
    ModelError,
    MultipleFacesError,
    NoFaceError,
)
from openlfr.vision import models
from openlfr.vision.align import ARCFACE_112, ArcFaceAligner, umeyama_similarity
from openlfr.vision.mock import mock_engine
from openlfr.vision.types import Detection


def scene(*squares: tuple[int, int, int, tuple[int, int, int]]) -> np.ndarray:
    img = np.full((200, 300, 3), 128, np.uint8)
    for x, y, s, colour in squares:
        cv2.rectangle(img, (x, y), (x + s, y + s), colour, -1)
    return img


def test_no_face() -> None:
    with pytest.raises(NoFaceError, match="x.png: no face"):
        mock_engine().face_from_image(scene(), source="x.png")


def test_several_faces_where_one_expected() -> None:
    img = scene((10, 10, 40, (0, 0, 255)), (150, 50, 40, (255, 0, 0)))
    with pytest.raises(MultipleFacesError, match="2 faces"):
        mock_engine().face_from_image(img, source="x.png")
    # LFW-style selection takes the face nearest the centre instead.
    r = mock_engine().face_from_image(img, select="central")
    assert r.detection.x1 == 150


def test_face_too_small() -> None:
    with pytest.raises(FaceTooSmallError, match="below the 30 px"):
        mock_engine(min_face_px=30).face_from_image(scene((10, 10, 12, (0, 0, 255))))


def test_same_colour_same_identity() -> None:
    e = mock_engine()
    a = e.face_from_image(scene((10, 10, 40, (0, 0, 255)))).template
    b = e.face_from_image(scene((100, 60, 50, (0, 0, 250)))).template
    c = e.face_from_image(scene((100, 60, 50, (255, 0, 0)))).template
    assert a.similarity(b) == pytest.approx(1.0)
    assert a.similarity(c) < 0.9


def test_umeyama_recovers_a_similarity_transform() -> None:
    angle, scale, t = 0.3, 1.7, np.array([5.0, -3.0])
    r = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = ARCFACE_112.astype(np.float64)
    dst = src @ r.T + t
    m = umeyama_similarity(src, dst)
    assert np.allclose(m[:, :2], r, atol=1e-4) and np.allclose(m[:, 2], t, atol=1e-3)


def test_aligner_puts_landmarks_on_the_template() -> None:
    img = np.zeros((300, 300, 3), np.uint8)
    lm = (ARCFACE_112 * 2 + 40).astype(np.float32)
    for x, y in lm:
        cv2.circle(img, (round(float(x)), round(float(y))), 2, (255, 255, 255), -1)
    chip = ArcFaceAligner(112).align(img, Detection(40, 40, 264, 264, 1.0, lm))
    assert chip.shape == (112, 112, 3)
    ys, xs = np.nonzero(chip[:, :, 0] > 100)
    assert (
        abs(xs.mean() - ARCFACE_112[:, 0].mean()) < 3
        and abs(ys.mean() - ARCFACE_112[:, 1].mean()) < 3
    )


def test_digest_mismatch_refuses(tmp_path: Path) -> None:
    p = tmp_path / "m.onnx"
    p.write_bytes(b"not the pinned model")
    with pytest.raises(ModelDigestError, match="refusing to load"):
        models.verify_digest(p, "0" * 64)
    with pytest.raises(ModelError, match="not found"):
        models.verify_digest(tmp_path / "nope.onnx", "0" * 64)


def test_manifest_rules(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="manifest.json"):
        models.read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(
        json.dumps({"models": {"embedder": {"file": "x.onnx"}}})
    )
    with pytest.raises(ModelError, match="malformed"):
        models.read_manifest(tmp_path)
