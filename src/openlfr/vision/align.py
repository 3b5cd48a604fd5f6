"""Five-point similarity alignment to the ArcFace/SFace 112x112 template."""

from __future__ import annotations

import cv2
import numpy as np

from openlfr.vision.contract import FloatArray
from openlfr.vision.types import Detection, Image

# The standard 112x112 reference points (InsightFace's arcface_dst; OpenCV's SFace alignCrop
# uses the same), in YuNet landmark order.
ARCFACE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def umeyama_similarity(src: FloatArray, dst: FloatArray) -> FloatArray:
    """Least-squares similarity transform (rotation, uniform scale, translation), 2x3."""
    n = src.shape[0]
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / n
    u, sig, vt = np.linalg.svd(cov)
    e = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        e[1, 1] = -1
    r = u @ e @ vt
    var_s = (s**2).sum() / n
    scale = float((sig * np.diag(e)).sum() / var_s) if var_s > 0 else 1.0
    t = mu_d - scale * r @ mu_s
    m = np.zeros((2, 3), dtype=np.float32)
    m[:, :2] = scale * r
    m[:, 2] = t
    return m


class ArcFaceAligner:
    """Warps a face to a square chip of `size` pixels using the five landmarks."""

    def __init__(self, size: int = 112) -> None:
        self.size = size
        self.reference = ARCFACE_112 * (size / 112.0)

    def describe(self) -> tuple[tuple[str, object], ...]:
        return (("align", "umeyama-5pt-arcface112"), ("chip", self.size))

    def align(self, image: Image, detection: Detection) -> Image:
        m = umeyama_similarity(
            detection.landmarks.astype(np.float64), self.reference.astype(np.float64)
        )
        chip = cv2.warpAffine(
            image, m, (self.size, self.size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)
        )
        return np.ascontiguousarray(chip)
