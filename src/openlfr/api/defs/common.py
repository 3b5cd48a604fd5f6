from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    error: str = Field(description="Stable machine-readable code, e.g. rule_violation")
    message: str
    problems: list[str] = Field(default_factory=list)
    source: str | None = None


class OkOut(BaseModel):
    ok: bool = True


def _err(desc: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": desc}


# Declared on every router so the OpenAPI document lists each error a route can answer.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _err("Bad input refused by a domain rule"),
    401: _err("Not authenticated"),
    403: _err("Authenticated, but this role or person may not do this (or CSRF token missing)"),
    404: _err("Unknown id"),
    409: _err("Refused in the current state (rules, separation of duties, transitions)"),
    413: _err("Upload too large"),
    415: _err("Not an image"),
    429: _err("Too many failed logins"),
}
