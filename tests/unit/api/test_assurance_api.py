"""Item 12 over HTTP (mock engine): a test walk-by per camera, the flag and its acknowledgement,
the public record and downloads, and refusals for another deployment's people."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.api._support import (
    CAMERA,
    app_for,
    draft_fields,
    enrol_red,
    face_png,
    token,
    walking_source,
    world,
)
from tests.unit.governance._support import World
from tests.unit.pipeline.conftest import BLUE, GREEN, RED

FOGGY = "cam-fog"  # a camera where nobody from the test list is seen
WANTED = "cam-wanted"  # only the watchlisted (red) person walks past


@pytest.fixture
def w(tmp_path: Path) -> World:
    return world(tmp_path)


@pytest.fixture
def client(w: World) -> Iterator[TestClient]:
    app = app_for(
        w,
        sources={
            CAMERA: lambda: walking_source(GREEN),
            FOGGY: lambda: walking_source(BLUE),
            WANTED: lambda: walking_source(RED),
        },
    )
    with TestClient(app) as c:
        yield c


def _live(client: TestClient, w: World) -> str:
    ao1, ao2, comp = token(client, "ao1"), token(client, "ao2"), token(client, "compiler")
    body = {
        "name": "Walk-by",
        **draft_fields(operators=["op1"]),
        "cameras": [CAMERA, FOGGY, WANTED],
    }
    dep: str = client.post("/api/v1/deployments", json=body, headers=ao1).json()["id"]
    r = client.patch(
        f"/api/v1/deployments/{dep}/assurance", json={"min_walkby_tpir": 0.9}, headers=ao1
    )
    assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/deployments/{dep}/authorise", headers=ao1).status_code == 200
    enrol_red(client, dep, comp)
    assert client.post(f"/api/v1/deployments/{dep}/watchlist/sign-off", headers=ao2).is_success
    w.clock.advance(hours=1)
    # Through the service, not the route: no operational pipelines run beside the walk-bys.
    w.svc.deployments.start(w.op1, dep)
    return dep


def _subject(client: TestClient, dep: str, who: str, ref: str = "PC 1") -> int:
    return client.post(
        f"/api/v1/deployments/{dep}/test-subjects",
        headers=token(client, who),
        files={"photo": ("green.png", face_png(GREEN), "image/png")},
        data={"subject_ref": ref, "consent_ref": "CF-1", "consented_on": "2026-05-30"},
    ).status_code


def test_walkby_measures_tpir_flags_and_the_officer_acknowledges(
    client: TestClient, w: World
) -> None:
    dep = _live(client, w)
    op1, ao1 = token(client, "op1"), token(client, "ao1")
    assert _subject(client, dep, "op1") == 201
    r = client.post(f"/api/v1/deployments/{dep}/walkby", json={"camera_id": CAMERA}, headers=op1)
    assert r.status_code == 200, r.text
    good = r.json()
    assert (good["walked"], good["alerted"], good["tpir"]) == (1, 1, 1.0)
    assert not good["flagged"] and good["scores"] and good["tpir_lower"] < 1.0
    r = client.post(f"/api/v1/deployments/{dep}/walkby", json={"camera_id": FOGGY}, headers=op1)
    bad = r.json()
    assert bad["tpir"] == 0.0 and bad["below_level"] and bad["flagged"]
    view = client.get(f"/api/v1/deployments/{dep}/assurance", headers=op1).json()
    assert view["held"] and len(view["walkby_runs"]) == 2
    # Test alerts are not operational alerts.
    assert client.get(f"/api/v1/deployments/{dep}/alerts", headers=op1).json() == []
    ack = f"/api/v1/deployments/{dep}/walkby/acknowledge"
    assert client.post(ack, json={"reason": "x"}, headers=token(client, "ao2")).status_code == 403
    assert client.post(ack, json={"reason": "x"}, headers=op1).status_code == 403
    assert client.post(ack, json={"reason": "lens cleaned"}, headers=ao1).status_code == 200
    view = client.get(f"/api/v1/deployments/{dep}/assurance", headers=op1).json()
    assert view["held"] is None and view["walkby_acknowledged"]
    # After it ends, the public record carries the walk-by result and the false-alert figures.
    assert client.post(f"/api/v1/deployments/{dep}/end", headers=op1).status_code == 200
    pub = client.get("/api/v1/public/deployments").json()
    a = pub[0]["record"]["assurance"]
    assert "cam-1: 1/1 (TPIR 1.00" in a["walkby_result"] and "below level" in a["walkby_result"]
    assert a["expected_false_alerts_per_1000_faces"] is not None
    csv = client.get("/api/v1/public/deployments.csv")
    assert csv.status_code == 200 and "assurance.walkby_result" in csv.text
    assert "attachment" in csv.headers["content-disposition"]
    year = w.clock().year
    annual = client.get(f"/api/v1/public/annual/{year}").json()
    assert annual["walkby_runs"] == 2 and annual["walkby_runs_below_level"] == 1
    assert "equality" in annual and "false_alerts_per_1000_faces_upper" in annual
    assert client.get(f"/api/v1/public/annual/{year}.csv").text.startswith("year,")
    html = client.get("/transparency").text
    assert "test walk-by result" in html and "Equality monitoring" in html


def test_another_deployments_people_and_wrong_roles_are_refused(
    client: TestClient, w: World
) -> None:
    dep = _live(client, w)
    op2 = token(client, "op2")  # an operator, but not of this deployment
    assert _subject(client, dep, "op2") == 403
    assert _subject(client, dep, "dpo") == 403
    walk = f"/api/v1/deployments/{dep}/walkby"
    assert client.post(walk, json={"camera_id": CAMERA}, headers=op2).status_code == 403
    assert client.get(f"/api/v1/deployments/{dep}/assurance", headers=op2).status_code == 403
    assert client.get(f"/api/v1/deployments/{dep}/test-subjects", headers=op2).status_code == 403
    decision = {"choice": "resume", "reason": "fine"}
    r = client.post(
        f"/api/v1/deployments/{dep}/monitor/decision", json=decision, headers=token(client, "ao2")
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/deployments/{dep}/monitor/decision", json=decision, headers=token(client, "ao1")
    )
    assert r.status_code == 409  # the authoriser, but nothing is paused
    r = client.patch(
        f"/api/v1/deployments/{dep}/assurance",
        json={"min_walkby_tpir": 0.1},
        headers=token(client, "ao1"),
    )
    assert r.status_code == 409  # fixed at authorisation
    prof = client.get("/api/v1/profile", headers=op2).json()
    assert prof["profile"] == "police_uk"


def test_a_paused_deployment_keeps_counting_faces_but_records_no_alert(
    client: TestClient, w: World
) -> None:
    from openlfr.services.run import run_deployment
    from openlfr.vision.mock import mock_engine
    from tests.unit.api._support import MOCK_PIPELINE

    dep = _live(client, w)
    svc = w.svc
    svc.deployments.add_counters(dep, faces=10)
    first = run_deployment(
        svc,
        w.op1,
        dep,
        walking_source(RED),
        camera_id=CAMERA,
        engine=mock_engine(),
        pipeline_config=MOCK_PIPELINE,
    )
    assert first.alerts_recorded == 1
    for a in svc.alerts.alerts(w.op1, dep):
        svc.alerts.review(w.op1, a["id"], "reject", "not the person")
    assert svc.assurance.view(w.op1, dep)["monitor_state"] == "paused"
    faces = svc.deployments.deployment(dep)["faces_processed"]
    again = run_deployment(
        svc,
        w.op1,
        dep,
        walking_source(RED),
        camera_id=CAMERA,
        engine=mock_engine(),
        pipeline_config=MOCK_PIPELINE,
    )
    assert again.alerts_recorded == 0
    assert svc.deployments.deployment(dep)["faces_processed"] > faces
    assert svc.assurance.record(dep)["suppressed_matches"] >= 1


def test_a_walkby_searches_the_test_list_only(client: TestClient, w: World) -> None:
    """The watchlisted person walking past during a walk-by raises neither a test hit nor an
    operational alert: the walk-by never searches the watchlist, nor the watchlist the test list."""
    dep = _live(client, w)
    op1 = token(client, "op1")
    assert _subject(client, dep, "op1") == 201
    r = client.post(f"/api/v1/deployments/{dep}/walkby", json={"camera_id": WANTED}, headers=op1)
    assert r.status_code == 200, r.text
    assert r.json()["alerted"] == 0 and r.json()["scores"] == []
    assert client.get(f"/api/v1/deployments/{dep}/alerts", headers=op1).json() == []


def test_a_declared_group_is_optional_checked_and_refused_to_wrong_roles(
    client: TestClient, w: World
) -> None:
    dep = _live(client, w)

    def post(who: str, **declared: str) -> int:
        return client.post(
            f"/api/v1/deployments/{dep}/test-subjects",
            headers=token(client, who),
            files={"photo": ("green.png", face_png(GREEN), "image/png")},
            data={"subject_ref": "PC 2", "consent_ref": "CF-2", "consented_on": "2026-05-30"}
            | declared,
        ).status_code

    assert post("op1", declared_sex="", declared_ethnicity="") == 201  # "not given"
    assert post("op1", declared_sex="female", declared_ethnicity="white") == 201
    assert post("op1", declared_ethnicity="caucasian") == 409  # not a vocabulary word: no row
    assert post("op2", declared_sex="male") == 403  # another deployment's operator
    assert post("dpo", declared_sex="male") == 403  # wrong role
    subjects = client.get(
        f"/api/v1/deployments/{dep}/test-subjects", headers=token(client, "op1")
    ).json()
    assert len(subjects) == 2 and all("declared" not in k for s in subjects for k in s)
