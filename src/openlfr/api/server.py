"""Start-up of a real server: database, master key, first administrator, uvicorn."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlfr.config.settings import Settings
from openlfr.services.accounts import random_password
from openlfr.services.governance import GovernanceService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Bootstrap:
    service: GovernanceService
    database_url: str
    key_file: Path
    key_created: bool
    admin_password: str | None  # set only on the very first start: printed once, never stored
    warnings: tuple[str, ...] = ()


def bootstrap(settings: Settings, *, admin_username: str = "admin") -> Bootstrap:
    """Migrate the database, create the master key and the first administrator if missing.

    There is no default password: the first start creates `admin` with a random one-time
    password that the caller prints once.
    """
    from openlfr.services.keys import (
        ensure_audit_key_file,
        instance_settings,
        same_volume_warning,
    )
    from openlfr.storage.crypto import MASTER_KEY_ENV, MasterKey, generate_key_file
    from openlfr.storage.db import make_engine, session_factory, upgrade

    url = settings.resolved_database_url
    upgrade(url)
    key_file = settings.resolved_key_file
    created = False
    import os

    if not os.environ.get(MASTER_KEY_ENV) and not key_file.exists():
        generate_key_file(key_file)
        created = True
    factory = session_factory(make_engine(url))
    # The audit key is this instance's own (instances/<id>/audit.key beside the master key):
    # never one file that every instance a user runs would share.
    gs = instance_settings(settings, factory)
    if settings.governance.audit_key_file is not None:
        ensure_audit_key_file(settings.governance.audit_key_file, lambda: MasterKey.load(key_file))
    warnings = []
    if not os.environ.get(MASTER_KEY_ENV):
        w = same_volume_warning(key_file, url)
        if w:
            warnings.append(w)
            log.warning(w)
    svc = GovernanceService(factory, settings=gs)
    password = None
    if not svc.accounts.users():
        password = random_password()
        admin = svc.accounts.create_user(
            None, admin_username, password, ["administrator"], "Administrator"
        )
        svc.accounts.mark_one_time_password("system", admin.id)
    return Bootstrap(svc, url, key_file, created, password, tuple(warnings))


def run_server(app: Any, host: str, port: int) -> None:
    import uvicorn

    from openlfr import safelog

    safelog.install()
    # Short graceful shutdown: open SSE streams would otherwise hold the process.
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
