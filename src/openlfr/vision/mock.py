"""A deterministic stand-in engine for unit tests of logic around the models.

Faces are coloured squares: the detector finds saturated blobs, the embedder maps a chip's mean
colour to a fixed unit vector. Integration tests use the real models instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from openlfr.vision.contract import EmbeddingContract, FloatArray, l2_normalise
from openlfr.vision.engine import FaceEngine
from openlfr.vision.types import Detection, Image

MOCK_CONTRACT = EmbeddingContract("mock/colour", "1", 16, (("chip", 32),))


class MockDetector:
    name = "mock"

    def detect(self, image: Image) -> list[Detection]:
        hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
        mask = (hsv[:, :, 1] > 100).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        out = []
        for i in range(1, n):
            x, y, w, h, area = stats[i]
            if area < 64:
                continue
            lm = np.array(
                [
                    [x + 0.3 * w, y + 0.4 * h],
                    [x + 0.7 * w, y + 0.4 * h],
                    [x + 0.5 * w, y + 0.6 * h],
                    [x + 0.35 * w, y + 0.8 * h],
                    [x + 0.65 * w, y + 0.8 * h],
                ],
                np.float32,
            )
            out.append(Detection(float(x), float(y), float(x + w), float(y + h), 0.99, lm))
        return out


class MockAligner:
    size = 32

    def align(self, image: Image, detection: Detection) -> Image:
        x1, y1, x2, y2 = (int(v) for v in detection.box())
        return cv2.resize(image[y1:y2, x1:x2], (self.size, self.size))


class MockEmbedder:
    contract = MOCK_CONTRACT

    def embed(self, chips: Sequence[Image]) -> FloatArray:
        out = np.zeros((len(chips), 16), np.float32)
        for i, c in enumerate(chips):
            b, g, r = (float(v) for v in c.reshape(-1, 3).mean(0))
            rng = np.random.default_rng(int(b) // 32 * 64 + int(g) // 32 * 8 + int(r) // 32)
            out[i] = rng.standard_normal(16)
        return l2_normalise(out)


def mock_engine(min_face_px: int = 8) -> FaceEngine:
    return FaceEngine(
        MockDetector(), MockAligner(), MockEmbedder(), min_face_px=min_face_px, name="mock"
    )
