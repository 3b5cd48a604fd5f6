"""Typed errors -> HTTP status codes, mapped by class so no message is ever string-matched."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from openlfr.errors import (
    ContractMismatchError,
    FaceError,
    GovernanceError,
    ImageDecodeError,
    ImageError,
    ImageTooLargeError,
    NotFoundError,
    OpenLFRError,
    PermissionDeniedError,
    RuleViolation,
)

_STATUS: tuple[tuple[type[OpenLFRError], int], ...] = (
    (NotFoundError, 404),
    (PermissionDeniedError, 403),
    (ImageTooLargeError, 413),
    (ImageDecodeError, 415),
    (ImageError, 400),
    (FaceError, 400),
    (ContractMismatchError, 409),
    (RuleViolation, 409),
    (GovernanceError, 409),
)


def status_of(e: OpenLFRError) -> int:
    for cls, code in _STATUS:
        if isinstance(e, cls):
            return code
    return 400


# A file system path (POSIX or Windows, absolute or home-relative) inside an error text.
_PATH = re.compile(r"(?:[A-Za-z]:\\|~|\.{0,2}/)[^\s'\"]*[/\\][^\s'\"]*|[A-Za-z]:\\[^\s'\"]*")


def scrub(text: str | None) -> str | None:
    """Error answers never carry file paths: they tell an attacker the layout and may name a
    person (a photo's file name). Ids, counts and rule texts pass unchanged."""
    if text is None:
        return None
    return _PATH.sub("<path>", text)


def error_body(
    code: str, message: str, problems: list[str] | None = None, source: str | None = None
) -> dict[str, object]:
    src = scrub(source)
    return {
        "error": code,
        "message": scrub(message),
        "problems": [scrub(p) for p in problems or []],
        "source": None if src != source else source,
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(OpenLFRError)
    async def _typed(_: Request, e: OpenLFRError) -> JSONResponse:
        problems = list(e.problems) if isinstance(e, RuleViolation) else []
        message = str(e)
        if isinstance(e, ImageDecodeError):
            # The decoder's own text names internal objects; say what the user can act on.
            message = "not a readable image: upload a JPEG, PNG, WebP, BMP or TIFF photo"
        # The source may name a file or an id; never a person (services keep names out).
        return JSONResponse(
            error_body(e.code, message, problems, e.source), status_code=status_of(e)
        )

    @app.exception_handler(ValueError)
    async def _value(_: Request, e: ValueError) -> JSONResponse:
        # Closed-list parsing in the service raises ValueError naming the allowed values.
        return JSONResponse(error_body("bad_request", str(e)), status_code=400)
