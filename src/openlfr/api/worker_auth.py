"""The worker-token dependency: only `Authorization: Bearer olw_...` tokens of current workers.

Kept apart from the human session/bearer auth (api/auth.py): a worker token opens nothing a
person can, and a person's session or token opens none of the worker routes.
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from openlfr.api.deps import ApiError, get_ctx, grant_of
from openlfr.broker.protocol import TOKEN_PREFIX
from openlfr.errors import WorkerAuthError
from openlfr.services.workers import WorkerIdentity, WorkerService

worker_bearer = HTTPBearer(auto_error=False, description="Worker token (olw_...)")


def worker_service(request: Request) -> WorkerService:
    return WorkerService(get_ctx(request).service)


def current_worker(
    request: Request,
    creds: HTTPAuthorizationCredentials | None = Depends(worker_bearer),
) -> WorkerIdentity:
    if creds is None or not creds.credentials.startswith(TOKEN_PREFIX):
        if grant_of(request) is not None:
            # A person (any role) is authenticated, but these routes are for workers only.
            raise ApiError(403, "permission_denied", "needs a worker token")
        raise ApiError(
            401, "not_authenticated", "send a worker token", {"WWW-Authenticate": "Bearer"}
        )
    try:
        return worker_service(request).authenticate(creds.credentials)
    except WorkerAuthError as e:
        raise ApiError(401, e.code, "worker token unknown or revoked") from None
