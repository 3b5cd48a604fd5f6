"""Deployment rules (requirements A.1-A.4, C.9-C.10, G.21, H.22) as plain functions.

Each check returns the full list of problems rather than stopping at the first, so an officer
sees everything that is missing in one go; `require` turns a non-empty list into a RuleViolation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from openlfr.errors import (
    CameraNotAllowedError,
    InvalidStateError,
    RuleViolation,
    SeparationOfDutiesError,
)
from openlfr.eval.approval import ModelApproval
from openlfr.governance.clock import as_utc
from openlfr.governance.vocab import Countersign, DeploymentState, Purpose, Role

EU_URGENT_WINDOW = timedelta(hours=24)
APPROVAL_MAX_AGE = timedelta(days=366)

# Allowed transitions of the deployment state machine.
TRANSITIONS: dict[DeploymentState, frozenset[DeploymentState]] = {
    DeploymentState.DRAFT: frozenset({DeploymentState.AUTHORISED, DeploymentState.CANCELLED}),
    DeploymentState.AUTHORISED: frozenset({DeploymentState.LIVE, DeploymentState.CANCELLED}),
    DeploymentState.LIVE: frozenset({DeploymentState.ENDED}),
    DeploymentState.ENDED: frozenset(),
    DeploymentState.CANCELLED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    username: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True, slots=True)
class Countersignature:
    kind: Countersign
    user_id: str
    reason: str


@dataclass(slots=True)
class DeploymentFacts:
    """What the rules need to know about a deployment (a snapshot of the stored row)."""

    id: str
    name: str
    state: DeploymentState = DeploymentState.DRAFT
    purpose: str | None = None
    location: str | None = None
    cameras: list[str] = field(default_factory=list)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    dpia_ref: str | None = None
    policy_ref: str | None = None
    eia_ref: str | None = None
    necessity: str | None = None
    alternatives: str | None = None
    model_contract_id: str | None = None
    threshold: float | None = None
    expected_faces: int | None = None
    watchlist_size_cap: int = 5000
    compiler_id: str | None = None
    operator_ids: list[str] = field(default_factory=list)
    authoriser_id: str | None = None
    countersignatures: list[Countersignature] = field(default_factory=list)
    public_notice_at: datetime | None = None
    no_notice_reason: str | None = None
    eu_mode: bool = False
    judicial_authorisation_id: str | None = None
    fria_ref: str | None = None
    eu_database_id: str | None = None
    art5_objective: str | None = None
    urgent: bool = False
    started_at: datetime | None = None

    def countersigned(self, kind: Countersign) -> Countersignature | None:
        return next((c for c in self.countersignatures if c.kind == kind), None)


def require(action: str, problems: list[str], source: str | None = None) -> None:
    if problems:
        raise RuleViolation(action, problems, source=source)


def transition(d: DeploymentFacts, to: DeploymentState) -> None:
    if to not in TRANSITIONS[d.state]:
        raise InvalidStateError(
            f"cannot go from {d.state.value} to {to.value}", source=f"deployment {d.id}"
        )


def require_editable(d: DeploymentFacts, what: str) -> None:
    """Configuration is fixed once authorised: a change would bypass what the officer signed."""
    if d.state != DeploymentState.DRAFT:
        raise InvalidStateError(
            f"{what} is fixed at authorisation and cannot change in state {d.state.value}",
            source=f"deployment {d.id}",
        )


def duty_conflicts(
    authoriser_id: str | None, compiler_id: str | None, operator_ids: list[str]
) -> list[str]:
    """G.21/A.21: authorising officer, watchlist compiler and operators are different people."""
    out = []
    if authoriser_id and authoriser_id == compiler_id:
        out.append("the authorising officer cannot also be the watchlist compiler")
    if authoriser_id and authoriser_id in operator_ids:
        out.append("the authorising officer cannot also be an operator")
    if compiler_id and compiler_id in operator_ids:
        out.append("the watchlist compiler cannot also be an operator")
    return out


def require_no_duty_conflict(
    authoriser_id: str | None, compiler_id: str | None, operator_ids: list[str]
) -> None:
    problems = duty_conflicts(authoriser_id, compiler_id, operator_ids)
    if problems:
        raise SeparationOfDutiesError("assignment", problems)


def approval_problems(
    d: DeploymentFacts, approval: ModelApproval | None, now: datetime
) -> list[str]:
    if not d.model_contract_id:
        return []
    if approval is None:
        return [f"no evaluation report (model approval) recorded for model {d.model_contract_id}"]
    try:
        created = as_utc(datetime.fromisoformat(approval.created_at))
    except ValueError:
        return [f"the evaluation report of model {d.model_contract_id} has an unreadable date"]
    if now - created > APPROVAL_MAX_AGE:
        return [f"the evaluation report of model {d.model_contract_id} is older than a year"]
    return []


def threshold_problems(
    d: DeploymentFacts,
    approval: ModelApproval | None,
    *,
    watchlist_size: int | None = None,
    max_photos: int = 1,
) -> list[str]:
    """C.9: the threshold is at least the certified floor for the list (its size, default the
    cap, and its entries' photo counts), or a second officer countersigned it."""
    if d.threshold is None or approval is None:
        return []
    size = watchlist_size or d.watchlist_size_cap
    floor, bound = approval.deployment_floor(size, max_photos)
    if d.threshold >= floor:
        return []
    cs = d.countersigned(Countersign.LOW_THRESHOLD)
    if cs is None:
        return [
            f"threshold {d.threshold:g} is below the floor {floor:g} for a list of {size:,} "
            f"(bound by {bound}): needs a second authorisation (countersign low_threshold)"
        ]
    if cs.user_id == d.authoriser_id:
        return ["the second authorisation of a low threshold must be by a different officer"]
    return []


def notice_problems(d: DeploymentFacts) -> list[str]:
    """A.4: no advance public notice needs a recorded reason and a second authoriser."""
    if d.public_notice_at is not None:
        return []
    out = []
    if not d.no_notice_reason:
        out.append("no public notice date and no recorded reason for starting without notice")
    cs = d.countersigned(Countersign.NO_NOTICE)
    if cs is None:
        out.append(
            "starting without public notice needs a second authoriser (countersign no_notice)"
        )
    elif cs.user_id == d.authoriser_id:
        out.append("the no-notice countersignature must be by a different officer")
    return out


def eu_problems(d: DeploymentFacts) -> list[str]:
    if not d.eu_mode:
        return []
    out = []
    for attr, label in (
        ("fria_ref", "fundamental rights impact assessment reference"),
        ("eu_database_id", "EU database registration id"),
        ("art5_objective", "Art 5(1)(h) objective"),
    ):
        if not getattr(d, attr):
            out.append(f"EU mode: missing {label}")
    if not d.judicial_authorisation_id and not d.urgent:
        out.append("EU mode: missing judicial/independent authorisation id (or an urgent start)")
    return out


def urgent_use(d: DeploymentFacts) -> bool:
    """A.3: an EU-mode use that goes live before the judicial authorisation is recorded."""
    return d.eu_mode and d.urgent and not d.judicial_authorisation_id


def urgent_problems(d: DeploymentFacts) -> list[str]:
    """A.3 and issue 19: starting before the authority has authorised is two officers'
    decision, the authoriser's and a second authorising officer's countersignature (urgent);
    each must be an established account (`two_person.account_problems`, checked by the
    service when each signs and again at the start)."""
    if not urgent_use(d):
        return []
    cs = d.countersigned(Countersign.URGENT)
    if cs is None:
        return [
            "an urgent start before the judicial authorisation needs a second authorising "
            "officer (countersign urgent)"
        ]
    if cs.user_id == d.authoriser_id:
        return ["the urgent countersignature must be by a different officer"]
    return []


def authorisation_problems(
    d: DeploymentFacts, authoriser: Actor, approval: ModelApproval | None, now: datetime
) -> list[str]:
    """Everything A.1/A.2/C.9/C.11 require before an officer may authorise."""
    d = replace(d, authoriser_id=authoriser.id)
    out: list[str] = []
    if d.state != DeploymentState.DRAFT:
        out.append(f"deployment is {d.state.value}, only a draft can be authorised")
    if not authoriser.has(Role.AUTHORISING_OFFICER):
        out.append(f"{authoriser.username} is not an authorising officer")
    required = (
        ("purpose", "purpose"),
        ("location", "location"),
        ("starts_at", "start time"),
        ("ends_at", "end time"),
        ("dpia_ref", "DPIA reference"),
        ("policy_ref", "appropriate policy document reference"),
        ("eia_ref", "equality impact assessment reference"),
        ("necessity", "necessity and proportionality justification"),
        ("alternatives", "less intrusive alternatives considered"),
        ("model_contract_id", "model"),
        ("threshold", "threshold"),
        ("expected_faces", "expected number of faces"),
        ("compiler_id", "watchlist compiler"),
    )
    for attr, label in required:
        if getattr(d, attr) in (None, ""):
            out.append(f"missing {label}")
    if d.purpose and d.purpose not in {p.value for p in Purpose}:
        out.append(f"purpose {d.purpose!r} is not on the closed list")
    if not d.cameras:
        out.append("missing camera whitelist")
    if not d.operator_ids:
        out.append("missing operator")
    if d.starts_at and d.ends_at:
        if d.ends_at <= d.starts_at:
            out.append("the end time is not after the start time")
        elif d.ends_at <= now:
            out.append("the end time has already passed")
    out += duty_conflicts(authoriser.id, d.compiler_id, d.operator_ids)
    out += approval_problems(d, approval, now)
    out += threshold_problems(d, approval)
    out += notice_problems(d)
    out += eu_problems(d)
    out += urgent_problems(d)
    return out


def start_problems(
    d: DeploymentFacts,
    *,
    now: datetime,
    approval: ModelApproval | None,
    watchlist_size: int,
    signed_off: bool,
    key_available: bool,
    max_photos: int = 1,
) -> list[str]:
    out: list[str] = []
    if d.state != DeploymentState.AUTHORISED:
        out.append(f"deployment is {d.state.value}, only an authorised one can start")
    if d.starts_at and now < d.starts_at:
        out.append(f"the window opens at {d.starts_at.isoformat()}")
    if d.ends_at and now >= d.ends_at:
        out.append(f"the window closed at {d.ends_at.isoformat()} (start after the end time)")
    if watchlist_size == 0:
        out.append("the watchlist is empty")
    if watchlist_size > d.watchlist_size_cap:
        out.append(
            f"the watchlist has {watchlist_size} entries, above the cap of {d.watchlist_size_cap}"
        )
    if not signed_off:
        out.append("the watchlist has not been signed off")
    if not key_available:
        out.append(
            "no master key available: biometric data cannot be decrypted (set OPENLFR_MASTER_KEY "
            "or the key file)"
        )
    out += approval_problems(d, approval, now)
    out += threshold_problems(
        d, approval, watchlist_size=watchlist_size or None, max_photos=max_photos
    )
    out += notice_problems(d)
    out += eu_problems(d)
    out += urgent_problems(d)
    return out


def check_camera(d: DeploymentFacts, camera_id: str) -> None:
    if camera_id not in d.cameras:
        raise CameraNotAllowedError(
            f"camera {camera_id!r} is not on the whitelist ({', '.join(d.cameras) or 'empty'})",
            source=f"deployment {d.id}",
        )


def check_live(d: DeploymentFacts, now: datetime) -> None:
    if d.state != DeploymentState.LIVE:
        raise InvalidStateError(
            f"deployment is {d.state.value}, not live", source=f"deployment {d.id}"
        )
    if d.ends_at and now >= d.ends_at:
        raise InvalidStateError(
            f"the window closed at {d.ends_at.isoformat()}", source=f"deployment {d.id}"
        )


def should_auto_end(d: DeploymentFacts, now: datetime) -> bool:
    return d.state == DeploymentState.LIVE and d.ends_at is not None and now >= d.ends_at


def urgent_use_lapsed(d: DeploymentFacts, now: datetime) -> bool:
    """A.3: an urgent EU start without authorisation within 24 h must stop and purge its output
    (also when it ended before the 24 h were up: what it produced was never authorised)."""
    return (
        d.eu_mode
        and d.urgent
        and not d.judicial_authorisation_id
        and d.state in (DeploymentState.LIVE, DeploymentState.ENDED)
        and d.started_at is not None
        and now >= d.started_at + EU_URGENT_WINDOW
    )
