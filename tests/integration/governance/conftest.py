"""Fixtures for governance integration: a database per backend, enrolment photos, a mated crop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.errors import FaceError
from openlfr.vision.engine import FaceEngine
from tests.unit.governance._support import database

LFW_PEOPLE = 30
MATED_FRAME = 12  # 0.48 s into the video; the run watches from 1.0 s on


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database per backend (PostgreSQL skips unless OPENLFR_REQUIRE_POSTGRES=1)."""
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def lfw_photos(lfw_dir: Path, sface_engine: FaceEngine) -> list[tuple[str, Path]]:
    """The first photo of the first LFW people (by name) with exactly one usable face."""
    out: list[tuple[str, Path]] = []
    for person in sorted((lfw_dir / "images").iterdir()):
        if len(out) >= LFW_PEOPLE:
            break
        photo = min(person.glob("*.jpg"), default=None)
        if photo is None:
            continue
        try:
            sface_engine.face_from_file(photo, select="strict")
        except FaceError:
            continue
        out.append((person.name, photo))
    return out


@pytest.fixture(scope="session")
def mated_jpeg(video_path: Path, sface_engine: FaceEngine) -> bytes:
    """A face cropped from the video's first second, as a JPEG (as if from a custody record)."""
    import av

    with av.open(str(video_path)) as c:
        frame = next(
            np.ascontiguousarray(f.to_ndarray(format="bgr24"))
            for i, f in enumerate(c.decode(video=0))
            if i == MATED_FRAME
        )
    found = sface_engine.best_face_crop(frame)
    assert found is not None, "no large face in the first second of the video"
    ok, buf = cv2.imencode(".jpg", found[1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return buf.tobytes()
