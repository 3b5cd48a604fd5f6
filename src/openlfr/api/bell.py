"""Wakes the console's open event streams when alerts are committed in this process.

A stream otherwise polls every `sse_poll_s`; the poll stays (alerts recorded by another
process, reviews, a grant that lapses), the bell only cuts the wait after a new alert. Rung from
the recording thread; each stream waits on its own loop's event.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator


class AlertBell:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def ring(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, ev in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed meanwhile
                loop.call_soon_threadsafe(ev.set)

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Event]:
        """An event set on the next ring (clear it before each read); call on the stream's loop."""
        me = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(me)
        try:
            yield me[1]
        finally:
            with self._lock:
                self._waiters.discard(me)


async def wait_rung(ev: asyncio.Event, timeout_s: float) -> None:
    """Until the bell rings or `timeout_s` passes, whichever is first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ev.wait(), timeout_s)
