"""Crash logs that carry the error's type and where it happened, never its message.

An exception message can hold anything the failing code had in hand: a file path, a name
typed into a form, bytes of a frame. Logs carry ids and counts only (see the README), so a
crash is logged as `TypeName at module.py:123 in function` for each frame of its traceback.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from datetime import UTC, datetime
from pathlib import PurePath


def redact_url(url: str) -> str:
    """`rtsp://user:secret@host/x` -> `rtsp://***@host/x`: camera credentials stay out of logs."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return f"{scheme}://{netloc}{slash}{path}"


def crash_summary(e: BaseException) -> str:
    frames = traceback.extract_tb(e.__traceback__)[-4:]
    where = " <- ".join(
        f"{PurePath(f.filename).name}:{f.lineno} in {f.name}" for f in reversed(frames)
    )
    return f"{type(e).__name__}" + (f" at {where}" if where else "")


class TypeOnlyFilter(logging.Filter):
    """Rewrites a record logged with exc_info (e.g. uvicorn's "Exception in ASGI application")
    into a one-line crash summary without the exception's message or traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            e = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {crash_summary(e)}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def install(*loggers: str) -> None:
    for name in loggers or ("uvicorn.error", "uvicorn", "openlfr"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, TypeOnlyFilter) for f in lg.filters):
            lg.addFilter(TypeOnlyFilter())


# Credentials in a URL (nats://user:pass@host, rtsp://user:pass@cam): whatever logged the URL.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")


class RedactFilter(logging.Filter):
    """Last line of defence on the handler: credentials in URLs become `***@`."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = _URL_CREDENTIALS.sub(r"\g<scheme>***@", msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers: time (UTC, ISO 8601), level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        return json.dumps(doc, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Third-party loggers stay at WARNING: httpx logs every request's URL at INFO (a worker polls
# every second), which is noise, not a lifecycle event.
QUIET = ("httpx", "httpcore", "nats", "alembic", "asyncio", "multipart", "PIL", "matplotlib")


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """OpenLFR's loggers at `level` (lifecycle events are INFO), one stderr handler on the root
    that summarises crashes by type, redacts URL credentials and writes text or JSON."""
    root = logging.getLogger()
    handler = (
        next((h for h in root.handlers if getattr(h, "_openlfr", False)), None)
        or logging.StreamHandler()
    )
    handler._openlfr = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    for f in (TypeOnlyFilter(), RedactFilter()):
        if not any(type(g) is type(f) for g in handler.filters):
            handler.addFilter(f)
    if not root.handlers:
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    logging.getLogger("openlfr").setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
