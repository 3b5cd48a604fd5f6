"""Where a run's time goes, per stage: a few perf_counter reads per frame, always on.

Main-thread stages: `wait` (for the reader's next frame), `convert` (YUV to BGR, detection frames
only), `detect` (downscale + detector), `track`, `quality` (gate, alignment of survivors),
`embed_wait` (waiting for the embeddings), `search` (watchlist search and decision), `alert`
(snapshot, encoding, sink), `other` (the rest of the loop). Off the main thread, overlapping
them: `decode`, the reader thread's time in the source, and `embed`, the embedder's compute for
this camera (0 with a shared BatchingEmbedder, whose own stats hold it), and `snapshot`, the
time spent building and emitting alerts (on the alert thread, or inside `alert` when inline).
"""

from __future__ import annotations

import os
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
    __slots__ = ("cpu", "seconds")

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys((*MAIN_STAGES, "embed", "snapshot"), 0.0)
        # CPU seconds: the whole process, the pipeline thread, its embedding thread.
        self.cpu: dict[str, float] = dict.fromkeys(("process", "main", "embed"), 0.0)

    def lap(self, stage: str, t0: float) -> float:
        """Charge the time since `t0` to `stage`; returns now, the next lap's start."""
        now = time.perf_counter()
        self.seconds[stage] += now - t0
        return now

    def report(
        self, wall_s: float, decode_s: float, frames: int, decode_cpu_s: float = 0.0
    ) -> dict[str, float]:
        """Seconds per stage (with `other` = wall minus the main-thread stages), and
        milliseconds per processed frame as `<stage>_ms_per_frame`. `decode_cpu` is the reader
        thread's CPU time (`decode` also holds its waits: pacing, the network)."""
        s = dict(self.seconds)
        s["other"] = max(0.0, wall_s - sum(s[k] for k in MAIN_STAGES))
        s["decode"] = decode_s
        s["decode_cpu"] = decode_cpu_s
        out = {k: round(v, 4) for k, v in s.items()}
        n = max(1, frames)
        out.update({f"{k}_ms_per_frame": round(1000 * v / n, 3) for k, v in s.items()})
        return out

    def cpu_report(self, media_s: float, cores: int | None = None) -> dict[str, float]:
        """CPU seconds per thread group, and the real-time factor they allow on `cores` idle
        cores: wall time is at least the busiest thread's CPU time and at least the total
        divided by the cores. On a loaded machine wall time says more about the neighbours
        than about the pipeline; CPU time barely moves (it grows a little with cache misses,
        so the estimate errs low)."""
        n = cores or os.cpu_count() or 1
        c = dict(self.cpu)
        # Every other thread: the reader, FFmpeg's decoder threads, a shared embedder.
        c["other_threads"] = max(0.0, c["process"] - c["main"] - c["embed"])
        bound = max(c["main"], c["embed"], c["other_threads"], c["process"] / n)
        out = {f"{k}_s": round(v, 4) for k, v in c.items()}
        out["cores"] = n
        out["realtime_factor_idle_estimate"] = round(media_s / bound, 3) if bound > 0 else 0.0
        return out
