"""Item 7: small leaks closed (ASVS V3.4 cookies, V7.4 errors, V8.2 caching, V14.4 headers,
V5.1.5 redirects)."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from openlfr.errors import KeyUnavailableError
from openlfr.storage.crypto import MasterKey
from tests.unit.api._support import (
    METRICS_TOKEN,
    app_for,
    ready_deployment,
    token,
    wait_for,
)
from tests.unit.governance._support import World


def test_metrics_need_the_scrape_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200 and "openlfr_logins" in ok.text


def test_metrics_closed_without_a_configured_token(w: World) -> None:
    with TestClient(app_for(w, metrics_token=None)) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_no_store_on_tokens_faces_and_pages(client: TestClient, w: World) -> None:
    r = client.post(
        "/api/v1/auth/token", json={"username": "op1", "password": "correct horse battery"}
    )
    assert r.headers["cache-control"] == "no-store"
    dep = ready_deployment(client, w)
    comp = token(client, "compiler")
    entries = client.get(f"/api/v1/deployments/{dep}/watchlist", headers=comp).json()
    r = client.get(f"/api/v1/watchlist/entries/{entries[0]['id']}/image", headers=comp)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    for path in ("/api/v1/auth/me", f"/api/v1/deployments/{dep}", "/login", "/transparency"):
        assert client.get(path, headers=comp).headers["cache-control"] == "no-store", path


def test_secure_cookie_and_hsts_when_configured(w: World) -> None:
    with TestClient(app_for(w, cookie_secure=True, hsts=True)) as c:
        r = c.post(
            "/api/v1/auth/login", json={"username": "op1", "password": "correct horse battery"}
        )
        assert "secure" in r.headers["set-cookie"].lower()
        assert r.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize(
    "payload",
    [
        "/%5Cevil.example",
        "/%5cevil.example/x",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/%2F%2Fevil.example",
        "%2F%2Fevil.example",
        "/%09/evil.example",
        "javascript:alert(1)",
        "/%255Cevil.example",
    ],
)
def test_open_redirect_payloads_stay_on_site(client: TestClient, payload: str) -> None:
    page = client.get(f"/login?next={payload}").text
    m = re.search(r'data-next="([^"]*)"', page)
    assert m is not None, "the login form carries the checked target"
    target = m.group(1)
    assert target.startswith("/") and not target.startswith("//") and "\\" not in target
    assert "evil" not in target or target == "/"


def test_same_origin_next_is_kept(client: TestClient) -> None:
    page = client.get("/login?next=/deployments/abc").text
    assert 'data-next="/deployments/abc"' in page


def test_error_answers_never_carry_file_paths(w: World) -> None:
    def no_key() -> MasterKey:
        raise KeyUnavailableError(
            "no master key at /srv/secret/keys/master.key", source="/srv/secret/keys/master.key"
        )

    with TestClient(app_for(w)) as c:
        dep = ready_deployment(c, w)
        comp = token(c, "compiler")
        entry = c.get(f"/api/v1/deployments/{dep}/watchlist", headers=comp).json()[0]["id"]
        _break_master_key(w, no_key)
        r = c.get(f"/api/v1/watchlist/entries/{entry}/image", headers=comp)
        assert r.status_code >= 400 and r.json()["error"] == "key_unavailable", r.text
        assert "/srv/secret" not in r.text and "master.key" not in r.text


def _break_master_key(w: World, loader: object) -> None:
    """Point the service at a master key loader that fails (whatever the service layout)."""
    for obj in (w.svc, getattr(w.svc, "ctx", None)):
        if obj is not None and hasattr(obj, "_master_loader"):
            obj._master_loader = loader  # type: ignore[attr-defined]
            obj._master = None  # type: ignore[attr-defined]


def test_crash_logs_carry_the_type_not_the_message(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_engine() -> object:
        raise RuntimeError("PERSONAL-DATA-IN-MESSAGE /home/someone/photo.jpg")

    with TestClient(app_for(w)) as c:
        dep = ready_deployment(c, w)
        live = c.app.state.ctx.live  # type: ignore[attr-defined]
        live.engine.factory = broken_engine
        caplog.set_level(logging.INFO)
        r = c.post(f"/api/v1/deployments/{dep}/start", headers=token(c, "op1"))
        assert r.status_code == 200, r.text
        wait_for(lambda: any(s.error for s in live.status(dep)))
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "RuntimeError" in text
    assert "PERSONAL-DATA" not in text and "/home/someone" not in text
    assert not any(r.exc_info for r in caplog.records if r.name.startswith("openlfr"))


def test_server_log_filter_drops_exception_messages() -> None:
    from openlfr.safelog import TypeOnlyFilter

    try:
        raise ValueError("secret typed by a user")
    except ValueError:
        import sys

        rec = logging.LogRecord(
            "uvicorn.error", 40, "x", 1, "Exception in ASGI app", None, sys.exc_info()
        )
    assert TypeOnlyFilter().filter(rec)
    assert "secret" not in rec.getMessage() and rec.exc_info is None
    assert "ValueError" in rec.getMessage()
