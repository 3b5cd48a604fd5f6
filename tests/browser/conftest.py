"""Headless Debian Chromium driven by Playwright; screenshots go to $OPENLFR_ARTIFACTS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

CHROMIUM = Path(os.environ.get("OPENLFR_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("OPENLFR_REQUIRE_BROWSER") == "1"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    out = Path(os.environ.get("OPENLFR_ARTIFACTS", ROOT / "artifacts")) / "browser"
    out.mkdir(parents=True, exist_ok=True)
    return out


# Per module, not per session: Playwright's sync API keeps an asyncio loop running in the main
# thread while it is open, so a session-long browser made every later `asyncio.run` (the doctor's
# broker probe, the broker access tests) fail with "cannot be called from a running event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        msg = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(msg + "; OPENLFR_REQUIRE_BROWSER=1 makes this a failure", pytrace=False)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
