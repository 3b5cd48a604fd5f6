"""Finding 9, urgent start (issue 19 item 5): an EU-mode use that goes live before the judicial
authorisation (A.3, Art 5(3)) is two officers' decision, the authoriser's and a second
authorising officer's countersignature (`urgent`); neither may be an account an administrator
alone could be holding (password set by them, or a role grant no second administrator
confirmed), checked when each signs and again at the start.

The attacker: one administrator who makes (or resets) two authorising officers and acts as both
to start a use the authority has not yet authorised.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from openlfr.errors import PermissionDeniedError, RuleViolation, TwoPersonRuleError
from openlfr.governance.deployment import Actor
from tests.unit.api._support import token
from tests.unit.governance._support import (
    PASSWORD,
    T0,
    World,
    add_entries,
    full_fields,
    settle_accounts,
)

NEW = "my own passphrase 42"
EU = dict(
    eu_mode=True,
    urgent=True,
    fria_ref="FRIA-1",
    eu_database_id="EU-9",
    art5_objective="Art 5(1)(h)(ii) imminent threat to life",
    ends_at=T0 + timedelta(days=3),
)
WHY = "imminent threat to life: the court cannot sit before tonight"


def _urgent_draft(w: World, officers: list[str], **over: Any) -> str:
    fields = full_fields(**{**EU, **over, "officers": officers})
    return w.svc.deployments.create_deployment(w.ao1, "Urgent", **fields)


def _countersigns(w: World, dep: str) -> list[dict[str, Any]]:
    return list(w.svc.deployments.deployment(dep)["countersigns"])


def _new_officer(w: World, name: str, *, settled: bool = False) -> Actor:
    a = w.svc.accounts.create_user(w.admin, name, PASSWORD, ["authorising_officer"])
    if settled:  # every account so far, as if each holder and a second administrator had acted
        settle_accounts(w.svc)
    return a


def test_an_admin_made_officer_is_neither_half_of_an_urgent_start(w: World) -> None:
    deps, acc = w.svc.deployments, w.svc.accounts
    ao5 = _new_officer(w, "ao5")
    dep = _urgent_draft(w, ["ao2", "ao5"])
    # The second half: refused, nothing recorded.
    with pytest.raises(TwoPersonRuleError, match="cannot take part in an urgent start"):
        deps.countersign(ao5, dep, "urgent", WHY)
    assert _countersigns(w, dep) == []
    # The first half (the authoriser): refused, the draft stays a draft.
    deps.countersign(w.ao2, dep, "urgent", WHY)
    with pytest.raises(TwoPersonRuleError, match="set their own"):
        deps.authorise(ao5, dep)
    # Its own password is not enough: the grant awaits a second administrator.
    acc.change_password(ao5, PASSWORD, NEW)
    with pytest.raises(TwoPersonRuleError, match="second administrator"):
        deps.authorise(ao5, dep)
    assert deps.deployment(dep)["state"] == "draft"
    acc.confirm_roles(None, ao5.id)  # the host's bootstrap confirmation stands in for admin 2
    deps.authorise(ao5, dep)
    add_entries(w, dep)
    w.svc.watchlists.sign_off(w.ao2, dep)
    w.clock.advance(hours=1)
    # Reset by an administrator between the authorisation and the start: the start is refused,
    # since the authoriser's account may now be in the administrator's hands.
    acc.reset_password(w.admin, ao5.id)
    with pytest.raises(TwoPersonRuleError, match="ao5 cannot take part in an urgent start"):
        deps.start(w.op1, dep)
    assert deps.deployment(dep)["state"] == "authorised"
    assert not w.svc.audit.audit_records(actions=("deployment.start",))


def test_one_person_cannot_be_both_halves(w: World) -> None:
    deps = w.svc.deployments
    dep = _urgent_draft(w, ["ao2"])
    with pytest.raises(RuleViolation, match=r"countersign urgent"):
        deps.authorise(w.ao1, dep)
    deps.countersign(w.ao1, dep, "urgent", WHY)  # the author of the draft signs as the second
    with pytest.raises(RuleViolation, match="different officer"):
        deps.authorise(w.ao1, dep)
    assert deps.deployment(dep)["state"] == "draft"
    deps.countersign(w.ao2, dep, "urgent", WHY)  # replaces it: now two people
    deps.authorise(w.ao1, dep)
    add_entries(w, dep)
    w.svc.watchlists.sign_off(w.ao2, dep)
    w.clock.advance(hours=1)
    deps.start(w.op1, dep)
    assert deps.deployment(dep)["state"] == "live"


def test_another_deployments_officer_or_a_wrong_role_is_refused(w: World) -> None:
    deps = w.svc.deployments
    stranger = _new_officer(w, "ao8", settled=True)  # established, but not named on it
    dep = _urgent_draft(w, ["ao2"])
    with pytest.raises(PermissionDeniedError):
        deps.countersign(stranger, dep, "urgent", WHY)
    for who in (w.op1, w.compiler, w.admin, w.dpo):
        with pytest.raises((PermissionDeniedError, RuleViolation)):
            deps.countersign(who, dep, "urgent", WHY)
    assert _countersigns(w, dep) == []
    deps.countersign(w.ao2, dep, "urgent", WHY)
    with pytest.raises(PermissionDeniedError):
        deps.authorise(stranger, dep)
    # Not an urgent use: nothing to countersign.
    plain = _urgent_draft(w, ["ao2"], urgent=False, judicial_authorisation_id="COURT-1")
    with pytest.raises(RuleViolation, match="urgent start in EU mode"):
        deps.countersign(w.ao2, plain, "urgent", WHY)


def test_an_urgent_start_with_its_authorisation_needs_no_second_officer(w: World) -> None:
    # With the authority's authorisation recorded before the start, it is not an urgent use.
    deps = w.svc.deployments
    dep = _urgent_draft(w, ["ao2"], judicial_authorisation_id="COURT-2026-30")
    deps.authorise(w.ao1, dep)
    assert deps.deployment(dep)["state"] == "authorised"


def test_api_and_cli_refuse_with_a_typed_error(
    w: World, client: Any, cli_env: Callable[..., Any]
) -> None:
    _new_officer(w, "ao8", settled=True)  # settles every account made so far: first
    _new_officer(w, "ao5")
    dep = _urgent_draft(w, ["ao2", "ao5"])
    path = f"/api/v1/deployments/{dep}/countersign"
    body = {"kind": "urgent", "reason": WHY}
    r = client.post(path, json=body, headers=token(client, "ao5"))
    assert r.status_code == 403 and r.json()["error"] == "two_person_rule", r.text
    assert "second administrator" in r.json()["message"]
    for who in ("ao8", "op1", "compiler", "admin"):  # another deployment's, or the wrong role
        assert client.post(path, json=body, headers=token(client, who)).status_code == 403, who
    assert _countersigns(w, dep) == []
    res = cli_env("deployment", "countersign", dep, "urgent", "--reason", WHY, "-u", "ao5")
    assert res.exit_code == 2 and "error (two_person_rule)" in res.output, res.output
    r = client.post(path, json=body, headers=token(client, "ao2"))
    assert r.status_code == 200, r.text
    assert [c["kind"] for c in _countersigns(w, dep)] == ["urgent"]
