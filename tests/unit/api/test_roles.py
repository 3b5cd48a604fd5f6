"""Every API route, enumerated from the OpenAPI document: 401 without credentials, 403 with a
role the route does not accept (the roles each operation accepts are its `x-roles`)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from openlfr.governance.vocab import Role
from tests.unit.api._support import ROLE_USER, token

# Open by design: logging in, health, metrics and the public transparency documents.
PUBLIC = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/public/deployments"),
    ("get", "/api/v1/public/deployments.csv"),
    ("get", "/api/v1/public/annual/{year}"),
    ("get", "/api/v1/public/annual/{year}.csv"),
    ("get", "/healthz"),
    ("get", "/metrics"),
}


def _operations(client: TestClient) -> list[tuple[str, str, list[str]]]:
    doc = client.get("/api/v1/openapi.json").json()
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method, path, op.get("x-roles", [])))
    return ops


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = re.sub(r"\{[^}]+\}", "x", path)
    return client.request(method.upper(), url, headers=headers).status_code


def test_every_route_needs_auth_and_the_right_role(client: TestClient) -> None:
    ops = _operations(client)
    assert len(ops) >= 30
    tokens = {role: token(client, user) for role, user in ROLE_USER.items()}
    checked_403 = 0
    for method, path, roles in ops:
        if (method, path) in PUBLIC:
            assert not roles
            continue
        assert roles, f"{method} {path} does not declare x-roles"
        assert _call(client, method, path, {}) == 401, f"{method} {path} without auth"
        bad = "Bearer not-a-token"
        assert _call(client, method, path, {"Authorization": bad}) == 401, f"{method} {path}"
        wrong = [r for r in Role if r.value not in roles]
        if not wrong:
            continue  # any authenticated user (e.g. /auth/me)
        for r in wrong:
            got = _call(client, method, path, tokens[r.value])
            assert got == 403, f"{method} {path} as {r.value}: {got}"
        checked_403 += 1
    assert checked_403 >= 25


def test_public_routes_answer_without_auth(client: TestClient) -> None:
    assert client.get("/healthz").text == "ok"
    assert client.get("/metrics").status_code == 200
    assert client.get("/api/v1/public/deployments").json() == []
    assert client.get("/transparency").status_code == 200
