"""The append-only, hash-chained audit log (requirement G.20).

hash(n) = HMAC-SHA256(audit key, hash(n-1) + canonical JSON of record n). The audit key is
never in the database (its own key file, or derived from the master key), so someone who can
write the database cannot recompute the chain after editing, deleting or inserting a record.
Deleting the newest records and moving the head row back leaves a valid shorter chain; that is
caught against a head published outside the database (count + hash, printed in every
transparency record and annual report): `verify(..., published=(n, hash))`.
Records written before a key existed are plain SHA-256 (alg "sha256") and are reported as such.
Records hold ids, counts, hashes and reasons: never images or templates.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.storage.models import AuditHead, AuditRecord

GENESIS = "0" * 64
KEYED, PLAIN = "hmac-sha256", "sha256"


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


def record_hash(prev_hash: str, r: AuditRecord, key: bytes | None = None) -> str:
    """The chain value of `r`: keyed when `r.alg` says so (then `key` is required)."""
    data = (prev_hash + canonical(as_dict(r))).encode()
    if (r.alg or PLAIN) == KEYED:
        if key is None:
            raise LookupError("the audit key is needed to check a keyed record")
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """One record to append: what happened, by whom, to what (ids and reasons only)."""

    actor: str
    action: str
    subject: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def append(session: Session, at: datetime, entry: Entry, key: bytes | None = None) -> AuditRecord:
    """Add the next record in the caller's transaction: it commits or rolls back with the action."""
    (r,) = append_many(session, at, [entry], key)
    return r


def append_many(
    session: Session, at: datetime, entries: list[Entry], key: bytes | None = None
) -> list[AuditRecord]:
    """Add the next records, one link each, in the caller's transaction: the head is locked and
    moved once, so a batch costs one lock and one flush instead of one per record."""
    if not entries:
        return []
    # Row lock on PostgreSQL serialises writers; SQLite serialises writes by itself.
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    seq, prev, stamp, out = head.seq, head.hash, at.isoformat(), []
    for e in entries:
        seq += 1
        r = AuditRecord(
            seq=seq,
            at=stamp,
            actor=e.actor,
            action=e.action,
            subject=e.subject,
            before_json=canonical(e.before or {}),
            after_json=canonical(e.after or {}),
            prev_hash=prev,
            alg=KEYED if key is not None else PLAIN,
        )
        r.hash = prev = record_hash(prev, r, key)
        out.append(r)
    session.add_all(out)
    head.seq, head.hash = seq, prev
    session.flush()
    return out


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    records: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_hash: str = GENESIS
    unkeyed: int = 0  # records written before the audit key existed (plain SHA-256)

    @property
    def head(self) -> str:
        """The chain head to publish: `records:hash`."""
        return f"{self.records}:{self.head_hash}"

    def __str__(self) -> str:
        if self.ok:
            extra = f" ({self.unkeyed} older records unkeyed)" if self.unkeyed else ""
            return f"audit chain intact: {self.records} records, head {self.head}{extra}"
        return f"audit chain BROKEN at record {self.first_bad_seq}: {self.problem}"


def parse_head(text: str) -> tuple[int, str]:
    """`N:HEX` (as published) -> (N, hex)."""
    n, sep, h = text.strip().partition(":")
    if not sep or not n.isdigit() or len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
        raise ValueError("a published audit head looks like 1234:<64 hex digits>")
    return int(n), h


def head(session: Session) -> tuple[int, str]:
    """The current head (count, hash) to publish, without re-verifying the chain."""
    row = session.get(AuditHead, 1)
    return (row.seq, row.hash) if row is not None else (0, GENESIS)


def verify(
    session: Session, key: bytes | None = None, published: tuple[int, str] | None = None
) -> ChainReport:
    """Walk the chain; with `published`, also prove it still holds that earlier head."""
    prev, expected_seq, n, unkeyed, keyed_seen = GENESIS, 1, 0, 0, False
    at_published: str | None = None

    def bad(seq: int, problem: str) -> ChainReport:
        return ChainReport(False, n, seq, problem, prev, unkeyed)

    for r in session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars():
        n += 1
        if r.seq != expected_seq:
            return bad(expected_seq, f"record {expected_seq} is missing (deleted)")
        if r.prev_hash != prev:
            return bad(
                r.seq,
                "does not link to the previous record (inserted or a record before it was deleted)",
            )
        if (r.alg or PLAIN) == KEYED:
            keyed_seen = True
        elif keyed_seen:
            return bad(r.seq, "an unkeyed record after keyed ones (written without the audit key)")
        else:
            unkeyed += 1
        try:
            ok = hmac.compare_digest(record_hash(prev, r, key), r.hash)
        except LookupError:
            return bad(r.seq, "keyed record, but no audit key is available to check it")
        if not ok:
            return bad(r.seq, "content does not match its hash (edited, or another audit key)")
        prev, expected_seq = r.hash, expected_seq + 1
        if published is not None and r.seq == published[0]:
            at_published = r.hash
    row = session.get(AuditHead, 1)
    if row is not None and (row.seq != expected_seq - 1 or row.hash != prev):
        return bad(
            expected_seq,
            f"the chain head says {row.seq} records but "
            f"{expected_seq - 1} remain (newest records deleted)",
        )
    if row is None and n:
        return bad(1, "the chain head is missing")
    if key is not None and n and not keyed_seen:
        # Every write since the key existed is keyed, so a chain with a key configured but no
        # keyed record at all was rewritten by someone without the key.
        return bad(n, "no record is keyed although an audit key is configured (rewritten?)")
    if published is not None:
        pn, ph = published
        if pn > n:
            return bad(
                n + 1,
                f"the published head names {pn} records but only {n} remain "
                "(truncated and the head moved back)",
            )
        if pn > 0 and not hmac.compare_digest(at_published or "", ph):
            return bad(pn, "record does not match the published head (history rewritten)")
    return ChainReport(True, n, head_hash=prev, unkeyed=unkeyed)
