"""Detection frames whose shots are being embedded, and when each one is decided.

The runner hands a detection frame's chips to an embedder that may run on another thread (its
own, or the batching thread several cameras share) and decides on them later, in submission
order. *When* matters for the evidence: a track whose shot is still being embedded takes no new
shot, and a decision made early or late changes which shots a track holds when its next shot is
chosen. Two policies:

- exact (a file read as fast as it goes, without `--realtime`): decisions follow the detection
  updates, never the clock. At update n every frame submitted before update n-1 is decided
  (waiting for its embeddings if need be), the one from update n-1 stays in flight while n is
  detected, and nothing is decided between updates. The same file gives the same shots, the
  same decisions and the same alerts however loaded the machine is.
- best effort (live sources): besides, whatever came back early is decided at once (alerts go
  out sooner) and at most `live_depth` frames stay in flight (3 by default: with cameras sharing one
  embedder, a camera that waited for its last frame's chips while they queued behind the other
  cameras' dropped frames with CPU to spare). A late embedding changes only what the next
  update sees; frames the pipeline cannot keep up with are dropped and counted by the source's
  buffer, as before.

Privacy: a pending frame holds its image and detections only until it is decided or dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

from openlfr.pipeline.bestshot import ShotAction
from openlfr.pipeline.frame import Frame
from openlfr.vision.contract import FloatArray
from openlfr.vision.quality import FaceQuality
from openlfr.vision.types import Detection, Image


@dataclass(slots=True)
class Pending:
    """A detection frame whose chips are being embedded: what its decisions will need."""

    frame: Frame
    image: Image  # kept until the decisions are made (an alert's crop and snapshot)
    dets: list[Detection]
    active: set[int]  # tracks seen in that frame
    chosen: list[tuple[int, Detection, FaceQuality, ShotAction]]
    future: Future[FloatArray]
    update_no: int  # the detection update the shots were taken at
    chips: list[Image] = field(default_factory=list)  # as `chosen`: into the tracks' evidence


class InFlight:
    """Pending detection frames in submission order, released by the policy above."""

    def __init__(self, *, exact: bool, live_depth: int = 3) -> None:
        self.exact = exact
        self.live_depth = max(1, live_depth)
        self._q: deque[Pending] = deque()

    def __len__(self) -> int:
        return len(self._q)

    def add(self, p: Pending) -> None:
        self._q.append(p)

    def busy_tracks(self) -> set[int]:
        """Tracks with a shot still in flight: they take no new shot until it is decided."""
        return {tid for p in self._q for tid, *_ in p.chosen}

    def at_update(self, update_no: int) -> Iterator[Pending]:
        """What to decide at detection update `update_no`, after its detection ran."""
        q = self._q
        if self.exact:
            while q and q[0].update_no < update_no - 1:
                yield q.popleft()
        else:
            while q and (q[0].future.done() or len(q) > self.live_depth):
                yield q.popleft()

    def between_updates(self) -> Iterator[Pending]:
        """What to decide on a frame the detector skips: nothing when exact, else what is in."""
        q = self._q
        while not self.exact and q and q[0].future.done():
            yield q.popleft()

    def everything(self) -> Iterator[Pending]:
        """All of it, oldest first (a track ends, the embedding is synchronous, the run ends)."""
        while self._q:
            yield self._q.popleft()

    def drop(self) -> None:
        """End of a stopped run: frames still waiting are dropped undecided, chips with them."""
        while self._q:
            p = self._q.popleft()
            p.future.cancel()
            p.chosen.clear()
