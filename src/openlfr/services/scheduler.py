"""The retention job inside a long-running server: purge on a timer, in a background thread.

The API server starts one in its lifespan (`RetentionScheduler(service).start()`, `.stop()` on
shutdown); `openlfr purge` runs the same job once, e.g. from cron.
"""

from __future__ import annotations

import logging
import threading

from openlfr.safelog import crash_summary
from openlfr.services.governance import GovernanceService
from openlfr.services.retention import PurgeReceipt

log = logging.getLogger(__name__)


class RetentionScheduler:
    def __init__(self, service: GovernanceService, interval_s: float | None = None) -> None:
        self.service = service
        self.interval_s = interval_s or service.ctx.settings.purge_interval_minutes * 60.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.last: PurgeReceipt | None = None

    def run_once(self) -> PurgeReceipt | None:
        try:
            self.last = self.service.retention.purge()
        except Exception as e:
            # A failed run must not kill the timer: the next one retries, and it is logged
            # by type and place only (a message may hold data).
            log.error(
                "retention purge failed (%s); retrying in %.0f s", crash_summary(e), self.interval_s
            )
            return None
        finally:
            self.runs += 1
        return self.last

    def _loop(self) -> None:
        self.run_once()
        while not self._stop.wait(self.interval_s):
            self.run_once()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="openlfr-retention", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
