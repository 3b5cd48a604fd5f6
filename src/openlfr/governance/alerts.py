"""Human review of alerts (D.13-D.14): an alert is a candidate until a person decides."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openlfr.governance.deployment import Actor, DeploymentFacts
from openlfr.governance.vocab import AlertStatus, Decision, OutcomeResult, Role


@dataclass(frozen=True, slots=True)
class Review:
    user_id: str
    decision: Decision
    reason: str


def review_problems(
    d: DeploymentFacts,
    reviewer: Actor,
    reason: str,
    previous: Sequence[Review],
    *,
    outcome_recorded: bool,
) -> list[str]:
    out = []
    if not reviewer.has(Role.OPERATOR):
        out.append(f"{reviewer.username} is not an operator")
    elif reviewer.id not in d.operator_ids:
        out.append(f"{reviewer.username} is not an operator of this deployment")
    if not reason.strip():
        out.append("a decision needs a reason")
    if any(r.user_id == reviewer.id for r in previous):
        out.append(
            f"{reviewer.username} has already reviewed this alert; a second review must be by "
            "someone else"
        )
    if outcome_recorded:
        out.append("the outcome is already recorded")
    return out


def status_of(reviews: Sequence[Review], *, eu_mode: bool) -> AlertStatus:
    """Current status. In EU mode a confirmation needs two distinct people (D.13, AI Act Art 14)."""
    if not reviews:
        return AlertStatus.PENDING
    last = reviews[-1].decision
    if last == Decision.REJECT:
        return AlertStatus.REJECTED
    if last == Decision.UNSURE:
        return AlertStatus.UNSURE
    if eu_mode:
        confirmers = {r.user_id for r in reviews if r.decision == Decision.CONFIRM}
        return AlertStatus.CONFIRMED if len(confirmers) >= 2 else AlertStatus.PENDING
    return AlertStatus.CONFIRMED


def outcome_problems(
    status: AlertStatus, engaged: bool, duration_s: float | None, result: str
) -> list[str]:
    out = []
    if status == AlertStatus.PENDING:
        out.append("the alert has not been adjudicated (or awaits a second confirmation)")
    if result not in {r.value for r in OutcomeResult}:
        out.append(f"result {result!r} is not one of: {', '.join(r.value for r in OutcomeResult)}")
    if engaged and (duration_s is None or duration_s < 0):
        out.append("an engagement needs its duration in seconds")
    if not engaged and duration_s:
        out.append("an engagement duration was given but engaged is false")
    if status == AlertStatus.REJECTED and result == OutcomeResult.ARREST.value:
        out.append("an alert rejected as a false match cannot record an arrest")
    return out
