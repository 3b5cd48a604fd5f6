"""What every request handler shares: the service, the auth stores, the live runner, metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openlfr.api.auth import GrantStore, LoginThrottle
from openlfr.api.live import LiveManager
from openlfr.api.metrics import Metrics
from openlfr.services.governance import GovernanceService

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@dataclass
class ApiContext:
    service: GovernanceService
    engine_factory: Callable[[], Any]
    live: LiveManager
    metrics: Metrics
    grants: GrantStore = field(default_factory=GrantStore)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    cookie_secure: bool | None = None  # None: Secure when the request came over HTTPS
    sse_poll_s: float = 0.5
    banner: str = ""  # shown on the login page (e.g. the demo's instructions)
    _engine: Any = None
    _engine_lock: threading.Lock = field(default_factory=threading.Lock)

    def with_engine(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(engine)` on the shared enrolment engine (detectors are not thread-safe)."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = self.engine_factory()
            return fn(self._engine)
