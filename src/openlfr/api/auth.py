"""Sessions (console), bearer tokens (API) and failed-login throttling.

Plain classes with no web framework: the routers adapt them. Secrets live only in memory and
are stored as SHA-256 digests, so a process dump or a log line never holds a usable token;
restarting the server logs everyone out, which is the safe default for an LFR console.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from openlfr.governance.deployment import Actor

Clock = Callable[[], float]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
        *,
        session_ttl_s: float = 8 * 3600,
        session_idle_s: float = 30 * 60,
        token_ttl_s: float = 3600,
        clock: Clock = time.monotonic,
    ) -> None:
        self.session_ttl_s, self.session_idle_s, self.token_ttl_s = (
            session_ttl_s,
            session_idle_s,
            token_ttl_s,
        )
        self.clock = clock
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def _issue(self, grant: Grant) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            self._grants[_digest(token)] = grant
        return token

    def new_session(self, actor: Actor, *, must_change: bool = False) -> tuple[str, str]:
        now = self.clock()
        csrf = secrets.token_urlsafe(24)
        token = self._issue(
            Grant(
                actor,
                "session",
                now + self.session_ttl_s,
                csrf,
                self.session_idle_s,
                now,
                must_change,
            )
        )
        return token, csrf

    def new_bearer(self, actor: Actor, *, must_change: bool = False) -> str:
        return self._issue(
            Grant(
                actor, "bearer", self.clock() + self.token_ttl_s, must_change_password=must_change
            )
        )

    def lookup(self, token: str | None, kind: str) -> Grant | None:
        if not token:
            return None
        now = self.clock()
        with self._lock:
            g = self._grants.get(_digest(token))
            if g is None or g.kind != kind:
                return None
            if now >= g.expires_at or (g.idle_s and now - g.last_seen > g.idle_s):
                del self._grants[_digest(token)]
                return None
            g.last_seen = now
            return g

    def revoke(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._grants.pop(_digest(token), None)

    def revoke_user(self, user_id: str) -> None:
        with self._lock:
            for k in [k for k, g in self._grants.items() if g.actor.id == user_id]:
                del self._grants[k]

    def _expire(self) -> None:
        now = self.clock()
        for k in [k for k, g in self._grants.items() if now >= g.expires_at]:
            del self._grants[k]


def csrf_ok(grant: Grant, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(grant.csrf, header or "")


@dataclass(slots=True)
class LoginThrottle:
    """After `max_failures` failed logins within `window_s` for one username (or
    `max_failures_per_address` from one client address), further attempts are refused until
    the oldest failure leaves the window.

    Keyed on both so that neither guessing one account from many addresses nor many accounts
    from one address goes unchecked; the address limit is higher because a control room's
    staff often share one address. A success clears the username's count only.
    """

    max_failures: int = 5
    max_failures_per_address: int = 20
    window_s: float = 15 * 60
    clock: Clock = time.monotonic
    _fails: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys(self, username: str, client: str) -> tuple[str, str]:
        return f"user:{username.lower()}", f"addr:{client}"

    def retry_after(self, username: str, client: str) -> float:
        """Seconds until another attempt is allowed (0: allowed now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for k in self._keys(username, client):
                q = self._fails.get(k)
                if not q:
                    continue
                while q and now - q[0] >= self.window_s:
                    q.popleft()
                limit = (
                    self.max_failures if k.startswith("user:") else (self.max_failures_per_address)
                )
                if len(q) >= limit:
                    wait = max(wait, self.window_s - (now - q[0]))
        return wait

    def failed(self, username: str, client: str) -> None:
        now = self.clock()
        with self._lock:
            for k in self._keys(username, client):
                self._fails.setdefault(k, deque()).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._fails.pop(f"user:{username.lower()}", None)
