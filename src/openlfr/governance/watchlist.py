"""Watchlist rules (requirements B.5-B.8): closed categories, provenance, quality, sign-off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import RuleViolation
from openlfr.governance.deployment import Actor, DeploymentFacts
from openlfr.governance.vocab import Category, DeploymentState, Role


@dataclass(frozen=True, slots=True)
class EntryProposal:
    category: str
    legal_basis: str
    source_system: str
    image_captured_on: date | None
    quality_score: float
    reason: str
    subject_ref: str
    is_minor: bool = False
    minor_justification: str | None = None


def assess_entry(p: EntryProposal, *, today: date, settings: GovernanceSettings) -> list[str]:
    """Refuse what B.5/B.6 forbid; return the flags of what is allowed but doubtful."""
    problems: list[str] = []
    if p.category not in {c.value for c in Category}:
        allowed = ", ".join(c.value for c in Category)
        problems.append(f"category {p.category or '(none)'!r} is not one of: {allowed}")
    for attr, label in (
        ("legal_basis", "legal basis"),
        ("source_system", "source system"),
        ("reason", "reason for inclusion"),
        ("subject_ref", "subject reference"),
    ):
        if not str(getattr(p, attr) or "").strip():
            problems.append(f"missing {label}")
    if p.image_captured_on is None:
        problems.append("missing image capture date")
    elif p.image_captured_on > today:
        problems.append("image capture date is in the future")
    elif (today - p.image_captured_on).days > settings.image_max_age_days:
        problems.append(
            f"image is {(today - p.image_captured_on).days} days old, above the "
            f"{settings.image_max_age_days}-day limit"
        )
    if p.quality_score < settings.quality_reject_below:
        problems.append(
            f"image quality {p.quality_score:.2f} is below the minimum "
            f"{settings.quality_reject_below:.2f}"
        )
    if p.is_minor and not (p.minor_justification or "").strip():
        problems.append("an under-18 entry needs a recorded extra justification")
    if problems:
        raise RuleViolation("watchlist entry", problems)
    flags = []
    if p.quality_score < settings.quality_flag_below:
        flags.append("low_quality")
    if p.image_captured_on and (today - p.image_captured_on).days > settings.image_flag_age_days:
        flags.append("old_image")
    if p.is_minor:
        flags.append("under_18")
    return flags


def add_problems(d: DeploymentFacts, compiler: Actor, *, signed_off: bool, size: int) -> list[str]:
    out = []
    if d.state not in (DeploymentState.DRAFT, DeploymentState.AUTHORISED):
        out.append(f"deployment is {d.state.value}: its watchlist can no longer change")
    if signed_off:
        out.append("the watchlist is signed off; entries cannot be added")
    if not compiler.has(Role.WATCHLIST_COMPILER):
        out.append(f"{compiler.username} is not a watchlist compiler")
    elif d.compiler_id and compiler.id != d.compiler_id:
        out.append(f"{compiler.username} is not this deployment's watchlist compiler")
    if size >= d.watchlist_size_cap:
        out.append(f"the watchlist is at its size cap of {d.watchlist_size_cap}")
    return out


def sign_off_problems(
    d: DeploymentFacts, signer: Actor, *, size: int, signed_off: bool, added_by: set[str]
) -> list[str]:
    out = []
    if d.state not in (DeploymentState.DRAFT, DeploymentState.AUTHORISED):
        out.append(f"deployment is {d.state.value}")
    if signed_off:
        out.append("the watchlist is already signed off")
    if not signer.has(Role.AUTHORISING_OFFICER):
        out.append(f"{signer.username} is not an authorising officer")
    if signer.id == d.compiler_id or signer.id in added_by:
        out.append("a compiler cannot sign off their own watchlist")
    if signer.id in d.operator_ids:
        out.append("an operator of the deployment cannot sign off its watchlist")
    if size == 0:
        out.append("the watchlist is empty")
    if size > d.watchlist_size_cap:
        out.append(f"the watchlist has {size} entries, above the cap of {d.watchlist_size_cap}")
    return out


def destroy_due(ended_at: datetime | None, now: datetime, grace_hours: float) -> bool:
    return ended_at is not None and now >= ended_at + timedelta(hours=grace_hours)
