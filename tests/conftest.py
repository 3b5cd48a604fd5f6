"""Shared fixtures: where ../shared is, and the skip-or-fail rule for tests that need it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OPENLFR_SHARED", ROOT.parent / "shared"))
REQUIRE_DATA = os.environ.get("OPENLFR_REQUIRE_DATA") == "1"


def need(path: Path, what: str) -> Path:
    """Return `path`, or skip (fail under OPENLFR_REQUIRE_DATA=1) when it is missing."""
    if path.exists():
        return path
    msg = f"{what} not found at {path} (../shared beside the checkout, or set OPENLFR_SHARED)"
    if REQUIRE_DATA:
        pytest.fail(msg + "; OPENLFR_REQUIRE_DATA=1 makes this a failure", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return need(SHARED, "the shared data folder")


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    return need(SHARED / "data" / "lfw", "LFW")


@pytest.fixture(scope="session")
def utkface_dir() -> Path:
    return need(SHARED / "data" / "utkface", "UTKFace")


@pytest.fixture(scope="session")
def video_path() -> Path:
    return need(SHARED / "data" / "video" / "walkers_1080p.mp4", "the walkers video")


@pytest.fixture(scope="session")
def sface_engine():  # type: ignore[no-untyped-def]
    from openlfr.vision import build_engine

    return build_engine(engine="sface")


@pytest.fixture(autouse=True)
def _keys_apart(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Keys default to ~/.config/openlfr (apart from the data directory): a test must never
    # create or read a key there.
    monkeypatch.setenv("OPENLFR_KEY_DIR", str(tmp_path_factory.mktemp("keys")))
    from openlfr.config.settings import get_settings

    get_settings.cache_clear()
