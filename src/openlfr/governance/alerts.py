"""Human review of alerts (D.13-D.14): an alert is a candidate until a person decides."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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


# How far a remote worker's clock may run ahead of the centre's, and how far a re-computed
# score may differ from the one the worker claimed. The pipeline scores the face (fused over
# its best shots) from the full frame; the centre re-embeds one JPEG crop of it, aligned by the
# same landmarks. Measured on the walkers clip with SFace (tests/integration/distributed, -s):
# the centre's score was lower by 0.014, 0.014, 0.033 and 0.084; 0.15 leaves room for that.
# The crop itself must still match, to within RESCORE_UNDER_THRESHOLD of the threshold.
CLOCK_SKEW = 30.0
SCORE_TOLERANCE = 0.15
RESCORE_UNDER_THRESHOLD = 0.05


def alert_claim_problems(
    d: DeploymentFacts,
    *,
    frame_at: datetime,
    sent_at: datetime,
    score: float,
    threshold: float,
) -> list[str]:
    """What is wrong with a remote worker's alert before its score is re-checked: a frame time
    outside the deployment's authorised window (or after the message was sent), a threshold
    other than the one in force, or a score under it."""
    out = []
    skew = timedelta(seconds=CLOCK_SKEW)
    if d.starts_at is not None and frame_at < d.starts_at:
        out.append("the frame is from before the deployment's window opened")
    if d.started_at is not None and frame_at < d.started_at - skew:
        out.append("the frame is from before the deployment went live")
    if d.ends_at is not None and frame_at >= d.ends_at:
        out.append("the frame is from after the deployment's window closed")
    if frame_at > sent_at + skew:
        out.append("the frame time is later than the message was sent")
    if d.threshold is None or abs(threshold - d.threshold) > 1e-6:
        out.append("the alert claims a threshold other than the one in force")
    if d.threshold is not None and score < d.threshold:
        out.append("the claimed score is under the threshold in force")
    return out


# The centre re-embeds the very chips (lossless) the worker fused, with the same model: the
# scores agree to float noise (on the walkers clip, 6 alerts: within 6e-8; a kernel may sum in
# another order for another batch size), so anything beyond FUSED_TOLERANCE is not the worker's
# arithmetic.
FUSED_TOLERANCE = 0.01


def fused_score_problems(claimed: float, rescored: float, threshold: float) -> list[str]:
    """A probe re-fused from the alert's own shot chips: it must give the claimed score, at or
    above the threshold."""
    return score_problems(claimed, rescored, threshold, FUSED_TOLERANCE, FUSED_TOLERANCE)


def score_problems(
    claimed: float,
    rescored: float,
    threshold: float,
    tolerance: float = SCORE_TOLERANCE,
    under: float = RESCORE_UNDER_THRESHOLD,
) -> list[str]:
    """A re-computed score that does not reproduce the claim, or falls under the threshold
    (by default the looser rule for one re-embedded crop)."""
    out = []
    if abs(claimed - rescored) > tolerance:
        out.append(f"the score does not reproduce ({rescored:.3f} against {claimed:.3f} claimed)")
    if rescored < threshold - under:
        out.append(f"the re-computed score {rescored:.3f} is under the threshold {threshold}")
    return out
