"""The audit log as the console and auditors read it: verification, records, deletion receipts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, func, literal_column, or_, select

from openlfr.services.room import Room
from openlfr.storage import audit
from openlfr.storage import models as m

# Audit actions that are deletion receipts (retention and erasure), shown to auditors.
RECEIPT_ACTIONS = (
    "retention.receipt",
    "retention.purge_alerts",
    "retention.destroy_key",
    "watchlist.destroy",
    "subject.erase_alert",
    "subject.erase_entry",
)


class AuditLog(Room):
    def verify_audit(self, published: str | None = None) -> audit.ChainReport:
        """Walk the keyed chain; with `published` ("records:hash" from a transparency record or
        annual report) also prove the log still holds that head (no truncation since)."""
        head = audit.parse_head(published) if published else None
        with self.ctx.tx() as s:
            return audit.verify(s, self.ctx.audit_key(), head)

    def head(self) -> str:
        """The current chain head ("records:hash"), as published in transparency documents."""
        with self.ctx.tx() as s:
            n, h = audit.head(s)
        return f"{n}:{h}"

    def audit_records(
        self,
        *,
        limit: int = 100,
        before_seq: int | None = None,
        actions: tuple[str, ...] | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first. Records hold ids, counts and reasons only (never biometric data)."""
        with self.ctx.tx() as s:
            q = select(m.AuditRecord)
            if before_seq is not None:
                q = q.where(m.AuditRecord.seq < before_seq)
            if actions:
                q = q.where(m.AuditRecord.action.in_(actions))
            rows = s.execute(q.order_by(m.AuditRecord.seq.desc()).limit(limit)).scalars()
            return [{**audit.as_dict(r), "hash": r.hash} for r in rows]

    def search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        deployment_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Newest first, filtered: by who (username), what (an action or its family, e.g.
        `alert`), which deployment (its own records and its alerts' and entries'), and when
        (ISO times, compared as the chain stores them: UTC)."""
        rec = m.AuditRecord
        q = select(rec)
        if actor:
            q = q.where(rec.actor == actor)
        if action:
            q = q.where(or_(rec.action == action, rec.action.like(f"{action}.%")))
        if deployment_id:
            # The prefix is SQL text, not a bound parameter: PostgreSQL cannot type `$1 || id`.
            alerts = select(literal_column("'alert:'", String) + m.Alert.id).where(
                m.Alert.deployment_id == deployment_id
            )
            entries = select(literal_column("'entry:'", String) + m.WatchlistEntry.id).where(
                m.WatchlistEntry.deployment_id == deployment_id
            )
            q = q.where(
                or_(
                    rec.subject == f"deployment:{deployment_id}",
                    rec.subject.in_(alerts),
                    rec.subject.in_(entries),
                )
            )
        if since:
            q = q.where(rec.at >= since)
        if until:
            q = q.where(rec.at <= until)
        with self.ctx.tx() as s:
            rows = s.execute(q.order_by(rec.seq.desc()).limit(limit)).scalars()
            return [audit.as_dict(r) for r in rows]

    def actions(self) -> list[str]:
        """Every action the log holds, for the search form."""
        with self.ctx.tx() as s:
            q = select(m.AuditRecord.action).distinct().order_by(m.AuditRecord.action)
            return list(s.execute(q).scalars())

    def audit_count(self) -> int:
        with self.ctx.tx() as s:
            return int(s.execute(select(func.count()).select_from(m.AuditRecord)).scalar_one())
