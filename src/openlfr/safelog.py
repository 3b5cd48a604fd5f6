"""Crash logs that carry the error's type and where it happened, never its message.

An exception message can hold anything the failing code had in hand: a file path, a name
typed into a form, bytes of a frame. Logs carry ids and counts only (see the README), so a
crash is logged as `TypeName at module.py:123 in function` for each frame of its traceback.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import PurePath


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
