"""Alembic environment: runs with the URL that openlfr.storage.db.upgrade() passes in."""

from __future__ import annotations

from alembic import context

import openlfr.storage.assurance_models  # noqa: F401  (registers its tables)
from openlfr.storage import (
    controls_models,  # noqa: F401  (training, equality tally)
    models_workers,  # noqa: F401  (registers the worker tables)
)
from openlfr.storage.db import make_engine
from openlfr.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
