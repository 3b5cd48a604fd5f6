"""The small interfaces of the face engine: detector, aligner, embedder.

Images are numpy arrays, HxWx3 uint8 in BGR order (OpenCV's convention), everywhere.
Landmarks are five (x, y) points in image pixels, in YuNet's order: right eye, left eye,
nose tip, right mouth corner, left mouth corner (right/left from the subject's view).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from openlfr.vision.contract import EmbeddingContract, FloatArray

# cv2 returns loosely typed arrays; in practice every image here is HxWx3 uint8 BGR.
Image = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class Detection:
    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    landmarks: FloatArray  # (5, 2)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)

    def box(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def scaled(self, factor: float) -> Detection:
        """The same detection in an image `factor` times larger."""
        return Detection(
            self.x1 * factor,
            self.y1 * factor,
            self.x2 * factor,
            self.y2 * factor,
            self.score,
            (self.landmarks * factor).astype(np.float32),
        )


@runtime_checkable
class Detector(Protocol):
    name: str

    def detect(self, image: Image) -> list[Detection]: ...


@runtime_checkable
class Aligner(Protocol):
    """Turns a detection into the canonical chip its embedder was trained on."""

    def align(self, image: Image, detection: Detection) -> Image: ...


@runtime_checkable
class Embedder(Protocol):
    contract: EmbeddingContract

    def embed(self, chips: Sequence[Image]) -> FloatArray:
        """(n, dim) float32, each row L2-normalised."""
        ...
