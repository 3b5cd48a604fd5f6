"""/readyz told anyone on the network which parts of the centre were down (database, keys,
broker, consumer, retention job). The attacker: someone who can reach the centre's address but
holds no account, or an account of another role. The status code stays public (load balancers
read it); the checks and their reasons go only to the host itself (a loopback peer that no proxy
relayed), the metrics scrape token or a logged-in administrator."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from openlfr.governance.vocab import Role
from tests.unit.api._support import METRICS, ROLE_USER, app_for, token
from tests.unit.governance._support import World

REASON = "master key not loaded"


@pytest.fixture
def down(w: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The centre without its master key: not ready, for a reason."""
    monkeypatch.setattr(w.svc.ctx, "key_available", lambda: False)
    return w


def _ready(c: TestClient, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    r = c.get("/readyz", headers=headers or {})
    assert r.headers["cache-control"] == "no-store"
    return r.status_code, r.json()


def test_an_anonymous_remote_client_gets_the_code_without_reasons(down: World) -> None:
    with TestClient(app_for(down, sources={}), client=("203.0.113.9", 40000)) as c:
        code, body = _ready(c)
        assert code == 503 and body == {"ready": False}
        assert REASON not in c.get("/readyz").text
        # A wrong scrape token or a made-up bearer is anonymous too (and not a 401: still public).
        for bad in ("Bearer not-the-token", "Bearer " + "x" * 40, "Basic YWRtaW46eA=="):
            assert _ready(c, {"Authorization": bad}) == (503, {"ready": False}), bad
        # Every role but the administrator's: the code only.
        for role in Role:
            if role is not Role.ADMINISTRATOR:
                got = _ready(c, token(c, ROLE_USER[role.value]))
                assert got == (503, {"ready": False}), role


def test_the_administrator_the_scrape_token_and_the_host_get_reasons(down: World) -> None:
    with TestClient(app_for(down, sources={}), client=("203.0.113.9", 40000)) as c:
        for headers in (token(c, "admin"), METRICS):
            code, body = _ready(c, headers)
            assert code == 503 and body["checks"]["keys"] == {"ok": False, "why": REASON}
    for host in ("127.0.0.1", "::1"):
        with TestClient(app_for(down, sources={}), client=(host, 40000)) as c:
            code, body = _ready(c)
            assert code == 503 and body["checks"]["keys"]["why"] == REASON, host


@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-For": "203.0.113.9"},  # Caddy's reverse_proxy
        {"X-Forwarded-Proto": "https"},  # deploy/nginx-openlfr.conf
        {"Forwarded": "for=203.0.113.9;proto=https"},
        {"X-Real-IP": "203.0.113.9"},
    ],
)
def test_a_request_relayed_by_a_proxy_on_the_host_is_not_the_host(
    down: World, header: dict[str, str]
) -> None:
    with TestClient(app_for(down, sources={}), client=("127.0.0.1", 40000)) as c:
        assert _ready(c, header) == (503, {"ready": False})


def test_a_ready_centre_says_200_to_anyone(w: World) -> None:
    with TestClient(app_for(w, sources={}), client=("203.0.113.9", 40000)) as c:
        assert _ready(c) == (200, {"ready": True})
