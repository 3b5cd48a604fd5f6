"""Key management: the audit chain's key, master key rotation, where keys sit on disk.

The master key wraps every deployment's data keys (storage/crypto.py); rotating it re-wraps
each data key under a new master key in one transaction, then replaces the key file. The
sealed blobs themselves are untouched (their data keys do not change), so rotation is quick
and a crash part-way leaves either the old key and old wrappings or the new key and new ones.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from openlfr.config.governance import GovernanceSettings
from openlfr.config.settings import Settings
from openlfr.errors import KeyUnavailableError
from openlfr.storage import audit
from openlfr.storage import models as m
from openlfr.storage.crypto import (
    MASTER_KEY_ENV,
    MasterKey,
    load_key_text,
    write_key_file,
)

AUDIT_KEY_ENV = "OPENLFR_AUDIT_KEY"
AUDIT_PURPOSE = "audit chain v1"


def audit_key(audit_key_file: Path | None, master: Callable[[], MasterKey]) -> bytes | None:
    """Env OPENLFR_AUDIT_KEY, else the audit key file, else derived from the master key;
    None when there is no key at all (records are then plain SHA-256, reported as unkeyed)."""
    key = load_key_text(AUDIT_KEY_ENV, audit_key_file)
    if key is not None:
        return key
    try:
        return master().derive(AUDIT_PURPOSE)
    except KeyUnavailableError:
        return None


def ensure_audit_key_file(path: Path, master: Callable[[], MasterKey]) -> bool:
    """Write the audit key file if missing: the key derived from the master key when there is
    one (so records already keyed that way still verify), else a random key. True if written.

    A separate file keeps the audit key stable when the master key is rotated."""
    if os.environ.get(AUDIT_KEY_ENV) or path.exists():
        return False
    try:
        key = master().derive(AUDIT_PURPOSE)
    except KeyUnavailableError:
        key = secrets.token_bytes(32)
    write_key_file(path, key)
    return True


def instance_id(s: Session) -> str:
    """This database's installation id (made on first use)."""
    row = s.get(m.InstanceInfo, 1)
    if row is None:
        row = m.InstanceInfo(id=1, instance_id=secrets.token_hex(8), created_at=datetime.now(UTC))
        s.add(row)
        s.flush()
    return row.instance_id


def instance_audit_key_file(
    factory: sessionmaker[Session], key_file: Path, master: Callable[[], MasterKey]
) -> Path:
    """The audit key file of this instance: KEY_DIR/instances/<instance id>/audit.key, beside
    the master key but in a folder no other instance uses. A user running two instances with
    one key folder had one `audit.key` for both, and each reported the other's chain BROKEN.

    On first use it is filled with the key this database's chain was already written with:
    the shared `audit.key` of older versions or the master-key-derived one, whichever verifies
    the chain's first keyed record (so nothing written before stops verifying); a new chain
    gets a fresh random key. With no candidate that verifies, the old shared path is kept (and
    `keys verify` will say what is wrong) rather than starting a key that cannot verify it."""
    legacy = key_file.with_name("audit.key")
    with factory() as s, s.begin():
        path = key_file.parent / "instances" / instance_id(s) / "audit.key"
        if path.exists() or os.environ.get(AUDIT_KEY_ENV):
            return path
        first = (
            s.execute(
                select(m.AuditRecord)
                .where(m.AuditRecord.alg == audit.KEYED)
                .order_by(m.AuditRecord.seq)
            )
            .scalars()
            .first()
        )
        if first is None:
            key = secrets.token_bytes(32)
        else:
            candidates = [load_key_text(AUDIT_KEY_ENV, legacy)]
            with contextlib.suppress(KeyUnavailableError):
                candidates.append(master().derive(AUDIT_PURPOSE))
            match = [k for k in candidates if k and _verifies(first, k)]
            if not match:
                return legacy
            key = match[0]
        write_key_file(path, key)
    return path


def instance_settings(settings: Settings, factory: sessionmaker[Session]) -> GovernanceSettings:
    """Governance settings with both key files filled in, the audit key this instance's own
    (unless a file is configured). Needs the schema (for the instance id)."""
    gs = settings.governance_resolved()
    if settings.governance.audit_key_file is not None:
        return gs
    key_file = settings.resolved_key_file
    path = instance_audit_key_file(factory, key_file, lambda: MasterKey.load(key_file))
    return gs.model_copy(update={"audit_key_file": path})


def _verifies(r: m.AuditRecord, key: bytes) -> bool:
    import hmac

    return hmac.compare_digest(audit.record_hash(r.prev_hash, r, key), r.hash)


@dataclass(frozen=True, slots=True)
class Rotation:
    data_keys: int
    key_file: Path


def rotate_master_key(
    factory: sessionmaker[Session],
    key_file: Path,
    audit_key_file: Path,
    *,
    actor: str,
    out: Path | None = None,
) -> Rotation:
    """Re-wrap every data key under a new master key and install it.

    With the key in env OPENLFR_MASTER_KEY the new key is written to `out` (required) and the
    operator replaces the variable; otherwise `key_file` is replaced after the commit."""
    old = MasterKey.load(key_file)
    from_env = bool(os.environ.get(MASTER_KEY_ENV))
    if from_env and out is None:
        raise KeyUnavailableError(
            f"the master key comes from {MASTER_KEY_ENV}: give a file for the new key (--out)"
        )
    # The audit key must not change with the master key, or older records stop verifying.
    ensure_audit_key_file(audit_key_file, lambda: old)
    akey = load_key_text(AUDIT_KEY_ENV, audit_key_file)
    raw = secrets.token_bytes(32)
    new = MasterKey(raw)
    target = out if out is not None else key_file
    staged = target.with_name(target.name + ".rotating")
    write_key_file(staged, raw)  # on disk before the database commits to it
    try:
        with factory() as s, s.begin():
            n = 0
            for row in s.execute(select(m.DataKey).with_for_update()).scalars():
                label = f"{row.deployment_id}/{row.purpose}"
                row.wrapped = new.wrap(old.unwrap(row.wrapped, label), label)
                n += 1
            rewrapped = audit.Entry(
                actor, "keys.rotate", "master_key", after={"data_keys_rewrapped": n}
            )
            audit.append(s, datetime.now(UTC), rewrapped, akey)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    os.replace(staged, target)
    return Rotation(n, target)


def same_volume_warning(key_file: Path, database_url: str) -> str | None:
    """A warning when the key file and a SQLite database sit on one file system: a copy or
    backup of that volume would then hold both the sealed data and the key that opens it."""
    u = make_url(database_url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    db_dir, key_dir = Path(u.database).resolve().parent, key_file.resolve().parent
    try:
        same = os.stat(db_dir).st_dev == os.stat(key_dir).st_dev
    except OSError:
        return None
    if not same:
        return None
    return (
        f"the master key ({key_file.name}) and the database are on the same volume: a backup "
        "or stolen copy of that volume holds both. Keep the key elsewhere (OPENLFR_MASTER_KEY, "
        "or OPENLFR_GOVERNANCE__KEY_FILE on another device or a secrets mount)."
    )
