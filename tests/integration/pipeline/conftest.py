"""Fixtures for the pipeline's integration tests: a 1,000-identity LFW watchlist, a mated crop."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.errors import FaceError
from openlfr.matching import Watchlist
from openlfr.vision.engine import FaceEngine
from openlfr.vision.types import Image

LFW_WATCHLIST_SIZE = 1000
LFW_PHOTOS_PER_ENTRY = 3  # where LFW has them: multi-photo enrolment is the normal case
MATED_FRAME = 12  # 0.48 s into the 25 fps video


@pytest.fixture(scope="session")
def lfw_watchlist(lfw_dir: Path, sface_engine: FaceEngine) -> Watchlist:
    """The first 1,000 LFW people (by name) whose face is found, each enrolled with the mean
    template (re-normalised) of up to 3 of their photos.

    Built in memory once per session (~1-2 min on 2 cores); never written to disk.
    """
    ids: list[str] = []
    vecs: list[np.ndarray] = []
    for person in sorted((lfw_dir / "images").iterdir()):
        if len(ids) >= LFW_WATCHLIST_SIZE:
            break
        got = []
        for photo in sorted(person.glob("*.jpg"))[:LFW_PHOTOS_PER_ENTRY]:
            try:
                got.append(sface_engine.face_from_file(photo, select="central").template.vector)
            except FaceError:
                continue
        if not got:
            continue
        ids.append(person.name)
        mean = np.mean(np.stack(got), axis=0)
        vecs.append((mean / np.linalg.norm(mean)).astype(np.float32))
    assert len(ids) == LFW_WATCHLIST_SIZE
    return Watchlist(ids, np.stack(vecs), sface_engine.contract)


def video_frame(video_path: Path, index: int) -> Image:
    import av

    with av.open(str(video_path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return np.ascontiguousarray(f.to_ndarray(format="bgr24"))
    raise AssertionError(f"video has no frame {index}")


@pytest.fixture(scope="session")
def mated_crop(video_path: Path, sface_engine: FaceEngine) -> Image:
    """One face cropped from the first second of the video: the best-quality large face."""
    found = sface_engine.best_face_crop(video_frame(video_path, MATED_FRAME))
    assert found is not None, "no large face in the first second of the video"
    return found[1]


def write_subject(root: Path, subject: str, image: Image) -> Path:
    d = root / subject
    d.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(d / "photo.jpg"), image)
    return root
