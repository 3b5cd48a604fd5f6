"""Console pages render for each role; SSE pushes a new alert to a connected operator."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.unit.api._support import (
    PASSWORD,
    app_for,
    ready_deployment,
    running_server,
    token,
    wait_for,
    world,
)

PAGES = {
    "op1": ["/operator", "/deployments", "/account"],
    "ao1": ["/deployments", "/operator"],
    "compiler": ["/deployments"],
    "dpo": ["/audit", "/operator"],
    "admin": ["/admin", "/audit"],
}


def _login(client: TestClient, user: str) -> None:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200


@pytest.mark.parametrize("user", sorted(PAGES))
def test_pages_render_for_each_role(client: TestClient, user: str) -> None:
    anonymous = client.get("/operator", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/operator"
    _login(client, user)
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303
    for page in PAGES[user]:
        r = client.get(page)
        assert r.status_code == 200 and "<main" in r.text, page
        assert "content-security-policy" in r.headers
    if user != "admin":
        assert "needs one of the roles" in client.get("/admin").text
    if user == "compiler":
        assert "needs one of the roles" in client.get("/workers").text


def test_deployment_page_shows_missing_items_and_expected_false_alerts(
    client: TestClient,
) -> None:
    h = token(client, "ao1")
    dep = client.post("/api/v1/deployments", json={"name": "Draft"}, headers=h).json()["id"]
    _login(client, "ao1")
    page = client.get(f"/deployments/{dep}").text
    assert "missing DPIA reference" in page and 'id="authorise"' in page


def test_alert_pushed_over_sse_to_a_connected_operator(tmp_path: Path) -> None:
    w = world(tmp_path)
    with running_server(app_for(w)) as base, httpx.Client(base_url=base, timeout=30) as c:
        dep = ready_deployment(c, w)
        op = token(c, "op1")
        got: list[tuple[float, dict[str, Any]]] = []
        connected = threading.Event()

        def listen() -> None:
            with c.stream("GET", "/api/v1/events", headers=op, timeout=30) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                connected.set()
                event = None
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "alert":
                        got.append((time.monotonic(), json.loads(line[6:])))
                        return

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        assert connected.wait(10)
        assert c.post(f"/api/v1/deployments/{dep}/start", headers=op).status_code == 200
        alerts = wait_for(lambda: c.get(f"/api/v1/deployments/{dep}/alerts", headers=op).json())
        t.join(10)
        assert got, "no alert event"
        _, a = got[0]
        assert a["id"] == alerts[0]["id"] and a["deployment_id"] == dep
        assert a["status"] == "pending" and a["score"] >= a["threshold"]
