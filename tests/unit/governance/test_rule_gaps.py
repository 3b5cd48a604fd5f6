"""Rules the control audit of issue 22 found untested: A.4's "a different officer" for a
no-notice start, and D.14's record of alerts without a final outcome."""

from __future__ import annotations

import pytest

from openlfr.errors import RuleViolation
from tests.unit.governance._support import World, draft, live, record_alert


def test_no_notice_start_needs_a_second_different_officer(world: World) -> None:
    w = world
    dep = draft(w, public_notice_at=None, no_notice_reason="covert: suspect would flee")
    with pytest.raises(RuleViolation, match=r"needs a second authoriser \(countersign no_notice"):
        w.svc.deployments.authorise(w.ao1, dep)
    # The authorising officer countersigning their own no-notice start does not count.
    w.svc.deployments.countersign(w.ao1, dep, "no_notice", "I agree with myself")
    with pytest.raises(RuleViolation, match="no-notice countersignature must be by a different"):
        w.svc.deployments.authorise(w.ao1, dep)
    assert w.svc.deployments.deployment(dep)["state"] == "draft"
    w.svc.deployments.countersign(w.ao2, dep, "no_notice", "agreed: risk of flight")
    w.svc.deployments.authorise(w.ao1, dep)
    assert w.svc.deployments.deployment(dep)["state"] == "authorised"
    dep2 = draft(w, public_notice_at=None)  # no reason recorded at all
    w.svc.deployments.countersign(w.ao2, dep2, "no_notice", "agreed")
    with pytest.raises(RuleViolation, match="no recorded reason for starting without notice"):
        w.svc.deployments.authorise(w.ao1, dep2)


def _alert(w: World, dep: str, entry: str, seed: int) -> str:
    return record_alert(w, dep, entry, seed)


def test_every_alert_outcome_is_in_the_record_and_unresolved_ones_are_counted(
    world: World,
) -> None:
    w = world
    dep, ids = live(w)
    pending = _alert(w, dep, ids[0], 1)
    unsure = _alert(w, dep, ids[1], 2)
    w.svc.alerts.review(w.op1, unsure, "unsure", "poor angle")
    confirmed = _alert(w, dep, ids[2], 3)
    w.svc.alerts.review(w.op1, confirmed, "confirm", "same person")
    rejected = _alert(w, dep, ids[0], 4)
    w.svc.alerts.review(w.op1, rejected, "reject", "different person")
    with pytest.raises(RuleViolation, match="has not been adjudicated"):
        w.svc.alerts.record_outcome(
            w.op1, pending, engaged=False, duration_s=None, result="no_further_action"
        )
    w.svc.alerts.record_outcome(w.op1, confirmed, engaged=True, duration_s=120, result="arrest")
    with pytest.raises(RuleViolation, match="outcome is already recorded"):
        w.svc.alerts.record_outcome(
            w.op1, confirmed, engaged=False, duration_s=None, result="no_further_action"
        )
    w.svc.alerts.record_outcome(
        w.op1, rejected, engaged=True, duration_s=30, result="no_further_action"
    )
    w.svc.deployments.end(w.op1, dep)
    rec = w.svc.transparency.deployment_record(dep)
    assert (rec.alerts, rec.true_alerts, rec.false_alerts) == (4, 1, 1)
    assert rec.unresolved_alerts == 2  # the pending and the unsure one, shown publicly
    assert (rec.engagements, rec.arrests, rec.other_outcomes) == (2, 1, {"no_further_action": 1})


def test_review_rule_itself_refuses_an_operator_of_another_deployment() -> None:
    # The service's access layer refuses them first; the rule must refuse them on its own too.
    from openlfr.governance.alerts import review_problems
    from openlfr.governance.deployment import Actor, DeploymentFacts
    from openlfr.governance.vocab import Role

    d = DeploymentFacts(id="d1", name="x", operator_ids=["op-a"])
    other = Actor("op-b", "opB", frozenset({Role.OPERATOR}))
    problems = review_problems(d, other, "looks like him", [], outcome_recorded=False)
    assert problems == ["opB is not an operator of this deployment"]
    mine = Actor("op-a", "opA", frozenset({Role.OPERATOR}))
    assert review_problems(d, mine, "looks like him", [], outcome_recorded=False) == []
