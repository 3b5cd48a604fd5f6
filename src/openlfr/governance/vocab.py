"""Closed lists of the domain: roles, purposes, watchlist categories, states, decisions, outcomes.

Closed on purpose (requirements A.1, B.5, D.14): a value outside these lists is refused, and there
is deliberately no "other" category.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    AUTHORISING_OFFICER = "authorising_officer"
    WATCHLIST_COMPILER = "watchlist_compiler"
    OPERATOR = "operator"
    AUDITOR = "auditor"  # auditor or data protection officer: read-only oversight


class Purpose(StrEnum):
    LOCATE_WANTED = "locate_wanted_persons"
    LOCATE_SUSPECTS = "locate_suspects_serious_offence"
    ENFORCE_CONDITIONS = "enforce_bail_or_court_conditions"
    LOCATE_MISSING = "locate_missing_or_vulnerable"
    PREVENT_HARM = "prevent_risk_of_harm"


class Category(StrEnum):
    WANTED = "wanted_by_courts_or_police"
    SUSPECTED = "suspected_of_offence"
    BAIL_CONDITIONS = "bail_or_court_conditions"
    MISSING_VULNERABLE = "missing_or_vulnerable"
    RISK_OF_HARM = "risk_of_harm_to_self_or_others"


class DeploymentState(StrEnum):
    DRAFT = "draft"
    AUTHORISED = "authorised"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class Decision(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    UNSURE = "unsure"


class AlertStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    UNSURE = "unsure"


class OutcomeResult(StrEnum):
    ARREST = "arrest"
    CONDITION_CHECK = "condition_check"
    NO_FURTHER_ACTION = "no_further_action"
    NOT_LOCATED = "not_located"


class Countersign(StrEnum):
    """Actions that need a second authorising officer (C.9, A.4, A.3's urgent start)."""

    LOW_THRESHOLD = "low_threshold"
    NO_NOTICE = "no_notice"
    URGENT = "urgent"


def parse(enum: type[E], value: str, what: str) -> E:
    """The enum member named by `value`, or a ValueError listing the allowed values."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ValueError(f"{what} {value!r} is not one of: {allowed}") from None
