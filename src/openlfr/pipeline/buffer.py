"""`BufferedSource`: a source decoded on its own thread into a bounded queue."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from typing import Any

from openlfr.pipeline.frame import Frame, FrameSource

_END = object()


class BufferedSource:
    """Decodes `source` on a thread into a bounded queue.

    Live sources drop the oldest queued frame when the queue is full and count it in
    `dropped`; offline sources (files read as fast as possible) make the reader wait instead,
    so that every frame is processed. `read_s` is the reader thread's time inside the source
    (decoding, and for live sources waiting on the network or pacing): the benchmark's decode
    stage; `read_cpu_s` its CPU time (all of decoding where the decoder runs on that thread).
    """

    def __init__(
        self, source: FrameSource, *, maxsize: int = 4, drop_oldest: bool | None = None
    ) -> None:
        self.source = source
        self.maxsize = max(1, maxsize)
        self.drop_oldest = source.live if drop_oldest is None else drop_oldest
        self.dropped = 0
        self.read_s = 0.0
        self.read_cpu_s = 0.0
        self._q: collections.deque[Any] = collections.deque()
        self._cv = threading.Condition()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"reader:{source.name}", daemon=True)

    def _put(self, item: Any) -> None:
        with self._cv:
            if self._stop.is_set():
                return
            while not self.drop_oldest and len(self._q) >= self.maxsize and not self._stop.is_set():
                self._cv.wait(0.1)
            if len(self._q) >= self.maxsize and item is not _END:
                self._q.popleft()
                self.dropped += 1
            self._q.append(item)
            self._cv.notify_all()

    def _run(self) -> None:
        try:
            it = iter(self.source.frames())
            while True:
                t0, c0 = time.perf_counter(), time.thread_time()
                frame = next(it, None)
                self.read_s += time.perf_counter() - t0
                self.read_cpu_s += time.thread_time() - c0
                if frame is None or self._stop.is_set():
                    break
                self._put(frame)
        except BaseException as exc:
            self._error = exc
        finally:
            with self._cv:
                self._q.append(_END)
                self._cv.notify_all()

    def __iter__(self) -> Iterator[Frame]:
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()
        while True:
            with self._cv:
                while not self._q:
                    self._cv.wait(0.1)
                item = self._q.popleft()
                self._cv.notify_all()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item

    def stop(self) -> None:
        self._stop.set()
        self.source.close()
        with self._cv:
            # Frames still queued when the run stops were never processed: they count as dropped,
            # so that frames == processed + dropped always holds.
            self.dropped += sum(1 for item in self._q if item is not _END)
            self._q.clear()
            self._cv.notify_all()
        if self._thread.ident is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> BufferedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
