"""Benchmark: the live pipeline, its old settings in the same run, and every-frame baselines.

    python bench/pipeline.py [--video PATH] [--repeat 3] [--skip-loops] [--json]

1. pipeline runs on the walkers video with 1,000 LFW identities enrolled (mean template of up to
   5 photos each, where LFW has them), decode included, as fast as it goes, in three variants run
   interleaved --repeat times (medians reported, with the load average beside each run):
   - `old`: the settings before the throughput work: YuNet in OpenCV's FaceDetectorYN, SFace's
     weight DequantizeLinear nodes re-run per call, every frame converted to BGR on the reader
     thread, and the old shot budget (at most 3 embeddings, a second shot within 0.9 of the best);
   - `fast_old_shots`: the new engine and decoding with the old shot budget (throughput alone);
   - `today`: the defaults before issue 23's work, detection on every due frame (no motion
     gate, pipeline/gating.py), every first shot embedded at once and a replacement shot
     allowed (TODAY_SHOTS): the same-run reference (people tracked must not fall);
   - `new`: the defaults (new engine and decoding, K diverse shots per track, fused, the
     motion gate, the first shot deferred until a second exists, no replacement).
   Each reports the real-time factor, embeddings and shots per track, alerts, the best
   non-mated score, and where the time goes per frame (`stages`: wait, convert, detect, track,
   quality, embed, search, alert, other on the main thread; decode on the reader thread).
   Ratios against `old` are robust to the machine's load; the absolute numbers are not. Each
   run also reports its CPU seconds per thread and the real-time factor they allow on idle
   cores (`realtime_factor_idle_estimate`, pipeline/timing.py), which a loaded machine barely
   moves.
2. baseline loops (skipped with --skip-loops): the `face_recognition` examples' loop (dlib HOG
   with one upsample at full resolution, dlib ResNet on every face, every frame; first
   --baseline-frames frames) and the same every-frame loop with OpenLFR's own engine (first
   --same-engine-frames frames).

    python bench/pipeline.py --k-study [--ks 1,2,3,4,5,6]

The cost of K (shots per track): the `new` pipeline with max_shots=K, per K: real-time factor,
embeddings and shots per track, embed ms per frame.

    python bench/pipeline.py --cameras 2 [--repeat 3]

K cameras (the video K times, as fast as they decode) in one process: `MultiCameraRunner` with one
shared batching embedder against K pipelines with an embedder each; process CPU seconds (the
load-robust measure), the real-time factor per camera they allow on 2 idle cores, mean batch.

    python bench/pipeline.py --fusion-study [--lfw ../shared/data/lfw] [--json]

How many shots, fused how: bench/fusion_study.py (LFW, 1,000 enrolled, K = 1..5 shots per
"track", template mean vs score max vs score mean; TPIR/FPIR at 0.5 and 0.71).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from openlfr.config.settings import VisionSettings
from openlfr.matching import Watchlist
from openlfr.pipeline import MemoryAlertSink, Pipeline, PipelineConfig, PyAVSource, ShotPolicy
from openlfr.pipeline.gating import MotionGate
from openlfr.pipeline.tracking import FaceTracker
from openlfr.vision import build_engine
from openlfr.vision.engine import FaceEngine
from openlfr.vision.types import Image

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "video" / "walkers_1080p.mp4"


def frames(video: Path, limit: int | None = None) -> Iterator[Image]:
    import av

    with av.open(str(video)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for i, f in enumerate(c.decode(stream)):
            if limit is not None and i >= limit:
                return
            yield f.to_ndarray(format="bgr24")


def every_frame_loop(engine: FaceEngine, video: Path, n: int) -> tuple[float, int, int]:
    """Detect and embed every face of every frame: (fps, frames, faces embedded)."""
    t0 = time.perf_counter()
    count = faces = 0
    for img in frames(video, n):
        dets = engine.detect(img)
        if dets:
            engine.embed_chips(engine.align(img, dets))
        faces += len(dets)
        count += 1
    return count / (time.perf_counter() - t0), count, faces


def people_seen(engine: FaceEngine, video: Path, fps: float, min_frames: int = 5) -> int:
    """Tracks of >= min_frames frames from `engine`'s detector run on every frame."""
    tracker = FaceTracker(updates_per_s=fps, lost_after=round(fps))
    span: dict[int, list[int]] = {}
    for i, img in enumerate(frames(video)):
        tracked, _ = tracker.update(engine.detect(img))
        for tf in tracked:
            span.setdefault(tf.track_id, [i, i])[1] = i
    return sum(1 for a, b in span.values() if b - a + 1 >= min_frames)


