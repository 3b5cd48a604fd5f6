"""Worker tokens: issued and revoked by an administrator; a worker gets the watchlists of live
deployments assigned to it and nothing else; people of every role are refused its routes."""

from __future__ import annotations

import base64

import numpy as np
from fastapi.testclient import TestClient

from tests.unit.api._support import ROLE_USER, app_for, ready_deployment, token
from tests.unit.governance._support import World


def _issue(client: TestClient, admin: dict[str, str], name: str) -> tuple[str, dict[str, str]]:
    r = client.post("/api/v1/workers", json={"name": name}, headers=admin)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token"].startswith("olw_")
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


def test_worker_tokens_are_scoped_to_assignments_and_revocable(w: World) -> None:
    with TestClient(app_for(w, sources={})) as client:
        admin, ao = token(client, "admin"), token(client, "ao1")
        dep = ready_deployment(client, w)
        w1, t1 = _issue(client, admin, "van-1")
        w2, t2 = _issue(client, admin, "van-2")
        # Registered by the administrator; assigned by the deployment's officer only.
        assert (
            client.put(f"/api/v1/workers/{w1}/deployments/{dep}", headers=admin).status_code == 403
        )
        assert client.put(f"/api/v1/workers/{w1}/deployments/{dep}", headers=ao).status_code == 200
        # Not live yet: nothing to run, no watchlist.
        assert client.get("/api/v1/worker/assignments", headers=t1).json() == []
        r = client.get(f"/api/v1/worker/deployments/{dep}/watchlist", headers=t1)
        assert r.status_code == 409, r.text
        op = token(client, "op1")
        assert client.post(f"/api/v1/deployments/{dep}/start", headers=op).status_code == 200

        (a,) = client.get("/api/v1/worker/assignments", headers=t1).json()
        assert a["deployment_id"] == dep and a["cameras"] == ["cam-1"]
        assert len(bytes.fromhex(a["alert_public_key"])) == 32
        wl = client.get(f"/api/v1/worker/deployments/{dep}/watchlist", headers=t1).json()
        vecs = np.frombuffer(base64.b64decode(wl["vectors_b64"]), "<f4").reshape(-1, wl["dim"])
        assert len(wl["entry_ids"]) == vecs.shape[0] == 1
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)

        # Another worker's token: no assignment, no watchlist.
        assert client.get("/api/v1/worker/assignments", headers=t2).json() == []
        r = client.get(f"/api/v1/worker/deployments/{dep}/watchlist", headers=t2)
        assert r.status_code == 403
        # People, whatever their role, are not workers; a forged worker token is nothing.
        for user in ROLE_USER.values():
            h = token(client, user)
            assert client.get("/api/v1/worker/assignments", headers=h).status_code == 403
            r = client.get(f"/api/v1/worker/deployments/{dep}/watchlist", headers=h)
            assert r.status_code == 403
        forged = {"Authorization": f"Bearer olw_{w1}_guess"}
        assert client.get("/api/v1/worker/assignments", headers=forged).status_code == 401
        # Only an administrator issues or revokes.
        r = client.post("/api/v1/workers", json={"name": "x"}, headers=op)
        assert r.status_code == 403

        r = client.post(
            f"/api/v1/workers/{w1}/revoke", json={"reason": "van stolen"}, headers=admin
        )
        assert r.status_code == 200
        assert client.get("/api/v1/worker/assignments", headers=t1).status_code == 401
        r = client.get(f"/api/v1/worker/deployments/{dep}/watchlist", headers=t1)
        assert r.status_code == 401
        listing = {x["id"]: x for x in client.get("/api/v1/workers", headers=admin).json()}
        assert listing[w1]["revoked"] and not listing[w2]["revoked"]

        # Ended: the assignment gives nothing any more.
        assert client.put(f"/api/v1/workers/{w2}/deployments/{dep}", headers=ao).status_code == 200
        assert len(client.get("/api/v1/worker/assignments", headers=t2).json()) == 1
        assert client.post(f"/api/v1/deployments/{dep}/end", headers=op).status_code == 200
        assert client.get("/api/v1/worker/assignments", headers=t2).json() == []
        r = client.get(f"/api/v1/worker/deployments/{dep}/watchlist", headers=t2)
        assert r.status_code == 409
