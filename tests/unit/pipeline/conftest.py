"""Synthetic scenes for the mock engine: faces are saturated squares on a grey background."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from openlfr.matching import Watchlist
from openlfr.pipeline.sources import Frame, SourceStats
from openlfr.vision.engine import FaceEngine
from openlfr.vision.mock import mock_engine
from openlfr.vision.types import Image

RED = (0, 0, 230)
BLUE = (230, 0, 0)
GREEN = (0, 230, 0)


def scene(squares: Sequence[tuple[int, int, tuple[int, int, int]]], size: int = 40) -> Image:
    img = np.full((240, 320, 3), 128, np.uint8)
    for x, y, colour in squares:
        img[y : y + size, x : x + size] = colour
    return img


class ListSource:
    """An in-memory FrameSource."""

    def __init__(self, images: Sequence[Image], *, live: bool = False, fps: float = 25.0) -> None:
        self.images = list(images)
        self.name = "list"
        self.live = live
        self.stats = SourceStats()
        self._fps = fps
        self.closed = False

    @property
    def fps(self) -> float | None:
        return self._fps

    def frames(self) -> Iterator[Frame]:
        for i, img in enumerate(self.images):
            if self.closed:
                return
            yield Frame(i, img, time.time(), i / self._fps)
            self.stats.frames_read += 1

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def engine() -> FaceEngine:
    return mock_engine()


def colour_vector(engine: FaceEngine, colour: tuple[int, int, int]) -> np.ndarray:
    chip = np.zeros((32, 32, 3), np.uint8)
    chip[:] = colour
    return engine.embed_chips([chip])[0]


def watchlist_of(engine: FaceEngine, **subjects: tuple[int, int, int]) -> Watchlist:
    ids = list(subjects)
    vecs = np.stack([colour_vector(engine, c) for c in subjects.values()])
    return Watchlist(ids, vecs, engine.contract)