OLD_SHOTS = ShotPolicy(max_shots=2, max_embeddings=3, evidence_ratio=0.9, defer_first=False)
# The shot policy before issue 23: first shot embedded alone, one replacement allowed.
TODAY_SHOTS = ShotPolicy(max_embeddings=5, defer_first=False)


def run_variant(
    name: str, engine: FaceEngine, wl: Watchlist, video: Path, cfg: PipelineConfig, lazy: bool
) -> dict[str, object]:
    load = os.getloadavg()[0]
    src = PyAVSource(str(video), lazy=lazy)
    s = Pipeline(engine, wl, MemoryAlertSink(), cfg).run(src)
    d = s.to_dict()
    st = s.counters.stages
    return {
        "variant": name,
        "realtime_factor": d["realtime_factor"],
        "fps": d["fps"],
        "wall_s": d["wall_s"],
        "media_s": d["media_s"],
        "frames": d["frames_processed"],
        "tracks": d["tracks"],
        "tracks_confirmed": d["tracks_confirmed"],
        "faces_detected": d["faces_detected"],
        "detect_frames": d["detect_frames"],
        "detect_skipped": d["detect_skipped_still"] + d["detect_skipped_settled"],
        "embeddings": d["embeddings"],
        "embeddings_per_track": d["embeddings_per_track"],
        "shots_per_track": d["shots_per_track"],
        "shots_per_embedded_track": d["shots_per_embedded_track"],
        "tracks_embedded": d["tracks_embedded"],
        "tracks_min_shots": d["tracks_min_shots"],
        "first_shots_unembedded": d["first_shots_unembedded"],
        "alerts": d["alerts"],
        "max_score": d["max_score"],
        "stages_ms_per_frame": {
            k.removesuffix("_ms_per_frame"): v for k, v in st.items() if k.endswith("_ms_per_frame")
        },
        "cpu": s.counters.cpu,
        "realtime_factor_idle_estimate": s.counters.cpu["realtime_factor_idle_estimate"],
        "loadavg_1m": round(load, 2),
    }


