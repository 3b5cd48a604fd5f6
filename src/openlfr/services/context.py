"""The unit of work every service room shares: sessions, the clock, the audit writer, keys.

Each room (`accounts`, `deployments`, `watchlists`, ...) holds one `ServiceContext`, so a
transaction, its audit record and the data keys it needs come from the same place everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypedDict

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import KeyUnavailableError, PermissionDeniedError
from openlfr.governance.clock import Clock, utc_now
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.storage import audit
from openlfr.storage import models as m
from openlfr.storage.audit import Entry as AuditEntry
from openlfr.storage.crypto import MasterKey, new_data_key
from openlfr.storage.db import vacuum

log = logging.getLogger(__name__)


class ContextOptions(TypedDict, total=False):
    settings: GovernanceSettings | None
    clock: Clock
    master_key: Callable[[], MasterKey] | None
    hasher: PasswordHasher | None


class ServiceContext:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        settings: GovernanceSettings | None = None,
        clock: Clock = utc_now,
        master_key: Callable[[], MasterKey] | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings or GovernanceSettings()
        self.clock = clock
        self._master_loader = master_key or (lambda: MasterKey.load(self.settings.key_file))
        self._master: MasterKey | None = None
        self._audit_key: bytes | None = None  # b"": looked up, none available
        self.hasher = hasher or PasswordHasher()
        # Called (no arguments, on the recording thread) once new alerts are committed: the
        # console's open streams in this process read at once instead of at their next poll.
        self.on_alerts: list[Callable[[], None]] = []

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """One transaction: the action and its audit record commit together or not at all."""
        with self.factory() as s, s.begin():
            yield s

    def alerts_committed(self) -> None:
        for fn in list(self.on_alerts):
            try:
                fn()
            except Exception as e:  # a listener's trouble is never the recording's
                log.warning("alert listener failed: %s", type(e).__name__)

    def now(self) -> datetime:
        return self.clock()

    def audit(
        self,
        s: Session,
        actor: str,
        action: str,
        subject: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> m.AuditRecord:
        entry = AuditEntry(actor, action, subject, before, after)
        return audit.append(s, self.now(), entry, self.audit_key())

    def audit_many(self, s: Session, entries: list[AuditEntry]) -> list[m.AuditRecord]:
        """Several records at once (one head lock, one flush), each its own link of the chain."""
        return audit.append_many(s, self.now(), entries, self.audit_key())

    def audit_key(self) -> bytes | None:
        """The audit chain's HMAC key (never in the database); None without any key."""
        if self._audit_key is None:
            from openlfr.services.keys import audit_key

            self._audit_key = audit_key(self.settings.audit_key_file, self.master) or b""
        return self._audit_key or None

    def master(self) -> MasterKey:
        if self._master is None:
            self._master = self._master_loader()
        return self._master

    def key_available(self) -> bool:
        try:
            self.master()
        except KeyUnavailableError:
            return False
        return True

    def data_key(self, s: Session, deployment_id: str, purpose: str, *, create: bool) -> bytes:
        label = f"{deployment_id}/{purpose}"
        row = s.get(m.DataKey, (deployment_id, purpose))
        if row is None:
            if not create:
                raise KeyUnavailableError(
                    "data key destroyed: the data it sealed is unreadable", source=label
                )
            dk = new_data_key()
            s.add(
                m.DataKey(
                    deployment_id=deployment_id,
                    purpose=purpose,
                    wrapped=self.master().wrap(dk, label),
                    created_at=self.now(),
                )
            )
            return dk
        return self.master().unwrap(row.wrapped, label)

    def vacuum(self) -> None:
        """Reclaim the pages deleted rows left behind, so erased data is not kept in free space."""
        bind = self.factory.kw.get("bind")
        if bind is not None:
            vacuum(bind)

    @staticmethod
    def need_role(actor: Actor, *roles: Role) -> None:
        if not any(actor.has(r) for r in roles):
            raise PermissionDeniedError(
                f"{actor.username} needs one of the roles: {', '.join(r.value for r in roles)}"
            )
