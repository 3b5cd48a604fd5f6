"""How values read to people, in one place: words for the domain's closed lists, local times in
the deployment's time zone, a score against its threshold in plain words, the action an alert
calls for, and CSV cells a spreadsheet will not run. Used by the console's templates, its
JavaScript (through `labels()`) and its exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Domain values as people say them. Anything not here falls back to its words unjoined.
LABELS: dict[str, str] = {
    # roles
    "administrator": "Administrator",
    "authorising_officer": "Authorising officer",
    "watchlist_compiler": "Watchlist compiler",
    "operator": "Operator",
    "auditor": "Auditor / data protection officer",
    # purposes
    "locate_wanted_persons": "Locate people wanted by the courts or police",
    "locate_suspects_serious_offence": "Locate suspects of a serious offence",
    "enforce_bail_or_court_conditions": "Enforce bail or court conditions",
    "locate_missing_or_vulnerable": "Find missing or vulnerable people",
    "prevent_risk_of_harm": "Prevent a risk of harm",
    # watchlist categories
    "wanted_by_courts_or_police": "Wanted by the courts or police",
    "suspected_of_offence": "Suspected of an offence",
    "bail_or_court_conditions": "On bail or court conditions",
    "missing_or_vulnerable": "Missing or vulnerable",
    "risk_of_harm_to_self_or_others": "At risk of harming themselves or others",
    # states, decisions, statuses, results
    "draft": "Draft",
    "authorised": "Authorised",
    "live": "Live",
    "ended": "Ended",
    "cancelled": "Cancelled",
    "confirm": "Confirmed as a match",
    "reject": "Rejected (not the person)",
    "unsure": "Unsure",
    "pending": "Awaiting review",
    "confirmed": "Confirmed",
    "rejected": "Rejected",
    "arrest": "Arrest",
    "condition_check": "Condition check",
    "no_further_action": "No further action",
    "not_located": "Not located",
    "low_threshold": "Threshold below the approved level",
    # controller profiles
    "police_uk": "Police (UK)",
    "eu_law_enforcement": "Law enforcement (EU)",
    "private_venue_uk": "Private venue (UK)",
    "us_illinois_bipa": "Private body (Illinois, BIPA)",
    "no_notice": "No advance public notice",
    "urgent": "Urgent start (EU, 24 h to authorise)",
}

# What the briefing tells officers to do on a confirmed alert, by watchlist category. An alert
# is never an identification: the face comparison comes first, then identity is checked.
ACTIONS: dict[str, str] = {
    "wanted_by_courts_or_police": (
        "Engage and verify identity; arrest only on the warrant once identity is confirmed."
    ),
    "suspected_of_offence": (
        "Engage and verify identity; question under caution only once identity is confirmed."
    ),
    "bail_or_court_conditions": (
        "Engage and verify identity; check the conditions and record any breach."
    ),
    "missing_or_vulnerable": "Approach with care and check their welfare; this is not an arrest.",
    "risk_of_harm_to_self_or_others": (
        "Engage with care, keep people safe; call for support if needed."
    ),
}

DEFAULT_ACTION = "Compare the faces; if confirmed, engage and verify identity."

# The deployment's time zone follows the controller profile's jurisdiction.
ZONES: dict[str, str] = {
    "police_uk": "Europe/London",
    "private_venue_uk": "Europe/London",
    "eu_law_enforcement": "Europe/Brussels",
    "us_illinois_bipa": "America/Chicago",
}
DEFAULT_ZONE = "Europe/London"


def label(value: Any) -> str:
    if value is None or value == "":
        return "—"
    v = str(value)
    return LABELS.get(v, v.replace("_", " ").replace(".", ": ").capitalize())


def labels() -> dict[str, str]:
    """Every label, for the console's JavaScript."""
    return dict(LABELS)


def zone_for(profile: Any, configured: str | None = None) -> str:
    """The configured IANA zone when it is a real one, else the profile's jurisdiction's."""
    if configured:
        try:
            ZoneInfo(configured)
            return configured
        except (ZoneInfoNotFoundError, ValueError):
            pass
    name = getattr(getattr(profile, "profile", None), "value", None) or str(profile or "")
    return ZONES.get(name, DEFAULT_ZONE)


def parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def when(value: Any, zone: str = DEFAULT_ZONE, *, seconds: bool = False) -> str:
    """A moment as a local clock reads it: `Fri 4 Dec 2026, 20:19 GMT`; '—' when unset."""
    dt = parse_time(value)
    if dt is None:
        return "—" if value in (None, "") else str(value)
    local = dt.astimezone(ZoneInfo(zone))
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return local.strftime(f"%a {local.day} %b %Y, {clock} %Z")


def utc_iso(local: str, zone: str = DEFAULT_ZONE) -> str | None:
    """A `datetime-local` value read in `zone`, as the audit chain's UTC ISO text; None if
    unset or unreadable (the filter is then not applied)."""
    if not local:
        return None
    try:
        dt = datetime.fromisoformat(local)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(zone))
    return dt.astimezone(UTC).isoformat()


def band(score: float, threshold: float) -> str:
    """The score against the threshold in words: how far above the line the match is."""
    gap = score - threshold
    if gap < 0:
        return "below the threshold (not an alert)"
    if gap < 0.05:
        return "just above the threshold: a weak match, compare with care"
    if gap < 0.15:
        return "clearly above the threshold: a fair match"
    return "well above the threshold: a strong match"


def action(category: str | None) -> str:
    return ACTIONS.get(category or "", DEFAULT_ACTION)


def subject(value: str, names: dict[str, str]) -> str:
    """An audit subject (`kind:id`) as words: the deployment's or user's name where known."""
    kind, _, ident = str(value).partition(":")
    if not ident:
        return str(value)
    if kind == "deployment":
        return f"Deployment “{names[ident]}”" if ident in names else f"Deployment {ident[:8]}"
    if kind == "user":
        return f"User {names.get(ident, ident[:8])}"
    if kind == "alert":
        return f"Alert {ident[:8]}"
    if kind == "entry":
        return f"Watchlist entry {ident[:8]}"
    if kind == "model":
        return f"Model {ident}"
    return f"{kind.replace('_', ' ').capitalize()} {ident[:12]}"


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ (or tab, CR) would make it a
    formula, so such a cell gets a leading apostrophe."""
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(_FORMULA) else s


def register(env: Any) -> None:
    """The filters and globals above on a Jinja environment."""
    env.filters["label"] = label
    env.filters["when"] = when
    env.globals.update(band=band, action=action, labels=labels, zone_for=zone_for, subject=subject)
