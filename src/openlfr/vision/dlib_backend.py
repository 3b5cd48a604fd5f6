"""dlib's HOG detector, 5-point aligner and ResNet embedder (the `face_recognition` stack).

Kept as a second, independent model and as the baseline that benchmarks compare against.
Needs the optional extra: pip install 'openlfr[dlib]' (dlib-bin + face-recognition-models).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from openlfr.errors import ModelError
from openlfr.vision import models
from openlfr.vision.contract import EmbeddingContract, FloatArray, l2_normalise
from openlfr.vision.types import Detection, Image


def _dlib() -> Any:
    try:
        import dlib
    except ImportError as exc:
        raise ModelError("the dlib backend needs: pip install 'openlfr[dlib]'") from exc
    return dlib


def _rgb(image: Image) -> Image:
    return np.ascontiguousarray(image[:, :, ::-1])


class DlibAligner:
    """dlib's 5-point shape predictor on the detection box, then dlib's own face chip."""

    def __init__(self, size: int = 150, padding: float = 0.25) -> None:
        dlib = _dlib()
        self._dlib = dlib
        self.size, self.padding = size, padding
        self.predictor = dlib.shape_predictor(str(models.resolve("dlib_shape5")))

    def shape(self, rgb: Image, detection: Detection) -> Any:
        rect = self._dlib.rectangle(
            int(detection.x1), int(detection.y1), int(detection.x2), int(detection.y2)
        )
        return self.predictor(rgb, rect)

    def align(self, image: Image, detection: Detection) -> Image:
        rgb = _rgb(image)
        chip = self._dlib.get_face_chip(
            rgb, self.shape(rgb, detection), size=self.size, padding=self.padding
        )
        # Chips are handed around in BGR like every other image.
        return np.ascontiguousarray(np.asarray(chip)[:, :, ::-1])


class DlibHogDetector:
    """HOG + linear SVM, as `face_recognition.face_locations(model="hog")` runs it.

    dlib's HOG gives no landmarks; the five points are read off the 5-point shape predictor
    (eye centres and nose) with mouth corners estimated, which is enough for quality gates.
    """

    name = "dlib-hog"

    def __init__(self, upsample: int = 1, aligner: DlibAligner | None = None) -> None:
        dlib = _dlib()
        self._dlib = dlib
        self.upsample = upsample
        self.detector = dlib.get_frontal_face_detector()
        self.aligner = aligner or DlibAligner()

    def detect(self, image: Image) -> list[Detection]:
        rgb = _rgb(image)
        rects, scores, _ = self.detector.run(rgb, self.upsample, 0.0)
        h, w = image.shape[:2]
        out = []
        for r, s in zip(rects, scores, strict=True):
            x1, y1 = max(0, r.left()), max(0, r.top())
            x2, y2 = min(w, r.right()), min(h, r.bottom())
            shape = self.aligner.predictor(rgb, r)
            p = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], np.float32)
            # dlib 5-point order: subject's left eye corners (0, 1), right eye corners (2, 3), nose.
            left_eye, right_eye, nose = p[0:2].mean(0), p[2:4].mean(0), p[4]
            eye_mid = (left_eye + right_eye) / 2
            down = (nose - eye_mid) * 1.6
            lm = np.stack([right_eye, left_eye, nose, right_eye + down, left_eye + down]).astype(
                np.float32
            )
            out.append(Detection(float(x1), float(y1), float(x2), float(y2), float(s), lm))
        return out


class DlibResNetEmbedder:
    def __init__(self) -> None:
        dlib = _dlib()
        self.model = dlib.face_recognition_model_v1(str(models.resolve("dlib_resnet")))
        self.contract = EmbeddingContract(
            model_id="dlib/resnet-v1",
            model_version=models.KNOWN_MODELS["dlib_resnet"].version,
            dim=128,
            preprocessing=(
                ("align", "dlib-shape5-facechip"),
                ("chip", 150),
                ("padding", 0.25),
                ("colour", "rgb"),
            ),
            metric="cosine",
        )

    def embed(self, chips: Sequence[Image]) -> FloatArray:
        if not chips:
            return np.zeros((0, 128), np.float32)
        rgb = [_rgb(c) for c in chips]
        vecs = self.model.compute_face_descriptor(rgb)
        # dlib's descriptors are compared by Euclidean distance < 0.6; on unit vectors cosine
        # similarity ranks identically, so every engine shares one metric.
        return l2_normalise(np.asarray([np.asarray(v) for v in vecs], dtype=np.float32))
