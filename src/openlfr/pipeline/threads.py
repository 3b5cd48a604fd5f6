"""A camera's pipeline on a thread of its own, as the server and the edge worker run it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


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
