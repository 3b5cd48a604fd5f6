"""Item 6: no single administrator can get around separation of duties (ASVS V1.4, V4.1.5;
requirement G.21)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openlfr.errors import NotFoundError, PermissionDeniedError, RuleViolation
from openlfr.vision.mock import MOCK_CONTRACT
from tests.security._two import Two, two_deployments
from tests.unit.api._support import PASSWORD, app_for, face_png, token
from tests.unit.governance._support import World, approval_for, settle_accounts, template


@pytest.fixture
def two(w: World) -> Two:
    return two_deployments(w)


@pytest.fixture
def api(w: World, two: Two) -> Iterator[TestClient]:
    with TestClient(app_for(w)) as c:
        yield c


def test_admin_gets_403_on_subject_access_and_erasure(api: TestClient) -> None:
    admin = token(api, "admin")
    r = api.post("/api/v1/subject-access", headers=admin, files={"photo": ("a.png", face_png())})
    assert r.status_code == 403
    r = api.post(
        "/api/v1/subject-access/erase",
        headers=admin,
        json={"search_id": 1, "hit_ids": [], "reason": "asked"},
    )
    assert r.status_code == 403


def test_admin_cannot_record_a_model_approval_alone(w: World, api: TestClient) -> None:
    admin = token(api, "admin")
    from tests.unit.governance._support import report_for

    report = report_for(approval_for(MOCK_CONTRACT))
    report["approval"]["contract_id"] = "other-model@1"
    r = api.post("/api/v1/models/approvals", headers=admin, json=report)
    assert r.status_code == 202 and r.json()["status"] == "pending_countersignature"
    # Countersigning one's own proposal is refused.
    r = api.post("/api/v1/models/approvals/other-model@1/countersign", headers=admin, json=report)
    assert r.status_code == 403
    # A different report (another digest) cannot be countersigned into force.
    tampered = {**report, "approval": {**report["approval"], "validated_min_threshold": 0.01}}
    r = api.post(
        "/api/v1/models/approvals/other-model@1/countersign",
        headers=token(api, "ao1"),
        json=tampered,
    )
    assert r.status_code == 409
    r = api.post(
        "/api/v1/models/approvals/other-model@1/countersign", headers=token(api, "ao1"), json=report
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"


def test_pending_approval_does_not_authorise(w: World) -> None:
    from tests.unit.governance._support import full_fields

    svc = w.svc

    svc.approvals.record_model_approval(w.admin, approval_for(MOCK_CONTRACT))
    dep = svc.deployments.create_deployment(w.ao1, "x", **full_fields())
    with pytest.raises(RuleViolation) as e:
        svc.deployments.authorise(w.ao1, dep)
    assert "model" in str(e.value)


def test_admin_cannot_edit_a_deployment_they_are_not_officer_of(api: TestClient, two: Two) -> None:
    admin = token(api, "admin")
    r = api.patch(f"/api/v1/deployments/{two.a.dep}", headers=admin, json={"location": "x"})
    assert r.status_code == 403
    r = api.post(f"/api/v1/deployments/{two.a.dep}/cancel", headers=admin, json={"reason": "x"})
    assert r.status_code == 403


def test_erasure_needs_a_recorded_search_and_a_second_person(w: World, two: Two) -> None:
    sr = w.svc.subject_rights
    with pytest.raises(PermissionDeniedError):
        sr.search(w.admin, template(99))
    probe = template(1)  # the person enrolled on A's list
    search = sr.search(w.dpo, probe, threshold=0.95)
    ids = [h.id for h in search.hits]
    assert two.a.entry in ids
    # Unknown ids are refused: erasure acts only on what the recorded search returned.
    with pytest.raises((RuleViolation, NotFoundError)):
        sr.request_erasure(w.dpo, search.id, [two.b.entry], "asked by the subject")
    with pytest.raises((RuleViolation, NotFoundError)):
        sr.request_erasure(w.dpo, 999_999, [two.a.entry], "asked by the subject")
    req = sr.request_erasure(w.dpo, search.id, [two.a.entry], "asked by the subject")
    with pytest.raises(PermissionDeniedError):
        sr.approve_erasure(w.dpo, req)  # not the same person
    with pytest.raises(PermissionDeniedError):
        sr.approve_erasure(w.admin, req)  # not an administrator
    dpo2 = w.svc.accounts.create_user(w.admin, "dpo2", PASSWORD, ["auditor"])
    settle_accounts(w.svc)  # its own password set, its role confirmed by a second admin
    n = sr.approve_erasure(dpo2, req)
    assert n == {"alerts": 0, "watchlist_entries": 1}  # only the chosen hit
    with pytest.raises(RuleViolation):
        sr.approve_erasure(dpo2, req)  # once only


def test_erase_with_unknown_ids_is_refused_over_the_api(w: World, api: TestClient) -> None:
    dpo = token(api, "dpo")
    r = api.post(
        "/api/v1/subject-access/erase",
        headers=dpo,
        json={"search_id": 424242, "hit_ids": ["deadbeef"], "reason": "asked"},
    )
    assert r.status_code in (404, 409)


def test_accounts_deactivate_roles_reset_with_audit(w: World, api: TestClient) -> None:
    admin = token(api, "admin")
    users = {u["username"]: u["id"] for u in api.get("/api/v1/users", headers=admin).json()}
    op2 = token(api, "op2")
    assert api.get("/api/v1/auth/me", headers=op2).status_code == 200
    r = api.post(f"/api/v1/users/{users['op2']}/deactivate", headers=admin, json={"reason": "left"})
    assert r.status_code == 200
    # Deactivation ends the user's sessions at once, and they cannot log in again.
    assert api.get("/api/v1/auth/me", headers=op2).status_code == 401
    r = api.post("/api/v1/auth/token", json={"username": "op2", "password": PASSWORD})
    assert r.status_code == 401
    r = api.put(
        f"/api/v1/users/{users['compiler2']}/roles",
        headers=admin,
        json={"roles": ["watchlist_compiler", "auditor"]},
    )
    assert r.status_code == 200
    r = api.post(f"/api/v1/users/{users['multi']}/password-reset", headers=admin)
    assert r.status_code == 200 and len(r.json()["one_time_password"]) >= 12
    dpo = token(api, "dpo")
    actions = [a["action"] for a in api.get("/api/v1/audit?limit=200", headers=dpo).json()]
    for act in ("user.deactivate", "user.roles", "user.password_reset"):
        assert act in actions
    # An administrator cannot lock themselves (the last administrator) out.
    r = api.post(f"/api/v1/users/{users['admin']}/deactivate", headers=admin, json={"reason": "x"})
    assert r.status_code in (403, 409)


def test_non_admin_cannot_manage_accounts(api: TestClient, w: World) -> None:
    h = token(api, "ao1")
    r = api.post(f"/api/v1/users/{w.op1.id}/deactivate", headers=h, json={"reason": "x"})
    assert r.status_code == 403


def test_cli_account_management_and_admin_refusals(w: World, two: Two, cli_env: Any) -> None:
    def run(*a: str) -> tuple[int, str]:
        r = cli_env(*a)
        return r.exit_code, r.output

    code, out = run("deployment", "update", two.a.dep, "--set", "location=x", "-u", "admin")
    assert code == 2 and "not assigned" in out
    code, out = run("user", "deactivate", "op2", "--reason", "left", "-u", "admin")
    assert code == 0, out
    assert not next(u for u in w.svc.accounts.users() if u["username"] == "op2")["active"]
    code, out = run("user", "deactivate", "op1", "--reason", "x", "-u", "ao1")
    assert code == 2 and "administrator" in out
