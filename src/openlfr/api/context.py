"""What every request handler shares: the service, the auth stores, the live runner, metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openlfr.api.auth import GrantStore, LoginThrottle
from openlfr.api.bell import AlertBell
from openlfr.api.live import LiveManager
from openlfr.api.metrics import Metrics
from openlfr.config.api import ApiSettings
from openlfr.services.governance import GovernanceService

MAX_UPLOAD_BYTES = ApiSettings().max_upload_bytes
MAX_JSON_BYTES = ApiSettings().max_json_bytes


@dataclass
class ApiContext:
    service: GovernanceService
    engine_factory: Callable[[], Any]
    live: LiveManager
    metrics: Metrics
    grants: GrantStore | None = None  # default: in the service's database
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_json_bytes: int = MAX_JSON_BYTES
    cookie_secure: bool | None = None  # None: Secure when the request came over HTTPS
    hsts: bool = False
    metrics_token: str | None = None  # None: /metrics is closed
    sse_poll_s: float = 0.5
    bell: AlertBell = field(default_factory=AlertBell)  # new alerts wake the streams
    banner: str = ""  # shown on the login page (e.g. the demo's instructions)
    _engine: Any = None
    _engine_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.grants is None:
            self.grants = GrantStore(self.service.ctx.factory)

    @property
    def auth(self) -> GrantStore:
        assert self.grants is not None
        return self.grants

    @classmethod
    def options(cls, api: ApiSettings) -> dict[str, Any]:
        """create_app keyword options from the server settings."""
        return {
            "max_upload_bytes": api.max_upload_bytes,
            "max_json_bytes": api.max_json_bytes,
            "cookie_secure": api.cookie_secure,
            "hsts": api.hsts,
            "metrics_token": api.metrics_token.get_secret_value() if api.metrics_token else None,
        }

    def with_engine(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(engine)` on the shared enrolment engine (detectors are not thread-safe)."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = self.engine_factory()
            return fn(self._engine)
