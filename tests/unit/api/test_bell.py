"""The alert bell wakes a waiting stream from another thread, and only while it listens."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from openlfr.api.bell import AlertBell, wait_rung


def test_ring_from_a_recording_thread_wakes_the_stream() -> None:
    bell = AlertBell()

    async def main() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        with bell.listen() as rung:
            await wait_rung(rung, 0.01)  # nothing rang: the poll timeout ends the wait
            quiet = rung.is_set()
            threading.Thread(target=bell.ring).start()
            t0 = loop.time()
            await wait_rung(rung, 30.0)
            return quiet, rung.is_set() and loop.time() - t0 < 30.0

    # A loop of its own thread: Playwright's sync API (tests/browser) can leave the main
    # thread marked as running a loop for the rest of the session.
    with ThreadPoolExecutor(1) as pool:
        quiet, woke = pool.submit(asyncio.run, main()).result()
    assert not quiet and woke
    bell.ring()  # nobody listens any more: nothing to wake, no error
    assert not bell._waiters
