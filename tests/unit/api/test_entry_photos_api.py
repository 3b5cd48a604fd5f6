"""Further entry photos and expected hits over the REST API: per-deployment authorisation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.api._support import draft_fields, entry_form, face_png, token
from tests.unit.governance._support import World

OTHER_SHADE = (0, 0, 180)  # another "photo" of the red person: a different vector in the mock


def _compiled(client: TestClient) -> tuple[str, str]:
    ao1, comp = token(client, "ao1"), token(client, "compiler")
    r = client.post("/api/v1/deployments", json={"name": "T", **draft_fields()}, headers=ao1)
    dep = r.json()["id"]
    r = client.post(
        f"/api/v1/deployments/{dep}/watchlist",
        headers=comp,
        files={"photo": ("red.png", face_png(), "image/png")},
        data=entry_form(),
    )
    assert r.status_code == 201, r.text
    return dep, r.json()["id"]


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
    assert r.status_code == 409 and "not this deployment's watchlist compiler" in r.text
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
    assert r.status_code == 409
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
