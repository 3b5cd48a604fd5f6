"""One embedder shared by several pipelines (cameras), fed from a queue, batched per call.

Each camera's pipeline submits the chips of one frame and gets a Future; a single worker thread
drains every pending request into one model call (greedily: whatever queued while the previous
call ran goes into the next, so no request waits for a batch to fill) and splits the result.
Sharing one session also shares its memory and its threads: K cameras cost one embedder.
`embed()` is the synchronous form, so the object also serves as an ordinary `Embedder`.
A request submitted `alone` gets a model call of its own: a runtime may pick another kernel,
and sum in another order, for another batch size (SFace on onnxruntime 1.32 here gives the same
bits for batches of 1-8, but nothing promises it), so a file that must give the same scores on
every run does not let its chips' vectors depend on whose chips happened to queue beside them;
batching buys little on CPU (27 ms per SFace chip alone, 29 in a batch of 8, this machine).

Privacy: chips live only in the queue until embedded; nothing is kept or logged.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from openlfr.vision.contract import EmbeddingContract, FloatArray
from openlfr.vision.types import Embedder, Image


@dataclass(slots=True)
class BatchStats:
    requests: int = 0
    chips: int = 0
    calls: int = 0
    busy_s: float = 0.0
    cpu_s: float = 0.0  # the batching thread's CPU time in the model (its share of the cores)

    @property
    def mean_batch(self) -> float:
        return self.chips / self.calls if self.calls else 0.0


class BatchingEmbedder:
    def __init__(self, embedder: Embedder, *, max_batch: int = 64) -> None:
        self.embedder = embedder
        self.contract: EmbeddingContract = embedder.contract
        self.max_batch = max(1, max_batch)
        self.stats = BatchStats()
        self._q: deque[tuple[list[Image], Future[FloatArray], bool]] = deque()
        self._cv = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="embedder", daemon=True)
        self._thread.start()

    def submit(self, chips: Sequence[Image], *, alone: bool = False) -> Future[FloatArray]:
        """`alone`: embedded in a call of its own (the same vectors whatever else queued)."""
        fut: Future[FloatArray] = Future()
        if not chips:
            fut.set_result(np.zeros((0, self.contract.dim), np.float32))
            return fut
        with self._cv:
            if self._closed:
                raise RuntimeError("the shared embedder is closed")
            self._q.append((list(chips), fut, alone))
            self._cv.notify()
        return fut

    def embed(self, chips: Sequence[Image]) -> FloatArray:
        return self.submit(chips).result()

    def _take(self) -> list[tuple[list[Image], Future[FloatArray]]] | None:
        with self._cv:
            while not self._q and not self._closed:
                self._cv.wait()
            if not self._q:
                return None
            req, fut, alone = self._q.popleft()
            batch = [(req, fut)]
            n = len(req)
            while (
                not alone
                and self._q
                and not self._q[0][2]
                and n + len(self._q[0][0]) <= (self.max_batch)
            ):
                req, fut, _ = self._q.popleft()
                batch.append((req, fut))
                n += len(req)
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            # A camera that stops cancels what it still waits for; those chips are dropped unseen.
            # Claiming each future (as an executor does) also means no result is set on a
            # cancelled one, which would raise here and end the thread every camera relies on.
            batch = [(req, fut) for req, fut in batch if fut.set_running_or_notify_cancel()]
            if not batch:
                continue
            chips = [c for req, _ in batch for c in req]
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                vecs = self.embedder.embed(chips)
            except BaseException as exc:  # the callers see the model's error, the worker lives
                for _, fut in batch:
                    fut.set_exception(exc)
                continue
            finally:
                del chips
            self.stats.busy_s += time.perf_counter() - t0
            self.stats.cpu_s += time.thread_time() - c0
            self.stats.calls += 1
            self.stats.requests += len(batch)
            i = 0
            for req, fut in batch:
                fut.set_result(vecs[i : i + len(req)])
                self.stats.chips += len(req)
                i += len(req)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._thread.join(timeout=10)

    def __enter__(self) -> BatchingEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