def median_run(runs: list[dict[str, object]]) -> dict[str, object]:
    """The run with the median real-time factor, plus every run's factor and load."""
    ordered = sorted(runs, key=lambda r: float(r["realtime_factor"]))  # type: ignore[arg-type]
    med = dict(ordered[len(ordered) // 2])
    med["realtime_factor_runs"] = [r["realtime_factor"] for r in runs]
    med["loadavg_runs"] = [r["loadavg_1m"] for r in runs]
    est = sorted(float(r["realtime_factor_idle_estimate"]) for r in runs)  # type: ignore[arg-type]
    med["realtime_factor_idle_estimate_runs"] = est
    med["realtime_factor_idle_estimate_median"] = est[len(est) // 2]
    return med


def pipeline_variants(a: argparse.Namespace) -> dict[str, object]:
    from lfw_sets import lfw_watchlist

    settings = VisionSettings(threads=a.threads)
    fast = build_engine(settings, engine="sface")
    old = build_engine(settings, engine="sface", fast=False)
    wl, photos = lfw_watchlist(fast, a.lfw, size=a.enrolled)
    for e in (fast, old):
        e.embed_chips([np.zeros((112, 112, 3), np.uint8)])  # warm-up outside the timing
    base = PipelineConfig(detect_stride=a.stride, detect_max_side=a.max_side)
    old_cfg = replace(base, shots=OLD_SHOTS, async_embed=False, async_alerts=False)
    fast_old = replace(base, shots=OLD_SHOTS)
    variants = [
        ("old", old, old_cfg, False),
        ("fast_old_shots", fast, fast_old, True),
        ("today", fast, replace(base, motion=MotionGate(enabled=False), shots=TODAY_SHOTS), True),
        ("new", fast, base, True),
    ]
    runs: dict[str, list[dict[str, object]]] = {v[0]: [] for v in variants}
    for _ in range(a.repeat):
        for name, eng, cfg, lazy in variants:
            runs[name].append(run_variant(name, eng, wl, a.video, cfg, lazy))
    out: dict[str, object] = {name: median_run(r) for name, r in runs.items()}
    ref = float(out["old"]["realtime_factor"])  # type: ignore[index]
    out["ratios_vs_old"] = {
        name: round(float(out[name]["realtime_factor"]) / ref, 2)  # type: ignore[index]
        for name in runs
    }
    ref_idle = float(out["old"]["realtime_factor_idle_estimate_median"])  # type: ignore[index]
    out["idle_estimate_ratios_vs_old"] = {
        name: round(
            float(out[name]["realtime_factor_idle_estimate_median"]) / ref_idle,  # type: ignore[index]
            2,
        )
        for name in runs
    }
    new, today = out["new"], out["today"]
    out["new_vs_today"] = {  # the motion gate's cost in people found: must not fall
        k: [new[k], today[k]]  # type: ignore[index]
        for k in (
            "tracks",
            "tracks_confirmed",
            "tracks_min_shots",
            "faces_detected",
            "alerts",
            "embeddings",
            "shots_per_embedded_track",
        )
    }
    out["watchlist"] = {"identities": len(wl), "photos_per_identity": round(photos, 2)}
    out["config"] = {
        "stride": a.stride,
        "max_side": a.max_side,
        "embed_threads": a.threads,
        "shots": asdict(base.shots),
        "threshold": Pipeline(fast, wl, MemoryAlertSink(), base).threshold,
    }
    return out


def k_study(a: argparse.Namespace) -> dict[str, object]:
    from lfw_sets import lfw_watchlist

    eng = build_engine(VisionSettings(threads=a.threads), engine="sface")
    wl, _ = lfw_watchlist(eng, a.lfw, size=a.enrolled)
    eng.embed_chips([np.zeros((112, 112, 3), np.uint8)])
    base = PipelineConfig(detect_stride=a.stride, detect_max_side=a.max_side)
    ks = [int(k) for k in a.ks.split(",")]
    runs: dict[int, list[dict[str, object]]] = {k: [] for k in ks}
    for _ in range(a.repeat):
        for k in ks:
            shots = replace(base.shots, max_shots=k, max_embeddings=k + 1)
            runs[k].append(
                run_variant(f"k={k}", eng, wl, a.video, replace(base, shots=shots), True)
            )
    return {"by_k": [median_run(runs[k]) for k in ks]}


def cameras_study(a: argparse.Namespace) -> dict[str, object]:
    """K cameras (the video K times) in one process: one shared batching embedder
    (MultiCameraRunner) against K pipelines each with its own embedder, interleaved."""
    import threading

    from lfw_sets import lfw_watchlist
    from openlfr.pipeline import CameraJob, MultiCameraRunner

    settings = VisionSettings(threads=a.threads)
    eng = build_engine(settings, engine="sface")
    wl, _ = lfw_watchlist(eng, a.lfw, size=a.enrolled)
    k = a.cameras

    def cfg(i: int) -> PipelineConfig:
        return PipelineConfig(
            camera_id=f"cam{i}", detect_stride=a.stride, detect_max_side=a.max_side
        )

    def shared() -> dict[str, object]:
        jobs = [
            CameraJob(PyAVSource(str(a.video)), wl, MemoryAlertSink(), cfg(i)) for i in range(k)
        ]
        load, c0, t0 = os.getloadavg()[0], time.process_time(), time.perf_counter()
        r = MultiCameraRunner(eng, jobs).run()
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        media = sum(s.counters.media_s for s in r.summaries.values())
        return {
            "realtime_factor_min": min(
                s.to_dict()["realtime_factor"] for s in r.summaries.values()
            ),
            "cpu_s": round(cpu, 3),
            "wall_s": round(wall, 3),
            "realtime_factor_idle_estimate_per_camera": round(media / k / (cpu / 2), 3),
            "alerts": sum(s.counters.alerts for s in r.summaries.values()),
            "mean_batch": round(r.batching.mean_batch, 2),
            "embed_calls": r.batching.calls,
            "loadavg_1m": round(load, 2),
        }

    def separate() -> dict[str, object]:
        engines = [build_engine(settings, engine="sface") for _ in range(k)]
        out: list[object] = [None] * k

        def one(i: int) -> None:
            out[i] = Pipeline(engines[i], wl, MemoryAlertSink(), cfg(i)).run(
                PyAVSource(str(a.video))
            )

        load, c0, t0 = os.getloadavg()[0], time.process_time(), time.perf_counter()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(k)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        sums = [s for s in out if s is not None]
        media = sum(s.counters.media_s for s in sums)  # type: ignore[attr-defined]
        return {
            "realtime_factor_min": min(s.to_dict()["realtime_factor"] for s in sums),  # type: ignore[attr-defined]
            "cpu_s": round(cpu, 3),
            "wall_s": round(wall, 3),
            "realtime_factor_idle_estimate_per_camera": round(media / k / (cpu / 2), 3),
            "loadavg_1m": round(load, 2),
        }

    runs: dict[str, list[dict[str, object]]] = {"shared_embedder": [], "separate_embedders": []}
    for _ in range(a.repeat):
        runs["shared_embedder"].append(shared())
        runs["separate_embedders"].append(separate())
    res: dict[str, object] = {"cameras": k}
    for name, rs in runs.items():
        rs.sort(key=lambda r: float(r["cpu_s"]))  # type: ignore[arg-type]
        res[name] = {**rs[len(rs) // 2], "cpu_s_runs": [r["cpu_s"] for r in rs]}
    res["cpu_ratio_separate_vs_shared"] = round(
        float(res["separate_embedders"]["cpu_s"]) / float(res["shared_embedder"]["cpu_s"]),  # type: ignore[index]
        3,
    )
    return res


def every_frame_loops(a: argparse.Namespace, video_fps: float) -> dict[str, object]:
    full = build_engine(VisionSettings(threads=0), engine="sface")
    full.embed_chips([np.zeros((112, 112, 3), np.uint8)])
    same_fps, same_n, same_faces = every_frame_loop(full, a.video, a.same_engine_frames)
    dlib_engine = build_engine(engine="dlib")
    base_fps, base_n, base_faces = every_frame_loop(dlib_engine, a.video, a.baseline_frames)
    base_people = -1 if a.skip_baseline_people else people_seen(dlib_engine, a.video, video_fps)
    return {
        "baseline_fps": round(base_fps, 3),
        "baseline_frames_timed": base_n,
        "baseline_faces_embedded": base_faces,
        "baseline_people": base_people,
        "same_engine_fps": round(same_fps, 3),
        "same_engine_frames_timed": same_n,
        "same_engine_faces_embedded": same_faces,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "data" / "lfw")
    ap.add_argument("--enrolled", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-frames", type=int, default=8)
    ap.add_argument("--same-engine-frames", type=int, default=25)
    ap.add_argument("--stride", type=int, default=PipelineConfig().detect_stride)
    ap.add_argument("--max-side", type=int, default=PipelineConfig().detect_max_side)
    ap.add_argument("--threads", type=int, default=1, help="embedder threads for the pipeline")
    ap.add_argument("--skip-loops", action="store_true", help="skip the every-frame baselines")
    ap.add_argument("--skip-baseline-people", action="store_true", help="skip the ~1 min HOG pass")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--fusion-study", action="store_true", help="LFW study of shot fusion instead")
    ap.add_argument("--k-study", action="store_true", help="pipeline cost per K instead")
    ap.add_argument("--ks", default="1,2,3,4,5,6")
    ap.add_argument("--cameras", type=int, default=0, help="K cameras in one process instead")
    a = ap.parse_args(argv)
    load_before = os.getloadavg()[0]
    if a.fusion_study:
        from fusion_study import fusion_study

        r = fusion_study(build_engine(VisionSettings(threads=a.threads), engine="sface"), a.lfw)
    elif not a.video.is_file():
        print(f"video not found: {a.video}", file=sys.stderr)
        return 2
    elif a.k_study:
        r = k_study(a)
    elif a.cameras:
        r = cameras_study(a)
    else:
        r = pipeline_variants(a)
        new = r["new"]
        if not a.skip_loops:
            fps = float(new["frames"]) / float(new["media_s"])  # type: ignore[index]
            loops = every_frame_loops(a, fps)
            r["loops"] = loops
            r["speedup_vs_face_recognition_loop"] = round(
                float(new["fps"]) / loops["baseline_fps"],
                1,  # type: ignore[index,arg-type]
            )
            r["speedup_vs_same_engine_loop"] = round(
                float(new["fps"]) / loops["same_engine_fps"],
                2,  # type: ignore[index,arg-type]
            )
    r["cpus"] = os.cpu_count()
    r["loadavg_1m_before"] = round(load_before, 2)
    r["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(r, sort_keys=True, indent=None if a.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
