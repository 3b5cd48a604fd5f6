"""Face quality measures used by the live quality gate, best-shot selection and enrolment.

Cheap, landmark- and pixel-based: size, sharpness, pose and detector confidence. No demographic
or attribute inference of any kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from openlfr.vision.types import Detection, Image


@dataclass(frozen=True, slots=True)
class FaceQuality:
    width_px: float
    sharpness: float  # variance of the Laplacian on the aligned chip
    yaw: float  # -1..1, 0 = frontal (nose offset from the eye midline / eye distance)
    roll_deg: float
    det_score: float

    @property
    def score(self) -> float:
        """0..1: one number for ranking shots and flagging enrolment photos."""
        size = min(1.0, self.width_px / 80.0)
        sharp = min(1.0, self.sharpness / 300.0)
        pose = max(0.0, 1.0 - abs(self.yaw) * 1.5) * max(0.0, 1.0 - abs(self.roll_deg) / 45.0)
        return float(0.3 * size + 0.25 * sharp + 0.3 * pose + 0.15 * min(1.0, self.det_score))

    def to_dict(self) -> dict[str, float]:
        return {
            "width_px": round(self.width_px, 1),
            "sharpness": round(self.sharpness, 1),
            "yaw": round(self.yaw, 3),
            "roll_deg": round(self.roll_deg, 1),
            "det_score": round(self.det_score, 3),
            "score": round(self.score, 3),
        }


def pose_from_landmarks(lm: np.ndarray) -> tuple[float, float]:
    right_eye, left_eye, nose = lm[0], lm[1], lm[2]
    eye_vec = left_eye - right_eye
    eye_dist = float(np.hypot(*eye_vec)) or 1.0
    roll = math.degrees(math.atan2(float(eye_vec[1]), float(eye_vec[0])))
    mid = (right_eye + left_eye) / 2
    # Signed distance of the nose from the eye midpoint along the eye line, per eye distance.
    yaw = float(np.dot(nose - mid, eye_vec) / (eye_dist * eye_dist)) * 2.0
    return max(-1.0, min(1.0, yaw)), roll


def sharpness(chip: Image) -> float:
    grey = cv2.cvtColor(chip, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def assess(detection: Detection, chip: Image | None = None) -> FaceQuality:
    yaw, roll = pose_from_landmarks(detection.landmarks)
    return FaceQuality(
        width_px=detection.width,
        sharpness=sharpness(chip) if chip is not None else float("nan"),
        yaw=yaw,
        roll_deg=roll,
        det_score=detection.score,
    )
