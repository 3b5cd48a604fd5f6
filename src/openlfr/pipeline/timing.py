"""Where a run's time goes, per stage: a few perf_counter reads per frame, always on.

Main-thread stages: `wait` (for the reader's next frame), `convert` (YUV to BGR, detection frames
only), `detect` (downscale + detector), `track`, `quality` (gate, alignment of survivors),
`embed_wait` (waiting for the embeddings), `search` (watchlist search and decision), `alert`
(snapshot, encoding, sink), `other` (the rest of the loop). Off the main thread, overlapping
them: `decode`, the reader thread's time in the source, and `embed`, the embedder's compute for
this camera (0 with a shared BatchingEmbedder, whose own stats hold it).
"""

from __future__ import annotations

import time

MAIN_STAGES = (
    "wait",
    "convert",
    "detect",
    "track",
    "quality",
    "embed_wait",
    "search",
    "alert",
)


class StageTimes:
    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys((*MAIN_STAGES, "embed"), 0.0)

    def lap(self, stage: str, t0: float) -> float:
        """Charge the time since `t0` to `stage`; returns now, the next lap's start."""
        now = time.perf_counter()
        self.seconds[stage] += now - t0
        return now

    def report(self, wall_s: float, decode_s: float, frames: int) -> dict[str, float]:
        """Seconds per stage (with `other` = wall minus the main-thread stages), and
        milliseconds per processed frame as `<stage>_ms_per_frame`."""
        s = dict(self.seconds)
        s["other"] = max(0.0, wall_s - sum(s[k] for k in MAIN_STAGES))
        s["decode"] = decode_s
        out = {k: round(v, 4) for k, v in s.items()}
        n = max(1, frames)
        out.update({f"{k}_ms_per_frame": round(1000 * v / n, 3) for k, v in s.items()})
        return out
