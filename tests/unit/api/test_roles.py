"""Every API route, enumerated from the OpenAPI document: 401 without credentials, 403 with a
role the route does not accept (the roles each operation accepts are its `x-roles`)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from openlfr.governance.vocab import Role
from tests.unit.api._support import METRICS, ROLE_USER, app_for, token
from tests.unit.governance._support import World

# Open by design: logging in, health, metrics and the public transparency documents.
PUBLIC = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/public/deployments"),
    ("get", "/api/v1/public/deployments.csv"),
    ("get", "/api/v1/public/annual/{year}"),
    ("get", "/api/v1/public/annual/{year}.csv"),
    ("get", "/healthz"),
    ("get", "/readyz"),
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
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True}, ready.text  # no reasons
    ready = client.get("/readyz", headers=METRICS)
    assert {"database", "keys", "scheduler"} <= set(ready.json()["checks"])
    assert client.get("/metrics").status_code == 401  # the scrape token is needed
    assert client.get("/metrics", headers=METRICS).status_code == 200
    assert client.get("/api/v1/public/deployments").json() == []
    assert client.get("/transparency").status_code == 200


# Path parameters that name something of one deployment, and how to fill them from deployment A
# of the two-deployment world. A new route with another per-deployment parameter must add it
# here (the test fails on unknown parameters rather than skip the route).
SCOPED_PARAMS = {
    "deployment_id": "dep",
    "alert_id": "alert",
    "entry_id": "entry",
    "photo_id": "photo",
}
# Parameters that do not belong to a deployment (accounts, model approvals, requests).
UNSCOPED_PARAMS = {"user_id", "contract_id", "request_id", "year", "worker_id"}
# Roles that are global by design (G.21): they read every deployment's record but never faces.
GLOBAL_READERS = {"auditor", "administrator"}
# Staff of deployment B only, per role.
OUTSIDER = {"operator": "opB", "watchlist_compiler": "compiler2", "authorising_officer": "aoB"}


def _example(schema: dict[str, Any], doc: dict[str, Any]) -> Any:
    """A minimal valid value for a JSON schema (required fields only)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _example(doc["components"]["schemas"][name], doc)
    for k in ("anyOf", "oneOf", "allOf"):
        if k in schema:
            options = [o for o in schema[k] if o.get("type") != "null"]
            return _example(options[0], doc)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    t = schema.get("type")
    if t == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: _example(props[k], doc) for k in schema.get("required", [])}
    if t == "array":
        return [_example(schema["items"], doc)] * schema.get("minItems", 0)
    if t == "integer":
        return max(1, schema.get("minimum", 1))
    if t == "number":
        return schema.get("minimum", 0.5)
    if t == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date":
        return "2025-09-01"
    if fmt == "date-time":
        return "2026-06-01T10:00:00+00:00"
    if fmt == "binary" or "contentMediaType" in schema:
        return b""
    return "a reason long enough"[: max(schema.get("maxLength", 20), schema.get("minLength", 1))]


def _request_kwargs(op: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    from tests.unit.api._support import face_png

    kw: dict[str, Any] = {}
    query = {}
    for p in op.get("parameters", []):
        if p["in"] == "query" and p.get("required"):
            query[p["name"]] = _example(p["schema"], doc)
    if query:
        kw["params"] = query
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        kw["json"] = _example(content["application/json"]["schema"], doc)
    elif "multipart/form-data" in content:
        form = _example(content["multipart/form-data"]["schema"], doc)
        files = {k: ("x.png", face_png(), "image/png") for k, v in form.items() if v == b""}
        kw["files"] = files
        kw["data"] = {k: str(v) for k, v in form.items() if k not in files}
    return kw


def test_every_scoped_route_refuses_staff_of_another_deployment(w: World) -> None:
    """For every operation naming a deployment's thing in its path: each deployment-scoped role
    it accepts, held by someone on another deployment only, is answered 403 or 404."""
    from tests.security._two import two_deployments

    two = two_deployments(w)
    ids = {"dep": two.a.dep, "alert": two.a.alert, "entry": two.a.entry, "photo": two.a.photo}
    with TestClient(app_for(w)) as client:
        doc = client.get("/api/v1/openapi.json").json()
        tokens = {role: token(client, user) for role, user in OUTSIDER.items()}
        checked = 0
        for path, item in doc["paths"].items():
            params = set(re.findall(r"\{([^}]+)\}", path))
            unknown = params - set(SCOPED_PARAMS) - UNSCOPED_PARAMS
            assert not unknown, f"{path}: add {unknown} to SCOPED_PARAMS or UNSCOPED_PARAMS"
            scoped = params & set(SCOPED_PARAMS)
            if not scoped:
                continue
            url = path
            for p in scoped:
                url = url.replace("{" + p + "}", ids[SCOPED_PARAMS[p]])
            for method, op in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                kw = _request_kwargs(op, doc)
                for role in op.get("x-roles", []):
                    if role not in OUTSIDER:
                        continue
                    r = client.request(method.upper(), url, headers=tokens[role], **kw)
                    assert r.status_code in (403, 404), (
                        f"{method} {path} as {role} of another deployment: "
                        f"{r.status_code} {r.text[:300]}"
                    )
                    checked += 1
        assert checked >= 15
