"""YuNet face detector (OpenCV Zoo), run by OpenCV's FaceDetectorYN."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from openlfr.vision import models
from openlfr.vision.imageio import downscale
from openlfr.vision.types import Detection, Image


class YuNetBase:
    """What YuNet on either runtime shares: the model file, the thresholds, and `detect`.

    `max_side` bounds the resolution the network sees: larger frames are downscaled for
    detection and the boxes scaled back, which is what makes 1080p affordable on a CPU.
    """

    name = "yunet"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        max_side: int | None = None,
    ) -> None:
        self.model_path = model_path or models.resolve("yunet")
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side
        # Per-thread state (FaceDetectorYN's input size, onnxruntime's input buffer): cameras
        # may share one detector.
        self._local = threading.local()

    def raw(self, image: Image) -> np.ndarray:
        """(n, 15) rows as FaceDetectorYN returns them: x, y, w, h, 5 landmarks, score."""
        raise NotImplementedError

    def detect(self, image: Image) -> list[Detection]:
        work, scale = downscale(image, self.max_side)
        return to_detections(self.raw(work), scale, image.shape[1], image.shape[0])


class YuNetDetector(YuNetBase):
    """Detects faces with five landmarks, on OpenCV's FaceDetectorYN."""

    def _net(self, size: tuple[int, int]) -> cv2.FaceDetectorYN:
        # FaceDetectorYN keeps per-size state, so each thread gets its own instance.
        net: cv2.FaceDetectorYN | None = getattr(self._local, "net", None)
        if net is None:
            net = cv2.FaceDetectorYN.create(
                str(self.model_path), "", size, self.score_threshold, self.nms_threshold, 5000
            )
            self._local.net = net
            self._local.size = size
        elif self._local.size != size:
            net.setInputSize(size)
            self._local.size = size
        return net

    def raw(self, image: Image) -> np.ndarray:
        h, w = image.shape[:2]
        _, faces = self._net((w, h)).detect(image)
        return np.zeros((0, 15), np.float32) if faces is None else faces


def to_detections(faces: Any, scale: float, w: int, h: int) -> list[Detection]:
    """YuNet's rows (box, 5 landmarks, score) on a `scale`d image, back in full-image pixels."""
    inv = 1.0 / scale
    out = []
    for f in faces:
        x, y, bw, bh = (float(v) * inv for v in f[:4])
        lm = (np.asarray(f[4:14], dtype=np.float32).reshape(5, 2) * inv).astype(np.float32)
        out.append(
            Detection(
                max(0.0, x),
                max(0.0, y),
                min(float(w), x + bw),
                min(float(h), y + bh),
                float(f[14]),
                lm,
            )
        )
    return out
