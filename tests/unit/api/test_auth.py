"""Login, sessions with CSRF, bearer tokens, throttling, password change."""

from __future__ import annotations

from fastapi.testclient import TestClient

from openlfr.api.auth import GrantStore, LoginThrottle
from tests.unit.api._support import PASSWORD, token
from tests.unit.governance._support import World


def _login(client: TestClient, user: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def test_session_cookie_needs_csrf_for_changes(client: TestClient) -> None:
    csrf = _login(client, "ao1")
    assert client.get("/api/v1/auth/me").json()["username"] == "ao1"
    r = client.post("/api/v1/deployments", json={"name": "x"})
    assert r.status_code == 403 and r.json()["error"] == "csrf"
    r = client.post("/api/v1/deployments", json={"name": "x"}, headers={"X-CSRF-Token": "nope"})
    assert r.status_code == 403
    assert client.post("/api/v1/deployments", json={"name": "x"}, headers=csrf).status_code == 201
    assert client.post("/api/v1/auth/logout", headers=csrf).status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 401


def test_bearer_token_and_logout(client: TestClient) -> None:
    h = token(client, "dpo")
    assert client.get("/api/v1/auth/me", headers=h).json()["roles"] == ["auditor"]
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 200
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_failed_logins_are_throttled_and_audited(client: TestClient) -> None:
    dpo = token(client, "dpo")
    for _ in range(5):
        r = client.post("/api/v1/auth/token", json={"username": "op1", "password": "wrong"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "op1", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    token(client, "op2")  # another account from the same address still logs in
    fails = [
        a
        for a in client.get("/api/v1/audit", headers=dpo).json()
        if a["action"] == "user.login_failed"
    ]
    assert len(fails) == 5 and all("wrong" not in str(a) for a in fails)


def _fail(t: LoginThrottle, user: str, addr: str) -> float:
    r, wait = t.reserve(user, addr)
    if r is None:
        return wait
    t.release(r, ok=False)
    return 0.0


def test_throttle_backs_off_per_address_and_username() -> None:
    now = [0.0]
    t = LoginThrottle(
        max_failures=2, backoff_s=1.0, lock_addresses=3, window_s=100, clock=lambda: now[0]
    )
    assert _fail(t, "a", "1.1.1.1") == 0 and _fail(t, "a", "1.1.1.1") == 0
    assert t.retry_after("a", "1.1.1.1") == 1.0  # back-off starts at 1 s
    assert t.retry_after("a", "2.2.2.2") == 0  # the account from elsewhere: not locked
    assert t.retry_after("b", "1.1.1.1") == 0  # another account from this address
    now[0] = 1.0
    assert _fail(t, "a", "1.1.1.1") == 0
    assert t.retry_after("a", "1.1.1.1") == 2.0  # and doubles
    # Failures from many addresses lock the account for everyone until they age out.
    _fail(t, "a", "2.2.2.2")
    _fail(t, "a", "3.3.3.3")
    assert t.retry_after("a", "4.4.4.4") == 99
    now[0] = 101.0
    assert t.retry_after("a", "4.4.4.4") == 0


def test_grants_expire_when_idle(w: World) -> None:
    now = [0.0]
    g = GrantStore(w.svc.ctx.factory, session_idle_s=5, clock=lambda: now[0])
    tok, _ = g.new_session(w.op1)
    assert g.lookup(tok, "session") is not None
    assert g.lookup(tok, "bearer") is None  # a session cookie is not a bearer token
    now[0] = 6.0
    assert g.lookup(tok, "session") is None


def test_password_change_ends_sessions(client: TestClient) -> None:
    h = token(client, "op2")
    body = {"current_password": "wrong password!", "new_password": "a much longer secret"}
    assert client.post("/api/v1/auth/password", json=body, headers=h).status_code == 403
    body["current_password"] = PASSWORD
    assert client.post("/api/v1/auth/password", json=body, headers=h).status_code == 200
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
    token(client, "op2", "a much longer secret")


def test_admin_creates_user_with_one_time_password(client: TestClient) -> None:
    h = token(client, "admin")
    r = client.post("/api/v1/users", json={"username": "newop", "roles": ["operator"]}, headers=h)
    assert r.status_code == 201
    otp = r.json()["one_time_password"]
    # The one-time password opens only the password change, over the API and in the console.
    r = client.post("/api/v1/auth/token", json={"username": "newop", "password": otp})
    assert r.json()["must_change_password"] is True
    t = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = client.get("/api/v1/deployments", headers=t)
    assert r.status_code == 403 and r.json()["error"] == "password_change_required"
    assert client.get("/api/v1/auth/me", headers=t).status_code == 200
    _login(client, "newop", otp)
    assert "must-change" in client.get("/operator").text  # redirected to /account
    client.cookies.clear()
    body = {"current_password": otp, "new_password": "my own long password"}
    assert client.post("/api/v1/auth/password", json=body, headers=t).status_code == 200
    t = token(client, "newop", "my own long password")
    assert client.get("/api/v1/deployments", headers=t).status_code == 200
    r = client.post("/api/v1/users", json={"username": "newop", "roles": ["operator"]}, headers=h)
    assert r.status_code == 409
