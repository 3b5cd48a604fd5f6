"""Compare face detectors on ../shared/data/video/walkers_1080p.mp4: faces found, recall, speed.

The video has no ground truth, so recall is measured against a consensus: a face counts as real
when at least two of the detectors (each at its most generous setting) find it (IoU >= 0.4).
Every detector's time per frame is printed with its ratio to the dlib HOG baseline measured in
the same run. `-ort` rows run the same network on onnxruntime (vision/yunet_ort.py; `-2t`: two
threads) instead of OpenCV's FaceDetectorYN.

    python bench/detectors.py [--video PATH] [--step 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from openlfr.vision import models
from openlfr.vision.types import Detection
from openlfr.vision.yunet import YuNetDetector
from openlfr.vision.yunet_ort import YuNetOrtDetector

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def iou(a: Detection, b: Detection) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def detectors(include_dlib: bool) -> dict[str, Callable[[np.ndarray], list[Detection]]]:
    int8 = models.resolve("yunet")
    fp32_n = SHARED / "models" / "yunet" / "yunet_n_dynamic.onnx"
    fp32_s = SHARED / "models" / "yunet" / "yunet_s_640_640.onnx"
    out: dict[str, Callable[[np.ndarray], list[Detection]]] = {}
    for side in (1920, 960, 640):
        out[f"yunet-int8bq@{side}"] = YuNetDetector(int8, max_side=side).detect
    # The same networks on onnxruntime (weights dequantised at load), what the engine now uses.
    out["yunet-int8bq-ort@960"] = YuNetOrtDetector(int8, max_side=960, threads=1).detect
    out["yunet-int8bq-ort-2t@960"] = YuNetOrtDetector(int8, max_side=960, threads=2).detect
    out["yunet-int8bq-ort@640"] = YuNetOrtDetector(int8, max_side=640, threads=1).detect
    if fp32_n.exists():
        out["yunet-n-fp32@960"] = YuNetDetector(fp32_n, max_side=960).detect
    if fp32_s.exists():
        out["yunet-s-fp32@960"] = YuNetDetector(fp32_s, max_side=960).detect
        out["yunet-s-fp32-ort@960"] = YuNetOrtDetector(fp32_s, max_side=960, threads=1).detect
    if include_dlib:
        from openlfr.vision.dlib_backend import DlibHogDetector

        hog = DlibHogDetector(upsample=1)
        out["dlib-hog-up1@1920"] = hog.detect

        def hog960(img: np.ndarray) -> list[Detection]:
            return [d.scaled(2.0) for d in hog.detect(cv2.resize(img, (960, 540)))]

        out["dlib-hog-up1@960"] = hog960
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--video", type=Path, default=SHARED / "data" / "video" / "walkers_1080p.mp4")
    ap.add_argument("--step", type=int, default=5, help="use every N-th frame")
    ap.add_argument("--no-dlib", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    cap = cv2.VideoCapture(str(args.video))
    frames = []
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % args.step == 0:
            frames.append(frame)
        i += 1
    cap.release()
    if not frames:
        raise SystemExit(f"no frames read from {args.video}")

    dets = detectors(not args.no_dlib)
    found: dict[str, list[list[Detection]]] = {}
    secs: dict[str, float] = {}
    for name, fn in dets.items():
        fn(frames[0])  # warm-up
        t0 = time.perf_counter()
        found[name] = [fn(f) for f in frames]
        secs[name] = (time.perf_counter() - t0) / len(frames)

    # Consensus "ground truth": clusters of detections from >= 2 detectors.
    # One vote per network: sizes, thread counts and runtimes of one model are one family.
    families = {
        n: "yunet-int8bq" if n.startswith("yunet-int8") else n.split("@")[0].removesuffix("-ort")
        for n in dets
    }
    truth: list[list[Detection]] = []
    for k in range(len(frames)):
        clusters: list[tuple[Detection, set[str]]] = []
        for name in dets:
            for d in found[name][k]:
                for c in clusters:
                    if iou(c[0], d) >= 0.4:
                        c[1].add(families[name])
                        break
                else:
                    clusters.append((d, {families[name]}))
        truth.append([c[0] for c in clusters if len(c[1]) >= 2])

    n_truth = sum(len(t) for t in truth)
    base = secs.get("dlib-hog-up1@1920")
    rows = []
    for name in dets:
        hit = sum(
            1
            for k, t in enumerate(truth)
            for g in t
            if any(iou(g, d) >= 0.4 for d in found[name][k])
        )
        rows.append(
            {
                "detector": name,
                "faces_per_frame": round(sum(len(f) for f in found[name]) / len(frames), 2),
                "recall": round(hit / n_truth, 3) if n_truth else None,
                "ms_per_frame": round(1000 * secs[name], 1),
                "speed_vs_dlib_hog": round(base / secs[name], 1) if base else None,
            }
        )
    result = {"frames": len(frames), "consensus_faces": n_truth, "detectors": rows}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{len(frames)} frames, {n_truth} consensus faces")
    print(f"{'detector':22} {'faces/frame':>11} {'recall':>7} {'ms/frame':>9} {'x dlib':>7}")
    for r in rows:
        print(
            f"{r['detector']:22} {r['faces_per_frame']:>11} {r['recall']!s:>7} "
            f"{r['ms_per_frame']:>9} {r['speed_vs_dlib_hog']!s:>7}"
        )


if __name__ == "__main__":
    main()
