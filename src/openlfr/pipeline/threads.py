"""A camera's pipeline on a thread of its own, as the server and the edge worker run it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(kw_only=True)
class CameraThread:
    """How to stop one camera's run and what it has counted so far (counts only, no faces)."""

    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    frames: int = 0
    faces: int = 0
    alerts: int = 0

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class SharedEngine:
    """The one engine all of a process's camera threads use (`multicam.share_engine`: a shared
    detector, and one embedder whose queue batches every camera's chips), built from `factory`
    when the first camera starts, so a process that runs no camera loads no model."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self._engine: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        from openlfr.pipeline.multicam import share_engine

        with self._lock:
            if self._engine is None:
                self._engine = share_engine(self.factory())
            return self._engine

    def close(self) -> None:
        """Stop the batching thread, once no camera uses it; a later `get` builds afresh."""
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.embedder.close()
