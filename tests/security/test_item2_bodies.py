"""Item 2: request bodies are bounded before anything reads them (ASVS V12.1, V13.1)."""

from __future__ import annotations

import tempfile
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.unit.api._support import app_for, face_png, running_server, token
from tests.unit.governance._support import World

MB = 1024 * 1024


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    block = b"x" * size
    sent = 0
    while sent < total:
        yield block
        sent += size


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/deployments/abc/watchlist", "multipart/form-data; boundary=zz"),
        ("/api/v1/auth/login", "application/json"),
        ("/api/v1/subject-access", "multipart/form-data; boundary=zz"),
    ],
)
def test_chunked_50mb_anonymous_post_is_refused_in_memory(
    w: World, monkeypatch: pytest.MonkeyPatch, path: str, content_type: str
) -> None:
    temp_files: list[Any] = []
    real = tempfile.TemporaryFile

    def spy(*a: Any, **kw: Any) -> Any:
        temp_files.append(a)
        return real(*a, **kw)

    # SpooledTemporaryFile rolls over through tempfile.TemporaryFile (unlinked at once, so a
    # directory listing would not show it).
    monkeypatch.setattr(tempfile, "TemporaryFile", spy)
    with running_server(app_for(w)) as url:
        tracemalloc.start()
        try:
            with httpx.Client(base_url=url, timeout=60) as c:
                try:
                    r = c.post(
                        path, content=_chunks(50 * MB), headers={"content-type": content_type}
                    )
                    status = r.status_code
                except (httpx.RemoteProtocolError, httpx.WriteError):
                    pytest.fail("the server dropped the connection instead of answering 413")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert status == 413
    assert peak < 20 * MB, f"peak allocation {peak / MB:.1f} MB"
    assert temp_files == []


def test_declared_length_over_the_limit_is_refused_before_auth(w: World) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app_for(w)) as c:
        r = c.post(
            "/api/v1/auth/login",
            content=b"{}",
            headers={"content-length": str(100 * MB), "content-type": "application/json"},
        )
        assert r.status_code == 413


def test_upload_within_the_limit_still_works_and_never_spools(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    temp_files: list[Any] = []
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *a, **k: temp_files.append(a))
    with TestClient(app_for(w, max_upload_bytes=2 * MB)) as c:
        h = token(c, "dpo")
        big = face_png() + b"\0" * (2 * MB - len(face_png()) - 10)
        r = c.post("/api/v1/subject-access", headers=h, files={"photo": ("a.png", big)})
        assert r.status_code in (200, 400, 415), r.text
        r = c.post(
            "/api/v1/subject-access",
            headers=h,
            files={"photo": ("a.png", big + b"\0" * 128 * 1024)},
        )
        assert r.status_code == 413
    assert temp_files == []
