"""How many detection frames a live camera leaves in flight before it waits (inflight.py)."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np

from openlfr.pipeline.frame import Frame
from openlfr.pipeline.inflight import InFlight, Pending


def _pending(update_no: int, done: bool = False) -> Pending:
    fut: Future[np.ndarray] = Future()
    if done:
        fut.set_result(np.zeros((0, 4), np.float32))
    img = np.zeros((2, 2, 3), np.uint8)
    return Pending(Frame(update_no, img, 0.0, 0.0), img, [], set(), [], fut, update_no)


def test_live_waits_only_beyond_its_depth() -> None:
    q = InFlight(exact=False, live_depth=3)
    for n in (1, 2, 3):
        q.add(_pending(n))
    assert list(q.at_update(4)) == []  # three out, none back: the camera goes on
    q.add(_pending(4))
    assert [p.update_no for p in q.at_update(5)] == [1]  # a fourth: the oldest is waited for


def test_live_decides_what_came_back_at_once_and_exact_ignores_depth() -> None:
    q = InFlight(exact=False, live_depth=3)
    q.add(_pending(1, done=True))
    q.add(_pending(2))
    assert [p.update_no for p in q.between_updates()] == [1]
    exact = InFlight(exact=True, live_depth=3)
    for n in (1, 2, 3):
        exact.add(_pending(n, done=True))
    assert [p.update_no for p in exact.at_update(4)] == [1, 2]  # by update number only
    assert list(exact.between_updates()) == []
