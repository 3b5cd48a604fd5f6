"""Item 4: login throttling cannot be raced or used to lock people out (ASVS V2.2.1)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.unit.api._support import PASSWORD, app_for, running_server, token
from tests.unit.governance._support import World


def _accounts(svc: Any) -> Any:
    """The object with `authenticate` (the facade before the service split, the room after)."""
    return getattr(svc, "accounts", svc)


def test_30_concurrent_bad_logins_let_at_most_5_reach_the_password_check(w: World) -> None:
    room = _accounts(w.svc)
    real = room.authenticate
    calls = []
    lock = threading.Lock()

    def slow(username: str, password: str) -> Any:
        with lock:
            calls.append(username)
        time.sleep(0.3)  # every guess overlaps every other
        return real(username, password)

    room.authenticate = slow
    with running_server(app_for(w)) as url:

        def guess(i: int) -> int:
            with httpx.Client(base_url=url, timeout=30) as c:
                body = {"username": "op1", "password": f"guess {i}"}
                return c.post("/api/v1/auth/token", json=body).status_code

        with ThreadPoolExecutor(30) as pool:
            codes = list(pool.map(guess, range(30)))
    assert len(calls) <= 5, f"{len(calls)} guesses reached the password check"
    assert codes.count(429) >= 25 and set(codes) <= {401, 429}


def test_operator_not_locked_out_by_another_address(w: World) -> None:
    app = app_for(w)
    with TestClient(app, client=("203.0.113.9", 5000)) as stranger:
        for _ in range(8):
            r = stranger.post("/api/v1/auth/token", json={"username": "op1", "password": "nope"})
            assert r.status_code in (401, 429)
        assert r.status_code == 429  # the stranger is backed off
    with TestClient(app, client=("10.0.0.5", 5000)) as control_room:
        token(control_room, "op1")  # the operator logs in from the control room


def test_many_addresses_lock_the_account(w: World) -> None:
    app = app_for(w)
    for i in range(6):
        with TestClient(app, client=(f"198.51.100.{i}", 5000)) as c:
            c.post("/api/v1/auth/token", json={"username": "op2", "password": "nope"})
    with TestClient(app, client=("10.0.0.5", 5000)) as c:
        r = c.post("/api/v1/auth/token", json={"username": "op2", "password": PASSWORD})
        assert r.status_code == 429


def test_password_change_is_throttled(client: TestClient) -> None:
    h = token(client, "op2")
    body = {"current_password": "wrong password!", "new_password": "a much longer secret"}
    codes = [
        client.post("/api/v1/auth/password", json=body, headers=h).status_code for _ in range(7)
    ]
    assert codes[:5] == [403] * 5 and codes[5:] == [429, 429]


def _audit(client: TestClient) -> list[dict[str, Any]]:
    return list(client.get("/api/v1/audit?limit=1000", headers=token(client, "dpo")).json())


def test_unknown_usernames_are_counted_not_audited(client: TestClient, w: World) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    before = len(_audit(client))
    verified = []
    real = w.svc.ctx.hasher

    class Spy:
        def hash(self, p: str) -> str:
            return real.hash(p)

        def verify(self, h: str, p: str) -> bool:
            verified.append(1)
            return real.verify(h, p)

    w.svc.ctx.hasher = Spy()  # type: ignore[assignment]
    for name in ("alice<script>", "x" * 60, "DROP TABLE users"):
        r = client.post("/api/v1/auth/token", json={"username": name, "password": "whatever it is"})
        assert r.status_code == 401
    # The same password hashing work as for a known user: no timing oracle for usernames.
    assert len(verified) == 3
    after = _audit(client)
    assert len(after) - before <= 1  # only dpo's own token login, none for the unknown names
    assert not any("alice" in str(a) or "DROP TABLE" in str(a) for a in after)
    assert ctx.metrics.logins.labels("failed")._value.get() == 3


def test_failed_login_of_a_known_user_is_audited_by_id(client: TestClient, w: World) -> None:
    client.post("/api/v1/auth/token", json={"username": "op1", "password": "wrong password"})
    fails = [a for a in _audit(client) if a["action"] == "user.login_failed"]
    assert len(fails) == 1 and fails[0]["subject"] == f"user:{w.op1.id}"
    assert "wrong password" not in str(fails)
