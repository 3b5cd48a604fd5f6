"""Watchlist rules (requirements B.5-B.8): closed categories, provenance, quality, sign-off."""

from __future__ import annotations

import math
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
    problems += photo_problems(p.image_captured_on, p.quality_score, today=today, settings=settings)
    if p.is_minor and not (p.minor_justification or "").strip():
        problems.append("an under-18 entry needs a recorded extra justification")
    if problems:
        raise RuleViolation("watchlist entry", problems)
    flags = photo_flags(p.image_captured_on, p.quality_score, today=today, settings=settings)
    if p.is_minor:
        flags.append("under_18")
    return flags


def photo_problems(
    captured_on: date | None, quality: float, *, today: date, settings: GovernanceSettings
) -> list[str]:
    """B.6 for one photo: a capture date that is known, past and recent enough; quality."""
    problems: list[str] = []
    if captured_on is None:
        problems.append("missing image capture date")
    elif captured_on > today:
        problems.append("image capture date is in the future")
    elif (today - captured_on).days > settings.image_max_age_days:
        problems.append(
            f"image is {(today - captured_on).days} days old, above the "
            f"{settings.image_max_age_days}-day limit"
        )
    if quality < settings.quality_reject_below:
        problems.append(
            f"image quality {quality:.2f} is below the minimum {settings.quality_reject_below:.2f}"
        )
    return problems


def face_problems(width_px: float, sharpness: float, *, settings: GovernanceSettings) -> list[str]:
    """B.6 for the face in an enrolment photo: big enough and sharp enough to compare against
    (a NaN sharpness means the engine gave no chip to measure: the score alone decides)."""
    out = []
    if width_px < settings.enrol_min_face_px:
        out.append(
            f"the face is {width_px:.0f} px wide, below the minimum "
            f"{settings.enrol_min_face_px:.0f} px: use a larger photo"
        )
    if not math.isnan(sharpness) and sharpness < settings.enrol_min_sharpness:
        out.append(
            f"the face is blurred (sharpness {sharpness:.1f}, minimum "
            f"{settings.enrol_min_sharpness:.1f}): use a sharper photo"
        )
    return out


def photo_flags(
    captured_on: date | None, quality: float, *, today: date, settings: GovernanceSettings
) -> list[str]:
    flags = []
    if quality < settings.quality_flag_below:
        flags.append("low_quality")
    if captured_on and (today - captured_on).days > settings.image_flag_age_days:
        flags.append("old_image")
    return flags


# Cosine similarity above which a further photo is the same picture again (re-scanned or
# re-cropped): it adds no new look of the person, only a false count of photos.
SAME_PHOTO_SIMILARITY = 0.97


@dataclass(frozen=True, slots=True)
class PhotoProposal:
    """A further photo for an existing entry: its capture date and measured quality."""

    image_captured_on: date | None
    quality_score: float


def assess_photo(
    p: PhotoProposal,
    *,
    today: date,
    settings: GovernanceSettings,
    other_dates: list[date],
    similarities: list[float],
    same_person_floor: float | None,
) -> list[str]:
    """Refuse a further photo that B.6 forbids or that only repeats one already held; return
    flags for what is allowed but doubtful.

    `similarities` are the new photo's cosine scores against the entry's photos; a photo
    unlike all of them (below the model's validated floor) may be of someone else, which would
    raise alerts on an innocent person, so it is flagged for the reviewer who signs off.
    """
    problems = photo_problems(p.image_captured_on, p.quality_score, today=today, settings=settings)
    if similarities and max(similarities) >= SAME_PHOTO_SIMILARITY:
        problems.append(
            f"the photo repeats one the entry already holds (similarity {max(similarities):.3f})"
        )
    if len(other_dates) + 1 > settings.max_photos_per_entry:
        problems.append(f"the entry already has {len(other_dates)} photos, the most allowed")
    if problems:
        raise RuleViolation("entry photo", problems)
    flags = photo_flags(p.image_captured_on, p.quality_score, today=today, settings=settings)
    if p.image_captured_on in other_dates:
        flags.append("same_occasion")
    if same_person_floor is not None and similarities and max(similarities) < same_person_floor:
        flags.append("unlike_other_photos")
    return flags


# The list is compiled and signed off before the deployment goes live, and is fixed once signed
# off (B.8): what the authorising officer approved is what runs.
LIST_OPEN_STATES = (DeploymentState.DRAFT, DeploymentState.AUTHORISED)


def list_fixed_problems(d: DeploymentFacts, *, signed_off: bool, if_signed: str) -> list[str]:
    """Why the list can't change now: the deployment is past authorisation, or it is signed off."""
    out = []
    if d.state not in LIST_OPEN_STATES:
        out.append(f"deployment is {d.state.value}: its watchlist can no longer change")
    if signed_off:
        out.append(if_signed)
    return out


def add_problems(d: DeploymentFacts, compiler: Actor, *, signed_off: bool, size: int) -> list[str]:
    out = list_fixed_problems(
        d, signed_off=signed_off, if_signed="the watchlist is signed off; entries cannot be added"
    )
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
    out = list_fixed_problems(
        d, signed_off=signed_off, if_signed="the watchlist is already signed off"
    )
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
