"""Further entry photos and expected hits over the REST API: per-deployment authorisation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.api._support import draft_fields, enrol_red, face_png, token
from tests.unit.governance._support import World

OTHER_SHADE = (0, 0, 180)  # another "photo" of the red person: a different vector in the mock


def _compiled(client: TestClient) -> tuple[str, str]:
    ao1, comp = token(client, "ao1"), token(client, "compiler")
    r = client.post("/api/v1/deployments", json={"name": "T", **draft_fields()}, headers=ao1)
    dep = r.json()["id"]
    return dep, enrol_red(client, dep, comp)


def _photo(client: TestClient, eid: str, who: str, colour=OTHER_SHADE):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/watchlist/entries/{eid}/photos",
        headers=token(client, who),
        files={"photo": ("p.png", face_png(colour), "image/png")},
        data={"image_captured_on": "2024-05-01"},
    )


def test_only_the_lists_compiler_adds_photos_and_counts_show(client: TestClient, w: World) -> None:
    dep, eid = _compiled(client)
    # Another deployment, compiled by compiler2: its compiler may not touch this list.
    ao1 = token(client, "ao1")
    r = client.post(
        "/api/v1/deployments",
        json={"name": "Other", **draft_fields(compiler="compiler2")},
        headers=ao1,
    )
    assert r.status_code == 201, r.text
    r = _photo(client, eid, "compiler2")
    # Another deployment's compiler is refused outright (deployment scoping, issue 10).
    assert r.status_code == 403 and "not assigned to this deployment" in r.text
    for who in ("op1", "ao1", "dpo", "admin"):
        assert _photo(client, eid, who).status_code == 403, who

    comp = token(client, "compiler")
    entries = client.get(f"/api/v1/deployments/{dep}/watchlist", headers=comp).json()
    assert entries[0]["photos"] == 1 and "single_photo" in entries[0]["flags"]
    one = entries[0]["expected_hit_rate"]

    r = _photo(client, eid, "compiler")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["photos"] == 2 and body["expected_hit_rate"] > one
    assert _photo(client, eid, "compiler").status_code == 409  # the same picture again

    entries = client.get(f"/api/v1/deployments/{dep}/watchlist", headers=comp).json()
    assert entries[0]["photos"] == 2 and "single_photo" not in entries[0]["flags"]
    photos = client.get(f"/api/v1/watchlist/entries/{eid}/photos", headers=comp)
    assert photos.status_code == 200 and [p["first"] for p in photos.json()] == [True, False]
    admin = token(client, "admin")
    assert client.get(f"/api/v1/watchlist/entries/{eid}/photos", headers=admin).status_code == 403
    hits = client.get(f"/api/v1/deployments/{dep}/watchlist/expected-hits", headers=ao1)
    assert hits.status_code == 200 and hits.json()["photo_counts"] == {"2": 1}
    r = client.get(f"/api/v1/deployments/{dep}/watchlist/expected-hits", headers=admin)
    assert r.status_code == 403

    pid = body["id"]
    other = token(client, "compiler2")
    r = client.delete(f"/api/v1/watchlist/photos/{pid}", params={"reason": "x"}, headers=other)
    assert r.status_code == 403  # another deployment's compiler (issue 10)
    r = client.delete(f"/api/v1/watchlist/photos/{pid}", params={"reason": "x"}, headers=ao1)
    assert r.status_code == 403
    r = client.delete(f"/api/v1/watchlist/photos/{pid}", params={"reason": "wrong"}, headers=comp)
    assert r.status_code == 200
    assert _photo(client, eid, "compiler").status_code == 201


def test_authorisation_and_sign_off_answer_expected_hits(client: TestClient) -> None:
    dep, eid = _compiled(client)
    assert _photo(client, eid, "compiler").status_code == 201
    r = client.post(f"/api/v1/deployments/{dep}/authorise", headers=token(client, "ao1"))
    assert r.status_code == 200
    auth = r.json()
    assert auth["expected_false_alerts"] > 0 and auth["expected_hit_rate"] is not None
    r = client.post(f"/api/v1/deployments/{dep}/watchlist/sign-off", headers=token(client, "ao2"))
    assert r.status_code == 200 and r.json()["expected_hit_rate"] == auth["expected_hit_rate"]
    d = client.get(f"/api/v1/deployments/{dep}", headers=token(client, "ao1")).json()
    assert d["expected_hit_rate"] == d["expected_hit_rate_signoff"] == auth["expected_hit_rate"]
    assert d["expected_hits"]["sign_off"]["photo_counts"] == {"2": 1}
    r = _photo(client, eid, "compiler", colour=(0, 0, 120))
    assert r.status_code == 409 and "signed off" in r.text


def _login(client: TestClient, user: str) -> None:
    from tests.unit.api._support import PASSWORD

    client.cookies.clear()
    r = client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200


def test_console_shows_photos_and_expected_hits_beside_false_alerts(client: TestClient) -> None:
    dep, eid = _compiled(client)
    _login(client, "compiler")
    page = client.get(f"/deployments/{dep}").text
    assert 'class="photos">1<' in page and "Single photo" in page
    assert 'id="single-photo-warning"' in page and "add-photo" in page
    assert _photo(client, eid, "compiler").status_code == 201
    page = client.get(f"/deployments/{dep}").text
    assert 'class="photos">2<' in page and 'id="single-photo-warning"' not in page
    assert 'class="ehr">59%<' in page  # TPIR lower bound of 2 photos, 1 shot at 0.5

    _login(client, "ao1")
    page = client.get(f"/deployments/{dep}").text
    assert "add-photo" not in page  # only the compiler adds photos
    assert 'id="efa"' in page and '<strong id="ehr">59%</strong>' in page
    client.post(f"/api/v1/deployments/{dep}/authorise", headers=token(client, "ao1"))
    page = client.get(f"/deployments/{dep}").text
    assert 'id="expected-hits">59% of listed people found' in page


def test_public_record_shows_expected_beside_measured(client: TestClient, w: World) -> None:
    from tests.unit.api._support import ready_deployment

    dep = ready_deployment(client, w)
    w.svc.deployments.start(w.op1, dep)
    w.svc.deployments.end(w.op1, dep)
    page = client.get("/transparency").text
    assert "false alerts: expected / measured" in page
    assert "34% / 34%" in page  # one single-photo entry, at authorisation and sign-off
    assert "listed people found (confirmed alerts)</th><td>0 of 1" in page
    rec = client.get("/api/v1/public/deployments").json()[0]["record"]
    assert rec["expected_hit_rate_at_sign_off"] == 0.34 and rec["single_photo_entries"] == 1
