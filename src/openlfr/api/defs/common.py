from __future__ import annotations

import dataclasses
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model


class ErrorOut(BaseModel):
    error: str = Field(description="Stable machine-readable code, e.g. rule_violation")
    message: str
    problems: list[str] = Field(default_factory=list)
    source: str | None = None


class OkOut(BaseModel):
    ok: bool = True


def mirror(source: type, *, exclude: tuple[str, ...] = ()) -> type[BaseModel]:
    """A base for a response model with the fields of the domain dataclass `source`.

    Same names and types, all required (a response always carries every field). Subclass it to
    add fields or narrow a type; `Model.model_validate(obj)` reads the dataclass's attributes.
    The domain class stays free of pydantic; only the API's copy of its shape is generated.
    """
    hints = get_type_hints(source)
    fields: dict[str, Any] = {
        f.name: (hints[f.name], ...) for f in dataclasses.fields(source) if f.name not in exclude
    }
    return create_model(
        f"{source.__name__}Fields", __config__=ConfigDict(from_attributes=True), **fields
    )


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
