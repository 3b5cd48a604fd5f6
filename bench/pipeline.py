"""Benchmark: the live pipeline against two every-frame baselines, in one run.

    python bench/pipeline.py [--video PATH] [--baseline-frames 8] [--same-engine-frames 25] [--json]

1. pipeline: OpenLFR's pipeline (detect on a downscaled frame every k-th frame, ByteTrack,
   quality gate, bounded best shots, batched embeddings), decode included, as fast as it goes.
2. baseline: the loop of the `face_recognition` examples: dlib HOG with one upsample on the
   full-resolution frame, then dlib's ResNet embedding of every face, every frame. Timed on the
   first --baseline-frames frames (it runs at about a frame a second); the people it finds are
   counted by running its HOG detector over every frame and linking detections with the same
   tracker: tracks spanning 5+ frames.
3. same engine: the same every-frame loop with OpenLFR's own detector and embedder (YuNet at
   full resolution, SFace on every face), timed on the first --same-engine-frames frames.

Speeds are frames per wall second with decoding included; the real-time factor is media
seconds per wall second. Report the machine load beside the numbers (printed).

    python bench/pipeline.py --fusion-study [--lfw ../shared/data/lfw] [--json]

Does fusing a track's shots raise TPIR at a fixed FPIR? LFW people with 4+ images are split in
two: one half is enrolled from its first image (with single-image people up to 1,000 ids), the
other half never is; each person's images 2-4 play a three-shot track, probed either by its
best-quality shot or by the re-normalised mean of its shots (what the pipeline does).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from openlfr.config.settings import VisionSettings
from openlfr.matching import Watchlist
from openlfr.pipeline import MemoryAlertSink, Pipeline, PipelineConfig, PyAVSource
from openlfr.pipeline.tracking import FaceTracker
from openlfr.vision import build_engine
from openlfr.vision.contract import l2_normalise
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


def fusion_study(lfw: Path, gallery_size: int = 1000, seed: int = 0) -> dict[str, object]:
    from openlfr.errors import OpenLFRError
    from openlfr.pipeline.decision import probe_vector

    engine = build_engine(VisionSettings(threads=0), engine="sface")
    people = sorted((lfw / "images").iterdir())
    photos = {p.name: sorted(p.glob("*.jpg")) for p in people}
    multi = [p.name for p in people if len(photos[p.name]) >= 4]
    np.random.default_rng(seed).shuffle(multi)
    mated, nonmated = multi[: len(multi) // 2], multi[len(multi) // 2 :]
    singles = [p.name for p in people if len(photos[p.name]) == 1]

    def embed(path: Path) -> tuple[np.ndarray, float] | None:
        try:
            r = engine.face_from_file(path, select="central")
        except OpenLFRError:
            return None
        return r.template.vector, r.quality.score

    ids: list[str] = []
    vecs: list[np.ndarray] = []
    for name in mated + singles:
        if len(ids) >= gallery_size:
            break
        e = embed(photos[name][0])
        if e is not None:
            ids.append(name)
            vecs.append(e[0])
    wl = Watchlist(ids, np.stack(vecs), engine.contract)
    enrolled = set(ids)

    def probes(names: list[str], fuse: bool) -> tuple[np.ndarray, list[str]]:
        out, who = [], []
        for name in names:
            shots = [e for e in (embed(f) for f in photos[name][1:4]) if e is not None]
            if len(shots) >= 2:
                out.append(probe_vector([v for v, _ in shots], [q for _, q in shots], fuse))
                who.append(name)
        return np.stack(out), who

    res: dict[str, object] = {"gallery": len(wl)}
    for fuse in (False, True):
        key = "fused" if fuse else "best_shot"
        m, m_ids = probes([n for n in mated if n in enrolled], fuse)
        n, _ = probes(nonmated, fuse)
        sm, sn = wl.scores(m), wl.scores(n).max(1)
        right = np.array([wl.subject_ids.index(i) for i in m_ids]) == sm.argmax(1)
        for fpir in (0.01, 0.05):
            thr = float(np.quantile(sn, 1 - fpir))
            res[f"{key}_tpir_at_fpir_{fpir}"] = round(float(np.mean(right & (sm.max(1) > thr))), 4)
        res[f"{key}_tpir_at_0.5"] = round(float(np.mean(right & (sm.max(1) >= 0.5))), 4)
        res[f"{key}_fpir_at_0.5"] = round(float(np.mean(sn >= 0.5)), 4)
        res["mated_probes"], res["nonmated_probes"] = len(m_ids), len(n)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--baseline-frames", type=int, default=8)
    ap.add_argument("--same-engine-frames", type=int, default=25)
    ap.add_argument("--stride", type=int, default=PipelineConfig().detect_stride)
    ap.add_argument("--max-side", type=int, default=PipelineConfig().detect_max_side)
    ap.add_argument("--threads", type=int, default=1, help="embedder threads for the pipeline")
    ap.add_argument("--skip-baseline-people", action="store_true", help="skip the ~1 min HOG pass")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--fusion-study", action="store_true", help="LFW study of shot fusion instead")
    ap.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "data" / "lfw")
    a = ap.parse_args(argv)
    if a.fusion_study:
        r = fusion_study(a.lfw)
        print(
            json.dumps(r, sort_keys=True)
            if a.json
            else "\n".join(f"{k}: {v}" for k, v in r.items())
        )
        return 0
    if not a.video.is_file():
        print(f"video not found: {a.video}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]

    engine = build_engine(VisionSettings(threads=a.threads), engine="sface")
    rng = np.random.default_rng(0)
    wl = Watchlist(
        [f"s{i}" for i in range(100)],
        l2_normalise(rng.standard_normal((100, engine.contract.dim)).astype(np.float32)),
        engine.contract,
    )
    engine.embed_chips([np.zeros((112, 112, 3), np.uint8)])  # warm-up outside the timing
    cfg = PipelineConfig(detect_stride=a.stride, detect_max_side=a.max_side)
    s = Pipeline(engine, wl, MemoryAlertSink(), cfg).run(PyAVSource(str(a.video)))
    c = s.counters
    pipeline_fps = c.frames_processed / c.wall_s
    video_fps = c.frames_processed / c.media_s

    full = build_engine(VisionSettings(threads=0), engine="sface")
    full.embed_chips([np.zeros((112, 112, 3), np.uint8)])
    same_fps, same_n, same_faces = every_frame_loop(full, a.video, a.same_engine_frames)

    dlib_engine = build_engine(engine="dlib")
    base_fps, base_n, base_faces = every_frame_loop(dlib_engine, a.video, a.baseline_frames)
    base_people = -1 if a.skip_baseline_people else people_seen(dlib_engine, a.video, video_fps)

    out = {
        "video": a.video.name,
        "frames": c.frames,
        "media_s": round(c.media_s, 3),
        "pipeline_fps": round(pipeline_fps, 2),
        "pipeline_wall_s": round(c.wall_s, 3),
        "realtime_factor": round(c.media_s / c.wall_s, 3),
        "pipeline_tracks": c.tracks_confirmed,
        "pipeline_tracks_all": c.tracks,
        "pipeline_embeddings": c.embeddings,
        "embeddings_per_track": round(c.embeddings / max(1, c.tracks), 2),
        "pipeline_faces_detected": c.faces_detected,
        "pipeline_detect_frames": c.detect_frames,
        "baseline_fps": round(base_fps, 3),
        "baseline_frames_timed": base_n,
        "baseline_faces_embedded": base_faces,
        "baseline_people": base_people,
        "same_engine_fps": round(same_fps, 3),
        "same_engine_frames_timed": same_n,
        "same_engine_faces_embedded": same_faces,
        "speedup": round(pipeline_fps / base_fps, 1),
        "speedup_same_engine": round(pipeline_fps / same_fps, 2),
        "config": {"stride": a.stride, "max_side": a.max_side, "embed_threads": a.threads},
        "cpus": os.cpu_count(),
        "loadavg_1m_before": round(load_before, 2),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }
    if a.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print(
            f"pipeline      {out['pipeline_fps']:7.2f} fps  ({out['realtime_factor']}x real time, "
            f"{c.tracks_confirmed} tracks of 5+ frames, "
            f"{out['embeddings_per_track']} embeddings/track)"
        )
        print(
            f"face_recognition-style loop {out['baseline_fps']:7.3f} fps on {base_n} frames; "
            f"{base_people} people (tracks of 5+ frames)"
        )
        print(f"same-engine every-frame loop {out['same_engine_fps']:7.3f} fps on {same_n} frames")
        print(
            f"speedup {out['speedup']}x over the baseline, {out['speedup_same_engine']}x over the "
            f"same engine; load {out['loadavg_1m_before']} -> {out['loadavg_1m_after']} "
            f"on {out['cpus']} CPUs"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
