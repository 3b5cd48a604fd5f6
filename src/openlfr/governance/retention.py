"""Retention rules (requirements E.16-E.17): alert data expires unless under a legal hold."""

from __future__ import annotations

from datetime import datetime, timedelta

RETENTION_PERIODS: dict[str, timedelta] = {"24h": timedelta(hours=24), "31d": timedelta(days=31)}


def retention_period(profile: str) -> timedelta:
    try:
        return RETENTION_PERIODS[profile]
    except KeyError:
        raise ValueError(
            f"retention profile {profile!r} is not one of {sorted(RETENTION_PERIODS)}"
        ) from None


def expires_at(created_at: datetime, profile: str) -> datetime:
    return created_at + retention_period(profile)


def purgeable(expiry: datetime, now: datetime, legal_hold_reason: str | None) -> bool:
    return legal_hold_reason is None and now >= expiry


def hold_problems(reason: str) -> list[str]:
    return [] if reason.strip() else ["a legal hold needs a recorded reason"]
