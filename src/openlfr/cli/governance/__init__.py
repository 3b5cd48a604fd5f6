"""Governance commands, one Typer sub-app per group as `openlfr --help` lists them.

db, keys, user, model, deployment, watchlist, alert, purge, audit, report, sar, assurance,
workers. Each
command is a thin call into the service room it names (`openlfr.services.*`).
"""

from __future__ import annotations

import typer

from openlfr.cli.governance import (
    alerts,
    assurance,
    audit,
    db,
    deployments,
    keys,
    models,
    reports,
    sar,
    users,
    watchlists,
    workers,
)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root app."""
    app.add_typer(db.app, name="db")
    app.add_typer(keys.app, name="keys")
    app.add_typer(users.app, name="user")
    app.add_typer(models.app, name="model")
    app.add_typer(deployments.app, name="deployment")
    app.add_typer(watchlists.app, name="watchlist")
    app.add_typer(alerts.app, name="alert")
    app.command("purge")(audit.purge)
    app.add_typer(audit.app, name="audit")
    app.add_typer(reports.app, name="report")
    app.add_typer(sar.app, name="sar")
    app.add_typer(assurance.app, name="assurance")
    app.add_typer(workers.app, name="workers")
