"""Sessions and API tokens in the database, by digest: shared by every server process, kept
across restarts, ended everywhere at once (logout, password change, deactivation)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openlfr.storage.models import AuthGrant, User


@dataclass(frozen=True, slots=True)
class StoredGrant:
    digest: str
    kind: str
    expires_at: float
    idle_s: float
    last_seen: float
    must_change_password: bool
    user_id: str
    username: str
    roles: tuple[str, ...]


def put(
    s: Session,
    *,
    digest: str,
    user_id: str,
    kind: str,
    now: float,
    expires_at: float,
    idle_s: float,
    must_change: bool,
) -> None:
    s.execute(delete(AuthGrant).where(AuthGrant.expires_at <= now))
    s.add(
        AuthGrant(
            digest=digest,
            user_id=user_id,
            kind=kind,
            created_at=now,
            expires_at=expires_at,
            idle_s=idle_s,
            last_seen=now,
            must_change_password=must_change,
        )
    )


def get(s: Session, digest: str) -> StoredGrant | None:
    """The grant and its user, or None if unknown or the user is deactivated."""
    row = s.execute(
        select(AuthGrant, User)
        .join(User, User.id == AuthGrant.user_id)
        .where(AuthGrant.digest == digest)
    ).first()
    if row is None:
        return None
    g, u = row
    if not u.active:
        return None
    return StoredGrant(
        g.digest,
        g.kind,
        g.expires_at,
        g.idle_s,
        g.last_seen,
        g.must_change_password,
        u.id,
        u.username,
        tuple(r for r in u.roles.split(",") if r),
    )


def touch(s: Session, digest: str, now: float) -> None:
    g = s.get(AuthGrant, digest)
    if g is not None:
        g.last_seen = now


def remove(s: Session, digest: str) -> None:
    s.execute(delete(AuthGrant).where(AuthGrant.digest == digest))


def remove_user(s: Session, user_id: str) -> None:
    s.execute(delete(AuthGrant).where(AuthGrant.user_id == user_id))
