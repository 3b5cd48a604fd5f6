"""Item 1: access is scoped to the deployment, not only to the role (ASVS V4.1.2, V4.2.1).

Two deployments with different staff: every read and write across them answers 403 or 404,
through the service, the API (including the event stream) and the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openlfr.errors import NotFoundError, PermissionDeniedError
from tests.security._two import Two, two_deployments
from tests.unit.api._support import app_for, token
from tests.unit.governance._support import PASSWORD, World

REFUSED = (PermissionDeniedError, NotFoundError)


@pytest.fixture
def two(w: World) -> Two:
    return two_deployments(w)


def _refused(fn: Any, *a: Any) -> None:
    with pytest.raises(REFUSED):
        fn(*a)


def _state(w: World, two: Two) -> dict[str, Any]:
    """Deployment A as its own staff and the auditor see it, re-read from the database: a
    refused cross-deployment call must leave all of it as it was."""
    svc, a = w.svc, two.a
    d = svc.deployments.deployment(a.dep)
    return {
        "deployment": {k: d[k] for k in ("state", "location", "ended_at", "threshold")},
        "alerts": svc.alerts.alerts(w.dpo, a.dep),
        "entries": svc.watchlists.entries(w.dpo, a.dep),
        "reviews": [
            r["subject"] for r in svc.audit.audit_records(actions=("alert.review",), limit=500)
        ],
    }


def test_service_refuses_every_cross_read_and_write(w: World, two: Two) -> None:
    svc, a = w.svc, two.a
    opB, compiler2, aoB = w.people["opB"], w.compiler2, w.people["aoB"]
    before = _state(w, two)
    _refused(svc.alerts.alerts, opB, a.dep)
    _refused(svc.alerts.alert_evidence, opB, a.alert)
    _refused(svc.alerts.review, opB, a.alert, "confirm", "looks like him")
    _refused(svc.watchlists.entries, opB, a.dep)
    _refused(svc.watchlists.entries, compiler2, a.dep)
    _refused(svc.watchlists.entry_image, compiler2, a.entry)
    _refused(svc.watchlists.entry_image, opB, a.entry)
    _refused(svc.watchlists.remove_entry, compiler2, a.entry, "not mine")
    _refused(svc.alerts.legal_hold, aoB, a.alert, "court order 1")
    _refused(svc.alerts.alerts, aoB, a.dep)
    _refused(svc.deployments.end, opB, a.dep)
    _refused(svc.deployments.view, opB, a.dep)
    _refused(lambda: svc.deployments.update_deployment(aoB, a.dep, location="elsewhere"))
    assert a.dep not in {d["id"] for d in svc.deployments.visible(opB)}
    assert {d["id"] for d in svc.deployments.visible(w.op1)} == {a.dep}
    assert _state(w, two) == before  # nothing of A changed
    # Own deployment: allowed.
    assert [x["id"] for x in svc.alerts.alerts(w.op1, a.dep)] == [a.alert]
    assert svc.alerts.alert_evidence(w.op1, a.alert)["probe_jpeg"]


def test_auditor_sees_records_but_never_a_face(w: World, two: Two) -> None:
    svc = w.svc
    assert [x["id"] for x in svc.alerts.alerts(w.dpo, two.a.dep)] == [two.a.alert]
    ev = svc.alerts.alert_evidence(w.dpo, two.a.alert)
    assert ev["probe_jpeg"] is None and ev["watchlist_jpeg"] is None and ev["score"] == 0.9
    _refused(svc.watchlists.entry_image, w.dpo, two.a.entry)


def test_legal_hold_only_by_the_deployments_own_officers(w: World, two: Two) -> None:
    svc = w.svc
    _refused(svc.alerts.legal_hold, w.dpo, two.a.alert, "court order 1")
    _refused(svc.alerts.legal_hold, w.people["aoB"], two.a.alert, "court order 1")
    svc.alerts.legal_hold(w.ao1, two.a.alert, "court order 1")
    svc.alerts.legal_hold(w.ao2, two.a.alert, None)


@pytest.fixture
def api(w: World, two: Two) -> Iterator[TestClient]:
    with TestClient(app_for(w)) as c:
        yield c


def test_api_refuses_every_cross_read_and_write(api: TestClient, two: Two, w: World) -> None:
    a = two.a
    before = _state(w, two)
    opB, compiler2, aoB = token(api, "opB"), token(api, "compiler2"), token(api, "aoB")
    calls: list[tuple[str, str, dict[str, str], dict[str, Any] | None]] = [
        ("GET", f"/api/v1/deployments/{a.dep}", opB, None),
        ("GET", f"/api/v1/deployments/{a.dep}/alerts", opB, None),
        ("GET", f"/api/v1/deployments/{a.dep}/alerts", aoB, None),
        ("GET", f"/api/v1/alerts/{a.alert}/evidence", opB, None),
        ("POST", f"/api/v1/alerts/{a.alert}/review", opB, {"decision": "confirm", "reason": "x"}),
        ("POST", f"/api/v1/alerts/{a.alert}/legal-hold", aoB, {"reason": "court order 7"}),
        ("GET", f"/api/v1/deployments/{a.dep}/watchlist", compiler2, None),
        ("GET", f"/api/v1/deployments/{a.dep}/watchlist", opB, None),
        ("GET", f"/api/v1/watchlist/entries/{a.entry}/image", compiler2, None),
        ("GET", f"/api/v1/watchlist/entries/{a.entry}/image", opB, None),
        ("DELETE", f"/api/v1/watchlist/entries/{a.entry}?reason=x", compiler2, None),
        ("PATCH", f"/api/v1/deployments/{a.dep}", aoB, {"location": "elsewhere"}),
        ("POST", f"/api/v1/deployments/{a.dep}/end", opB, None),
        ("GET", f"/api/v1/deployments/{a.dep}/live", opB, None),
        ("GET", f"/api/v1/events?deployment_id={a.dep}", opB, None),
    ]
    for method, url, h, body in calls:
        r = api.request(method, url, headers=h, json=body)
        assert r.status_code in (403, 404), f"{method} {url}: {r.status_code} {r.text[:200]}"
    listed = api.get("/api/v1/deployments", headers=opB).json()
    assert a.dep not in {d["id"] for d in listed}
    assert _state(w, two) == before  # nothing of A changed


def test_event_stream_carries_only_own_deployments(api: TestClient, two: Two, w: World) -> None:
    from openlfr.api.routers import alerts as alerts_router

    # The stream's snapshot function, as the stream itself calls it.
    class Req:
        app = api.app

    got = alerts_router._live_alerts(Req(), w.people["opB"], None)  # type: ignore[arg-type]
    assert {x["deployment_id"] for x in got} == {two.b.dep}


def test_event_stream_increments_stay_own_deployments(api: TestClient, two: Two, w: World) -> None:
    from openlfr.api.routers import alerts as alerts_router
    from openlfr.services.alerts import AlertIn
    from openlfr.vision.mock import MOCK_CONTRACT
    from tests.unit.api._support import CAMERA

    class Req:
        app = api.app

    def record(dep: str, entry: str) -> str:
        return w.svc.alerts.record_alert(dep, AlertIn(
            camera_id=CAMERA, entry_id=entry, score=0.9, threshold=0.5,
            contract_id=MOCK_CONTRACT.id, detected_at=w.clock()))  # fmt: skip

    opB = w.people["opB"]
    feed = alerts_router._Feed()
    first = alerts_router._live_alerts(Req(), opB, None, feed)  # type: ignore[arg-type]
    assert [x["id"] for x in first] == [two.b.alert]
    # New alerts on both sides and a review on the other side: the next read carries only
    # this side's new alert (the other side's changes are in the same audit log).
    new_a, new_b = record(two.a.dep, two.a.entry), record(two.b.dep, two.b.entry)
    w.svc.alerts.review(w.people["op1"], two.a.alert, "confirm", "the listed person")
    nxt = alerts_router._live_alerts(Req(), opB, None, feed)  # type: ignore[arg-type]
    assert [x["id"] for x in nxt] == [new_b] and new_a != new_b
    assert alerts_router._live_alerts(Req(), opB, None, feed) == []  # type: ignore[arg-type]
    # The other side's operator sees the review of their alert as a change.
    op1_feed = alerts_router._Feed(cursor=feed.cursor, known=frozenset({two.a.dep}))
    w.svc.alerts.review(w.people["op2"], two.a.alert, "confirm", "agreed")
    got = alerts_router._live_alerts(Req(), w.people["op1"], None, op1_feed)  # type: ignore[arg-type]
    assert [x["id"] for x in got] == [two.a.alert]
    _refused(w.svc.alerts.feed, opB, [two.a.dep], None, [two.a.dep])
    _refused(w.svc.alerts.feed, opB, [two.a.dep], 0, [])


def test_console_fetches_evidence_only_for_its_own_deployments(api: TestClient, two: Two) -> None:
    js = (Path(__file__).resolve().parents[2] / "src/openlfr/web/static/alerts.js").read_text()
    # The page lists the deployments whose faces this user may see; the script fetches
    # evidence only for alerts of those (the server refuses the rest anyway).
    assert "mine.has(a.deployment_id)" in js
    r = api.post("/api/v1/auth/login", json={"username": "opB", "password": PASSWORD})
    assert r.status_code == 200
    page = api.get("/operator").text
    assert f'data-mine="{two.b.dep}"' in page and two.a.dep not in page
    r = api.get(f"/deployments/{two.a.dep}")
    assert two.a.entry not in r.text and two.a.alert not in r.text


def test_cli_refuses_every_cross_read_and_write(cli_env: Any, two: Two, w: World) -> None:
    a = two.a
    before = _state(w, two)
    for args in (
        ("alert", "list", a.dep, "-u", "opB"),
        ("watchlist", "list", a.dep, "-u", "compiler2"),
        ("alert", "hold", a.alert, "--reason", "court order 9", "-u", "aoB"),
        ("alert", "review", a.alert, "confirm", "--reason", "x", "-u", "opB"),
        ("deployment", "end", a.dep, "-u", "opB"),
        ("deployment", "show", a.dep, "-u", "opB"),
    ):
        r = cli_env(*args)
        assert r.exit_code == 2, f"{args}: {r.exit_code} {r.output}"
        assert "not assigned" in r.output or "permission" in r.output.lower(), r.output
    assert _state(w, two) == before  # nothing of A changed
    r = cli_env("alert", "list", a.dep, "-u", "op1")
    assert r.exit_code == 0 and a.alert in r.output
    json.dumps(r.output)
