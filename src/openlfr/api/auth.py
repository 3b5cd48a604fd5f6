"""Sessions (console), bearer tokens (API) and failed-login throttling.

Secrets are random tokens handed to the client once; the database keeps only their SHA-256
digest (storage/grants.py), so sessions survive a restart, hold across server processes and
end everywhere at once. Each lookup re-reads the user, so a deactivated account or a changed
role takes effect on the next request (OWASP ASVS V3.3, V3.5).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.storage import grants as store

Clock = Callable[[], float]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _csrf_of(token: str) -> str:
    # Derived from the session secret, so it needs no storage and dies with the session.
    mac = hmac.new(token.encode(), b"openlfr csrf v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()


@dataclass(slots=True)
class Grant:
    actor: Actor
    kind: str  # "session" | "bearer"
    expires_at: float
    csrf: str = ""  # sessions only: the token unsafe requests must echo in X-CSRF-Token
    idle_s: float = 0.0
    last_seen: float = 0.0
    must_change_password: bool = False  # logged in with a one-time password


class GrantStore:
    """Opaque random tokens -> who they authenticate, with absolute and idle expiry."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        session_ttl_s: float = 8 * 3600,
        session_idle_s: float = 30 * 60,
        token_ttl_s: float = 3600,
        clock: Clock = time.time,
    ) -> None:
        self.factory = factory
        self.session_ttl_s, self.session_idle_s, self.token_ttl_s = (
            session_ttl_s,
            session_idle_s,
            token_ttl_s,
        )
        self.clock = clock

    def _issue(self, actor: Actor, kind: str, ttl: float, idle: float, must: bool) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.factory() as s, s.begin():
            store.put(
                s,
                digest=_digest(token),
                user_id=actor.id,
                kind=kind,
                now=now,
                expires_at=now + ttl,
                idle_s=idle,
                must_change=must,
            )
        return token

    def new_session(self, actor: Actor, *, must_change: bool = False) -> tuple[str, str]:
        token = self._issue(actor, "session", self.session_ttl_s, self.session_idle_s, must_change)
        return token, _csrf_of(token)

    def new_bearer(self, actor: Actor, *, must_change: bool = False) -> str:
        return self._issue(actor, "bearer", self.token_ttl_s, 0.0, must_change)

    def lookup(self, token: str | None, kind: str) -> Grant | None:
        if not token or len(token) > 200:
            return None
        now, d = self.clock(), _digest(token)
        with self.factory() as s, s.begin():
            g = store.get(s, d)
            if g is None or g.kind != kind:
                return None
            if now >= g.expires_at or (g.idle_s and now - g.last_seen > g.idle_s):
                store.remove(s, d)
                return None
            # Idle time is tracked coarsely: a write per request would serialise readers.
            if now - g.last_seen >= min(30.0, g.idle_s / 10 if g.idle_s else 30.0):
                store.touch(s, d, now)
        roles = frozenset(Role(r) for r in g.roles)
        return Grant(
            Actor(g.user_id, g.username, roles),
            g.kind,
            g.expires_at,
            _csrf_of(token) if kind == "session" else "",
            g.idle_s,
            now,
            g.must_change_password,
        )

    def revoke(self, token: str | None) -> None:
        if token:
            with self.factory() as s, s.begin():
                store.remove(s, _digest(token))

    def revoke_user(self, user_id: str) -> None:
        with self.factory() as s, s.begin():
            store.remove_user(s, user_id)


def csrf_ok(grant: Grant, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(grant.csrf, header or "")


@dataclass(slots=True)
class Reservation:
    keys: tuple[str, ...]
    at: float
    username: str
    client: str


@dataclass(slots=True)
class LoginThrottle:
    """Failed-login throttling after OWASP ASVS V2.2.1.

    `reserve` checks and books an attempt in one locked step, so concurrent guesses cannot all
    pass the check before any of them is counted; `release` turns the booking into a failure or
    drops it on success. Limits:

    - per (address, username): `max_failures` attempts, then an exponential back-off
      (`backoff_s`, doubling per further failure, capped at `window_s`). A stranger guessing an
      operator's password from elsewhere therefore slows only themselves;
    - per username from many addresses: once `lock_addresses` distinct addresses have failed
      on one account within the window, the account is locked for everyone until the oldest
      of those failures ages out (a distributed guess);
    - per address over all usernames: `max_failures_per_address` (a control room's staff may
      share one address, so this is high).
    """

    max_failures: int = 5
    backoff_s: float = 30.0
    lock_addresses: int = 5
    max_failures_per_address: int = 50
    window_s: float = 15 * 60
    clock: Clock = time.monotonic
    _fails: dict[str, list[float]] = field(default_factory=dict)
    _by_user: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _pair(username: str, client: str) -> str:
        return f"pair:{client}|{username.lower()}"

    def _recent(self, key: str, now: float) -> list[float]:
        q = self._fails.get(key)
        if q is None:
            return []
        q[:] = [t for t in q if now - t < self.window_s]
        if not q:
            del self._fails[key]
        return q

    def _wait(self, username: str, client: str, now: float) -> float:
        wait = 0.0
        pair = self._recent(self._pair(username, client), now)
        if len(pair) >= self.max_failures:
            extra = len(pair) - self.max_failures
            backoff = min(self.backoff_s * 2.0**extra, self.window_s)
            wait = max(wait, max(pair) + backoff - now)
        by_addr = self._by_user.get(username.lower(), {})
        for a in list(by_addr):
            by_addr[a] = [t for t in by_addr[a] if now - t < self.window_s]
            if not by_addr[a]:
                del by_addr[a]
        if len(by_addr) >= self.lock_addresses:
            oldest = min(q[0] for q in by_addr.values())
            wait = max(wait, oldest + self.window_s - now)
        addr = self._recent(f"addr:{client}", now)
        if len(addr) >= self.max_failures_per_address:
            wait = max(wait, addr[0] + self.window_s - now)
        return wait

    def reserve(self, username: str, client: str) -> tuple[Reservation | None, float]:
        """Book an attempt: (reservation, 0) if allowed, else (None, seconds to wait)."""
        now = self.clock()
        with self._lock:
            wait = self._wait(username, client, now)
            if wait > 0:
                return None, wait
            keys = (self._pair(username, client), f"addr:{client}")
            for k in keys:
                self._fails.setdefault(k, []).append(now)
            return Reservation(keys, now, username.lower(), client), 0.0

    def release(self, r: Reservation, *, ok: bool) -> None:
        """A failed attempt stays counted; a success removes its booking and clears the pair."""
        with self._lock:
            if not ok:
                per = self._by_user.setdefault(r.username, {})
                per.setdefault(r.client, []).append(r.at)
                return
            for k in r.keys:
                q = self._fails.get(k, [])
                if r.at in q:
                    q.remove(r.at)
            self._fails.pop(r.keys[0], None)

    def cancel(self, r: Reservation) -> None:
        """The attempt never reached the password check (bad input, an error): unbook it."""
        with self._lock:
            for k in r.keys:
                q = self._fails.get(k, [])
                if r.at in q:
                    q.remove(r.at)

    def retry_after(self, username: str, client: str) -> float:
        """Seconds until another attempt is allowed (0: allowed now)."""
        with self._lock:
            return self._wait(username, client, self.clock())
