"""The throughput settings change speed only: same embeddings (SFace) and detections (YuNet).

SFace with its weight DequantizeLinear nodes folded at load must embed real LFW faces as the
unfolded graph does, and YuNet on onnxruntime must find what OpenCV's FaceDetectorYN finds on the
walkers video, with the same scores and landmarks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openlfr.vision.align import ArcFaceAligner
from openlfr.vision.imageio import load_image
from openlfr.vision.onnx_embedder import sface_embedder
from openlfr.vision.yunet import YuNetDetector
from openlfr.vision.yunet_ort import YuNetOrtDetector


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


def test_sface_folded_embeddings_identical(lfw_dir: Path) -> None:
    det = YuNetDetector()
    align = ArcFaceAligner(112)
    chips = []
    for person in sorted((lfw_dir / "images").iterdir())[:40]:
        img = load_image(min(person.glob("*.jpg")))
        faces = det.detect(img)
        if faces:
            chips.append(align.align(img, max(faces, key=lambda f: f.width)))
    assert len(chips) >= 30
    folded = sface_embedder(threads=1, fold_qdq=True).embed(chips)
    plain = sface_embedder(threads=1, fold_qdq=False).embed(chips)
    cos = np.einsum("ij,ij->i", folded, plain)
    assert float(cos.min()) > 0.99999, cos.min()


def test_yunet_onnxruntime_matches_opencv(video_path: Path) -> None:
    import av
    import cv2

    cv_det, ort_det = YuNetDetector(), YuNetOrtDetector(threads=1)
    matched = total = 0
    with av.open(str(video_path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= 60:
                break
            if i % 6:
                continue
            img = cv2.resize(f.to_ndarray(format="bgr24"), (960, 540), interpolation=cv2.INTER_AREA)
            _, ref = cv_det._net((960, 540)).detect(img)
            ref = np.zeros((0, 15), np.float32) if ref is None else ref
            got = ort_det.raw(img)
            assert len(got) == len(ref), i
            total += len(ref)
            for r in ref:
                g = max(got, key=lambda g: _iou(r, g))
                assert _iou(r, g) > 0.95
                assert abs(float(g[14] - r[14])) < 1e-3
                assert float(np.abs(g[4:14] - r[4:14]).max()) < 0.5
                matched += 1
    assert total >= 20 and matched == total
