"""Logs: JSON lines for shippers, URL credentials masked in every line, crashes by type only,
lifecycle INFO shown by default while libraries stay quiet."""

from __future__ import annotations

import io
import json
import logging

import pytest

from openlfr import safelog

pytestmark = pytest.mark.usefixtures("log_levels_restored")


def _capture(fmt: str) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    buf = io.StringIO()
    h = logging.StreamHandler(buf)
    h.setFormatter(safelog.JsonFormatter() if fmt == "json" else logging.Formatter("%(message)s"))
    h.addFilter(safelog.TypeOnlyFilter())
    h.addFilter(safelog.RedactFilter())
    lg = logging.getLogger("openlfr.test_safelog")
    lg.addHandler(h)
    lg.setLevel(logging.INFO)
    lg.propagate = False
    return lg, buf, h


def test_json_lines_with_credentials_masked() -> None:
    lg, buf, h = _capture("json")
    try:
        lg.info("broker reconnected (%s)", "nats://worker1:hunter2@10.0.0.5:4222")
        lg.info("camera %s started deployment=%s", "cam-1", "d1")
    finally:
        lg.removeHandler(h)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert lines[0]["message"] == "broker reconnected (nats://***@10.0.0.5:4222)"
    assert lines[1]["level"] == "INFO" and lines[1]["logger"] == "openlfr.test_safelog"
    assert "hunter2" not in buf.getvalue()


def test_a_crash_is_logged_by_type_not_by_message() -> None:
    lg, buf, h = _capture("text")
    try:
        try:
            raise ValueError("photo of Jane Doe, born 1990")
        except ValueError:
            lg.exception("pipeline crashed")
    finally:
        lg.removeHandler(h)
    out = buf.getvalue()
    assert "ValueError" in out and "Jane" not in out and "Traceback" not in out


def test_configure_shows_openlfr_info_and_quiets_libraries() -> None:
    safelog.configure("INFO", "json")
    assert logging.getLogger("openlfr").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    safelog.configure("DEBUG", "text")
    assert logging.getLogger("openlfr").getEffectiveLevel() == logging.DEBUG
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    safelog.configure("WARNING", "text")
