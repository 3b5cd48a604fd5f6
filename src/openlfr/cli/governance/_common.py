"""What every governance command shares: typed errors as one line, the service, who is acting.

Who is acting comes from `--user` (or env OPENLFR_USER) and a password from env OPENLFR_PASSWORD
or a hidden prompt; every command that changes something is authenticated and audited.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from openlfr.errors import OpenLFRError

if TYPE_CHECKING:
    from openlfr.governance.deployment import Actor
    from openlfr.services.governance import GovernanceService

F = TypeVar("F", bound=Callable[..., Any])

UserOpt = typer.Option(None, "--user", "-u", envvar="OPENLFR_USER", help="Who is acting.")
ReasonOpt = typer.Option(..., "--reason")


def fail(msg: str, code: int = 2) -> NoReturn:
    typer.secho(msg, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def typed_errors(fn: F) -> F:
    """Typed errors become a one-line message and exit status 2, never a traceback."""

    @wraps(fn)
    def wrapper(*a: Any, **kw: Any) -> Any:
        try:
            return fn(*a, **kw)
        except OpenLFRError as e:
            fail(f"error ({e.code}): {e}")
        except ValueError as e:
            fail(f"error: {e}")

    return wrapper  # type: ignore[return-value]


def command(app: typer.Typer, name: str) -> Callable[[F], F]:
    """`@app.command(name)` whose typed errors become one line and exit status 2."""
    return lambda fn: app.command(name)(typed_errors(fn))


def open_service() -> GovernanceService:
    from openlfr.config.settings import get_settings
    from openlfr.services.governance import GovernanceService
    from openlfr.storage.db import current_revision, make_engine, session_factory

    st = get_settings()
    engine = make_engine(st.resolved_database_url)
    if current_revision(engine) is None:
        fail("the database has no schema yet: run `openlfr db upgrade` first")
    from openlfr.services.keys import instance_settings

    factory = session_factory(engine)
    return GovernanceService(factory, settings=instance_settings(st, factory))


def login(svc: GovernanceService, user: str | None) -> Actor:
    if not user:
        fail("say who is acting: --user NAME (or env OPENLFR_USER)")
    password = os.environ.get("OPENLFR_PASSWORD") or typer.prompt(
        f"password for {user}", hide_input=True
    )
    return svc.accounts.authenticate(user, password)


def write_out(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        out.write_text(text)
        typer.echo(f"wrote {out}")


def show(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


@contextmanager
def acting(user: str | None) -> Iterator[tuple[GovernanceService, Actor]]:
    svc = open_service()
    yield svc, login(svc, user)
