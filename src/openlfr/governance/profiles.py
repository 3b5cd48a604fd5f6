"""Controller profiles (requirement H.23): the rules of the law the operator of an installation
answers to, on top of the base rules every deployment obeys.

One profile per installation. `police_uk` is the base rule set (SWP/Met practice, A-G);
`eu_law_enforcement` adds the AI Act fields (A.3, two-person review); `private_venue_uk` follows
the ICO's 2021 opinion on live facial recognition in public places; `us_illinois_bipa` follows
the Illinois Biometric Information Privacy Act (740 ILCS 14). Each check returns every problem
at once, like the base rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from openlfr.governance.vocab import Category, Purpose, parse


class Profile(StrEnum):
    POLICE_UK = "police_uk"
    EU_LAW_ENFORCEMENT = "eu_law_enforcement"
    PRIVATE_VENUE_UK = "private_venue_uk"
    US_ILLINOIS_BIPA = "us_illinois_bipa"


# Categories only a law enforcement body can hold: a venue cannot know of warrants or bail
# conditions, and missing-person searches are police work (ICO 2021 opinion, 4.5).
POLICE_ONLY_CATEGORIES = frozenset(
    {Category.WANTED.value, Category.BAIL_CONDITIONS.value, Category.MISSING_VULNERABLE.value}
)
POLICE_ONLY_PURPOSES = frozenset(
    {Purpose.LOCATE_WANTED.value, Purpose.ENFORCE_CONDITIONS.value, Purpose.LOCATE_MISSING.value}
)
# Alert data retention caps in days (E.16: 24 h SWP-style or 31 days Met-style).
RETENTION_MAX_DAYS = {
    Profile.POLICE_UK: 31,
    Profile.EU_LAW_ENFORCEMENT: 31,
    # A venue keeps alert data only as long as needed to act on it (ICO 2021, 4.8).
    Profile.PRIVATE_VENUE_UK: 1,
    Profile.US_ILLINOIS_BIPA: 31,
}
# BIPA s.15(a): destroy when the purpose is satisfied or within 3 years of the last interaction.
BIPA_DESTRUCTION_LIMIT_DAYS = 3 * 365


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    profile: Profile
    title: str
    law: str
    eu_mode: bool
    police: bool
    # The model must have been evaluated by the operator on data of its own choosing: the
    # supplier's shipped report is not enough (AI Act Art 9(6)-(8), 26(1): testing for the
    # intended purpose, by the deployer).
    local_evaluation: bool = False


PROFILES = {
    Profile.POLICE_UK: ProfileInfo(
        Profile.POLICE_UK,
        "UK police",
        "DPA 2018 Part 3, Bridges v SWP, College of Policing APP",
        False,
        True,
    ),
    Profile.EU_LAW_ENFORCEMENT: ProfileInfo(
        Profile.EU_LAW_ENFORCEMENT,
        "EU law enforcement",
        "AI Act Art 5(1)(h), 5(2)-(3), 14, 26(10); LED",
        True,
        True,
        local_evaluation=True,
    ),
    Profile.PRIVATE_VENUE_UK: ProfileInfo(
        Profile.PRIVATE_VENUE_UK,
        "UK private venue",
        "UK GDPR Art 9, ICO Opinion on LFR in public places (2021)",
        False,
        False,
    ),
    Profile.US_ILLINOIS_BIPA: ProfileInfo(
        Profile.US_ILLINOIS_BIPA,
        "Illinois private entity",
        "Biometric Information Privacy Act, 740 ILCS 14",
        False,
        False,
    ),
}


def parse_profile(value: str) -> Profile:
    return parse(Profile, value, "controller profile")


@dataclass(frozen=True, slots=True)
class DeploymentContext:
    """What the profile rules need about a deployment beyond the base facts."""

    purpose: str | None
    dpia_ref: str | None
    necessity: str | None
    alternatives: str | None
    eu_mode: bool
    covert: bool  # started without public notice
    signage_complete: bool
    retention_days: float
    threat_ref: str | None = None  # the specific, documented threat at this venue
    art9_condition: str | None = None  # UK GDPR Art 9 condition relied on
    retention_schedule_url: str | None = None  # BIPA s.15(a) public retention schedule


def deployment_problems(profile: Profile, c: DeploymentContext) -> list[str]:
    """What `profile` forbids about a deployment (checked at authorisation and at start)."""
    out: list[str] = []
    info = PROFILES[profile]
    cap = RETENTION_MAX_DAYS[profile]
    if c.retention_days > cap:
        out.append(
            f"{profile.value}: alert retention of {c.retention_days:g} days is above the "
            f"maximum of {cap} days"
        )
    if info.eu_mode and not c.eu_mode:
        out.append(f"{profile.value}: deployments must run in EU AI Act mode")
    if not info.police:
        if c.eu_mode:
            out.append(f"{profile.value}: EU law enforcement mode is for police only")
        if c.purpose in POLICE_ONLY_PURPOSES:
            out.append(f"{profile.value}: purpose {c.purpose!r} is for law enforcement only")
    if profile == Profile.PRIVATE_VENUE_UK:
        if not (c.dpia_ref or "").strip():
            out.append("private_venue_uk: a DPIA is mandatory before any use (ICO 2021)")
        if not (c.threat_ref or "").strip():
            out.append(
                "private_venue_uk: necessity must rest on a specific, documented threat at "
                "this venue (threat reference missing)"
            )
        if not (c.art9_condition or "").strip():
            out.append("private_venue_uk: missing the UK GDPR Art 9 condition relied on")
        if c.covert:
            out.append("private_venue_uk: covert use is not allowed; public notice is mandatory")
        if not c.signage_complete:
            out.append("private_venue_uk: signage is mandatory and the checklist is incomplete")
    if profile == Profile.US_ILLINOIS_BIPA:
        if not (c.retention_schedule_url or "").strip():
            out.append(
                "us_illinois_bipa: a publicly available retention schedule is required before "
                "collecting biometric identifiers (s.15(a))"
            )
        if not c.signage_complete:
            out.append("us_illinois_bipa: written notice at the venue (signage) is required")
    return out


@dataclass(frozen=True, slots=True)
class EntryContext:
    """What the profile rules need about a watchlist entry beyond the base proposal."""

    category: str
    venue_incident_ref: str | None = None  # evidence of offending at this venue
    source_organisation: str | None = None  # set when the entry comes from another body
    sharing_agreement_ref: str | None = None
    written_notice_on: date | None = None  # BIPA s.15(b)(1)-(2)
    written_release_ref: str | None = None  # BIPA s.15(b)(3)


def entry_problems(profile: Profile, e: EntryContext) -> list[str]:
    """What `profile` forbids about enrolling a watchlist entry."""
    out: list[str] = []
    info = PROFILES[profile]
    if e.source_organisation and not (e.sharing_agreement_ref or "").strip():
        # H.23: no sharing of watchlists between organisations by default.
        out.append(
            f"{profile.value}: an entry from another organisation ({e.source_organisation}) "
            "needs a recorded watchlist-sharing agreement"
        )
    if not info.police and e.category in POLICE_ONLY_CATEGORIES:
        out.append(f"{profile.value}: category {e.category!r} is for law enforcement only")
    if profile == Profile.PRIVATE_VENUE_UK and not (e.venue_incident_ref or "").strip():
        out.append(
            "private_venue_uk: an entry needs evidence of offending at this venue "
            "(incident reference missing)"
        )
    if profile == Profile.US_ILLINOIS_BIPA:
        if e.written_notice_on is None:
            out.append(
                "us_illinois_bipa: the subject must be told in writing of the collection, its "
                "purpose and term before enrolment (s.15(b)(1)-(2))"
            )
        if not (e.written_release_ref or "").strip():
            out.append(
                "us_illinois_bipa: enrolment needs a recorded written release from the subject "
                "(s.15(b)(3))"
            )
    return out


# Actions on biometric data some laws forbid outright, whatever is recorded.
DISCLOSURE_ACTIONS = frozenset({"sell", "lease", "trade", "profit", "share"})


def disclosure_problems(profile: Profile, action: str, *, consent_ref: str | None) -> list[str]:
    """BIPA s.15(c)-(d): no sale, lease, trade or profit; disclosure only with consent."""
    if action not in DISCLOSURE_ACTIONS:
        return [f"unknown disclosure action {action!r}"]
    if profile == Profile.US_ILLINOIS_BIPA:
        if action != "share":
            return [f"us_illinois_bipa: biometric data may never be used to {action} (s.15(c))"]
        if not (consent_ref or "").strip():
            return ["us_illinois_bipa: disclosure needs the subject's consent (s.15(d))"]
        return []
    if action != "share":
        return [f"{profile.value}: biometric data may never be used to {action}"]
    if not (consent_ref or "").strip():
        return [f"{profile.value}: sharing a watchlist needs a recorded agreement"]
    return []


def destruction_problems(profile: Profile, keep_days: float) -> list[str]:
    """BIPA: a retention schedule longer than the statutory limit is refused."""
    if profile == Profile.US_ILLINOIS_BIPA and keep_days > BIPA_DESTRUCTION_LIMIT_DAYS:
        return [
            f"us_illinois_bipa: biometric data kept {keep_days:g} days exceeds the statutory "
            f"limit of {BIPA_DESTRUCTION_LIMIT_DAYS} days (s.15(a))"
        ]
    return []
