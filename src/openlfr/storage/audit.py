"""The append-only, hash-chained audit log (requirement G.20).

hash(n) = sha256(hash(n-1) + canonical JSON of record n). Editing a record breaks its own hash,
deleting or inserting one breaks the link of the next, and the head row catches truncation of
the newest records. Records hold ids, counts, hashes and reasons: never images or templates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.storage.models import AuditHead, AuditRecord

GENESIS = "0" * 64


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    if isinstance(o, Enum):
        return o.value
    if isinstance(o, set | frozenset | tuple):
        return sorted(o) if isinstance(o, set | frozenset) else list(o)
    if isinstance(o, bytes):
        raise TypeError("bytes are never written to the audit log")
    return str(o)


def canonical(obj: Any) -> str:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def as_dict(r: AuditRecord) -> dict[str, Any]:
    """A record's hashed content: everything but its own hash and the link to the previous."""
    return {
        "seq": r.seq,
        "at": r.at,
        "actor": r.actor,
        "action": r.action,
        "subject": r.subject,
        "before": json.loads(r.before_json),
        "after": json.loads(r.after_json),
    }


def record_hash(prev_hash: str, r: AuditRecord) -> str:
    body = canonical(as_dict(r))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditRecord:
    """Add the next record in the caller's transaction: it commits or rolls back with the action."""
    # Row lock on PostgreSQL serialises writers; SQLite serialises writes by itself.
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    r = AuditRecord(
        seq=head.seq + 1,
        at=at.isoformat(),
        actor=actor,
        action=action,
        subject=subject,
        before_json=canonical(before or {}),
        after_json=canonical(after or {}),
        prev_hash=head.hash,
    )
    r.hash = record_hash(head.hash, r)
    session.add(r)
    head.seq, head.hash = r.seq, r.hash
    session.flush()
    return r


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    records: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.records} records"
        return f"audit chain BROKEN at record {self.first_bad_seq}: {self.problem}"


def verify(session: Session) -> ChainReport:
    prev, expected_seq, n = GENESIS, 1, 0
    for r in session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars():
        n += 1
        if r.seq != expected_seq:
            return ChainReport(
                False, n, expected_seq, f"record {expected_seq} is missing (deleted)"
            )
        if r.prev_hash != prev:
            return ChainReport(
                False,
                n,
                r.seq,
                "does not link to the previous record (inserted or a record before it was deleted)",
            )
        if record_hash(prev, r) != r.hash:
            return ChainReport(False, n, r.seq, "content does not match its hash (edited)")
        prev, expected_seq = r.hash, expected_seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        return ChainReport(
            False,
            n,
            expected_seq,
            f"the chain head says {head.seq} records but "
            f"{expected_seq - 1} remain (newest records deleted)",
        )
    if head is None and n:
        return ChainReport(False, n, 1, "the chain head is missing")
    return ChainReport(True, n)
