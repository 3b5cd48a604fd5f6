"""Finding 9: one administrator met a two-person rule alone (created two auditors, took their
one-time passwords, logged in as both: one person held both halves of an erasure); and `serve`
wrote one `~/.config/openlfr/audit.key` that every instance a user ran shared.

Now an account an administrator made or reset counts as one of the two only once its holder
has set their own password and a second administrator has confirmed its roles; and each
instance keeps its own audit key in its own folder beside its master key.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from openlfr.config.settings import Settings
from openlfr.errors import NotFoundError, PermissionDeniedError
from openlfr.services.approvals import report_digest
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.governance._support import PASSWORD, World, approval_for

NEW = "my own passphrase 42"


def test_admin_made_accounts_cannot_complete_an_erasure(w: World) -> None:
    acc = w.svc.accounts
    a1 = acc.create_user(w.admin, "aud1", PASSWORD, ["auditor"])
    a2 = acc.create_user(w.admin, "aud2", PASSWORD, ["auditor"])
    # The administrator knows both passwords and acts as both: refused.
    sr = w.svc.subject_rights
    with pytest.raises(PermissionDeniedError, match="cannot take part in an erasure"):
        sr.request_erasure(a1, 999_999, None, "asked by the subject")
    with pytest.raises(PermissionDeniedError, match="cannot take part in an erasure"):
        sr.approve_erasure(a2, 999_999)
    # Even with the passwords changed (by whoever knew them), the roles await a second admin.
    acc.change_password(a1, PASSWORD, NEW)
    acc.change_password(a2, PASSWORD, NEW)
    with pytest.raises(PermissionDeniedError, match="second administrator"):
        sr.request_erasure(a1, 999_999, None, "asked by the subject")
    # The granting administrator cannot confirm their own grant, nor a holder their own roles.
    with pytest.raises(PermissionDeniedError):
        acc.confirm_roles(w.admin, a1.id)
    # A second administrator (whose own grant was confirmed by the host at bootstrap) can.
    admin2 = acc.create_user(w.admin, "admin2", PASSWORD, ["administrator"])
    with pytest.raises(PermissionDeniedError):
        acc.confirm_roles(admin2, admin2.id)
    acc.confirm_roles(None, admin2.id)  # the single-administrator bootstrap, at the host
    acc.confirm_roles(admin2, a1.id)
    acc.confirm_roles(admin2, a2.id)
    assert {u["username"]: u["two_person_ready"] for u in acc.users()}["aud1"]
    with pytest.raises(NotFoundError):  # past the two-person check: no such search
        sr.request_erasure(a1, 999_999, None, "asked by the subject")
    with pytest.raises(NotFoundError):
        sr.approve_erasure(a2, 999_999)
    # A reset by an administrator puts the account back out until its holder sets a password.
    acc.reset_password(w.admin, a2.id)
    (u2,) = [u for u in acc.users() if u["username"] == "aud2"]
    assert not u2["two_person_ready"]


def test_a_reset_takes_a_second_administrator_again(w: World) -> None:
    # One administrator resets an established auditor, logs in with the one-time password and
    # sets a password: that is not the holder's own, so the reset reopens the role grant.
    acc, sr = w.svc.accounts, w.svc.subject_rights
    aud = acc.create_user(w.admin, "aud3", PASSWORD, ["auditor"])
    acc.change_password(aud, PASSWORD, NEW)
    acc.confirm_roles(None, aud.id)
    with pytest.raises(NotFoundError):  # established: past the two-person check
        sr.request_erasure(aud, 999_999, None, "asked by the subject")
    otp = acc.reset_password(w.admin, aud.id)
    acc.change_password(aud, otp, "chosen by the administrator 7")
    with pytest.raises(PermissionDeniedError, match="second administrator"):
        sr.request_erasure(aud, 999_999, None, "asked by the subject")
    with pytest.raises(PermissionDeniedError):  # not by the administrator who reset it
        acc.confirm_roles(w.admin, aud.id)
    admin2 = acc.create_user(w.admin, "admin2", PASSWORD, ["administrator"])
    acc.confirm_roles(admin2, aud.id)
    with pytest.raises(NotFoundError):
        sr.request_erasure(aud, 999_999, None, "asked by the subject")


def test_admin_made_accounts_cannot_countersign_a_model_approval(w: World) -> None:
    acc = w.svc.accounts
    ao = acc.create_user(w.admin, "ao9", PASSWORD, ["authorising_officer"])
    approval = approval_for(MOCK_CONTRACT)
    w.svc.approvals.record_model_approval(w.admin, approval)
    with pytest.raises(PermissionDeniedError, match="cannot take part in a model approval"):
        w.svc.approvals.countersign(ao, approval.contract_id, report_digest(approval))
    acc.change_password(ao, PASSWORD, NEW)
    acc.confirm_roles(None, ao.id)
    # A role change by an administrator needs confirming again.
    ao = acc.set_roles(w.admin, ao.id, ["authorising_officer", "auditor"])
    with pytest.raises(PermissionDeniedError, match="second administrator"):
        w.svc.approvals.countersign(ao, approval.contract_id, report_digest(approval))
    acc.confirm_roles(None, ao.id)
    assert w.svc.approvals.countersign(ao, approval.contract_id, report_digest(approval))


def test_the_api_confirms_roles_only_by_a_second_administrator(w: World) -> None:
    from fastapi.testclient import TestClient

    from tests.unit.api._support import app_for, token

    acc = w.svc.accounts
    admin2 = acc.create_user(w.admin, "admin2", PASSWORD, ["administrator"])
    acc.confirm_roles(None, admin2.id)
    fresh = acc.create_user(w.admin, "aud7", PASSWORD, ["auditor"])
    with TestClient(app_for(w, sources={})) as c:
        path = f"/api/v1/users/{fresh.id}/confirm-roles"
        assert c.post(path, headers=token(c, "admin")).status_code == 403  # their own grant
        assert c.post(path, headers=token(c, "dpo")).status_code == 403  # not an administrator
        assert c.post(path, headers=token(c, "admin2")).status_code == 200


def _instance(tmp: Path, name: str, monkeypatch: pytest.MonkeyPatch, key: bytes | None) -> Path:
    from openlfr.api.server import bootstrap

    if key is None:
        monkeypatch.delenv("OPENLFR_MASTER_KEY", raising=False)
    else:
        monkeypatch.setenv("OPENLFR_MASTER_KEY", base64.b64encode(key).decode())
    b = bootstrap(Settings(data_dir=tmp / name, key_dir=tmp / "conf", database_url=None))
    assert b.service.audit.verify_audit().ok
    path = b.service.ctx.settings.audit_key_file
    assert path is not None
    return path


def test_each_instance_has_its_own_audit_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENLFR_AUDIT_KEY", raising=False)
    one = _instance(tmp_path, "one", monkeypatch, None)
    two = _instance(tmp_path, "two", monkeypatch, b"\x02" * 32)  # its own master key
    assert one != two and one.read_text() != two.read_text()
    assert not (tmp_path / "conf" / "audit.key").exists()  # nothing shared
    assert one.parent.parent == tmp_path / "conf" / "instances"
    # Both chains still verify after either restarts.
    assert _instance(tmp_path, "one", monkeypatch, None) == one
    assert _instance(tmp_path, "two", monkeypatch, b"\x02" * 32) == two


def test_an_older_install_keeps_its_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance whose chain was written with the shared `audit.key` of older versions gets
    that key in its own folder; one whose chain used the master-key-derived key gets that."""
    from openlfr.api.server import bootstrap

    monkeypatch.delenv("OPENLFR_AUDIT_KEY", raising=False)
    monkeypatch.delenv("OPENLFR_MASTER_KEY", raising=False)
    legacy = tmp_path / "conf" / "audit.key"
    old = Settings(data_dir=tmp_path / "old", key_dir=tmp_path / "conf", database_url=None)
    old.governance.audit_key_file = legacy  # as older versions resolved it
    b = bootstrap(old)
    assert legacy.is_file() and b.service.audit.verify_audit().ok
    path = _instance(tmp_path, "old", monkeypatch, None)  # upgraded: per-instance default
    assert path != legacy and path.read_text() == legacy.read_text()
