from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture
def log_levels_restored() -> Iterator[None]:
    """The root command sets OpenLFR's log levels for the process: put them back after."""
    from openlfr.safelog import QUIET

    names = ("openlfr", *QUIET)
    before = {n: logging.getLogger(n).level for n in names}
    yield
    for n, level in before.items():
        logging.getLogger(n).setLevel(level)
