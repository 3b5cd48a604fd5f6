"""The face engine on real models and real images from ../shared/data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.errors import ModelDigestError, MultipleFacesError, NoFaceError
from openlfr.eval.lfw import read_pairs, run_lfw
from openlfr.eval.metrics import accuracy, best_accuracy_threshold
from openlfr.vision import build_engine, models
from openlfr.vision.engine import FaceEngine
from openlfr.vision.onnx_embedder import embedder_from_model_dir


def test_lfw_fold_accuracy(sface_engine: FaceEngine, lfw_dir: Path) -> None:
    """One official fold (600 pairs, ~800 images): the default engine must be near 99%."""
    r = run_lfw(sface_engine, lfw_dir, folds=1)
    assert r.pairs == 600
    assert r.pairs_missing_face == 0
    assert r.accuracy >= 0.98, r.to_dict()


def test_models_are_the_pinned_files() -> None:
    for name in ("yunet", "sface"):
        assert models.sha256_file(models.resolve(name)) == models.KNOWN_MODELS[name].sha256


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    src = models.resolve("sface")
    bad = tmp_path / "sface.onnx"
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelDigestError):
        models.verify_digest(bad, models.KNOWN_MODELS["sface"].sha256)


def test_detection_on_video_frames(sface_engine: FaceEngine, video_path: Path) -> None:
    cap = cv2.VideoCapture(str(video_path))
    counts = []
    for _ in range(3):
        ok, frame = cap.read()
        assert ok
        counts.append(len(sface_engine.detect(frame)))
    cap.release()
    # The README of ../shared says 4-10 faces a frame.
    assert min(counts) >= 4, counts


def test_strict_selection_on_a_group_photo(
    sface_engine: FaceEngine, video_path: Path, tmp_path: Path
) -> None:
    cap = cv2.VideoCapture(str(video_path))
    ok, frame = cap.read()
    cap.release()
    p = tmp_path / "group.jpg"
    cv2.imwrite(str(p), frame)
    with pytest.raises(MultipleFacesError, match="group.jpg"):
        sface_engine.face_from_file(p)
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 90, np.uint8))
    with pytest.raises(NoFaceError, match="wall.png"):
        sface_engine.face_from_file(blank)


def test_generic_onnx_embedder_from_a_model_dir(
    sface_engine: FaceEngine, lfw_dir: Path, tmp_path: Path
) -> None:
    """A user model directory with a manifest: same file as SFace, so the scores must agree."""
    src = models.resolve("sface")
    shutil.copy(src, tmp_path / "arc.onnx")
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "models": {
                    "embedder": {
                        "file": "arc.onnx",
                        "sha256": models.sha256_file(src),
                        "model_id": "user/arc",
                        "mean": 0.0,
                        "std": 1.0,
                        "colour": "rgb",
                    }
                }
            }
        )
    )
    emb = embedder_from_model_dir(tmp_path)
    assert emb.contract.model_id == "user/arc" and emb.contract.dim == 128
    img = str(lfw_dir / "images" / "Aaron_Eckhart" / "Aaron_Eckhart_0001.jpg")
    r = sface_engine.face_from_file(img, select="central")
    chip = sface_engine.aligner.align(cv2.imread(img), r.detection)
    assert float(emb.embed([chip])[0] @ r.template.vector) > 0.999
    # Same numbers, different contract: comparing them is refused.
    with pytest.raises(Exception, match="cannot be compared"):
        r.template.similarity(type(r.template)(emb.embed([chip])[0], emb.contract))


@pytest.mark.slow
def test_dlib_backend_separates_people(lfw_dir: Path) -> None:
    pytest.importorskip("dlib", reason="the dlib extra is not installed")
    eng = build_engine(engine="dlib")
    pairs = read_pairs(lfw_dir / "pairs.txt")[0]
    same = [p for p in pairs if p.same][:8]
    diff = [p for p in pairs if not p.same][:8]

    def score(p):  # type: ignore[no-untyped-def]
        a = eng.face_from_file(lfw_dir / "images" / p.a, select="central").template
        b = eng.face_from_file(lfw_dir / "images" / p.b, select="central").template
        return a.similarity(b)

    g = np.array([score(p) for p in same])
    i = np.array([score(p) for p in diff])
    assert accuracy(g, i, best_accuracy_threshold(g, i)) >= 0.85, (g, i)
    assert g.mean() - i.mean() > 0.05


def test_bench_cli_json(lfw_dir: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "openlfr.cli.main",
            "bench",
            "lfw",
            "--data",
            str(lfw_dir),
            "--folds",
            "1",
            "--json",
            "--roc",
            str(tmp_path / "roc.png"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    d = json.loads(out.stdout)
    for key in ("accuracy", "tar_at_far_1e-3", "threshold", "pairs", "faces_per_second"):
        assert key in d
    assert (tmp_path / "roc.png").stat().st_size > 10_000
