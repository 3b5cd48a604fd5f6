"""The security tests' fixtures: the API tests' world and client, and the governance CLI on it."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.unit.api.conftest import client, w  # noqa: F401 (fixtures shared with the API tests)
from tests.unit.governance._support import KEY, PASSWORD, World


@pytest.fixture
def cli_env(w: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:  # noqa: F811
    """`run(*args)` invokes the governance CLI against `w`'s database and keys."""
    import typer
    from typer.testing import CliRunner

    from openlfr.cli import governance
    from openlfr.config.settings import get_settings

    monkeypatch.setenv("OPENLFR_DATABASE_URL", w.url)
    monkeypatch.setenv("OPENLFR_MASTER_KEY", base64.b64encode(KEY).decode())
    monkeypatch.setenv("OPENLFR_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    app = typer.Typer()
    governance.register(app)
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()
