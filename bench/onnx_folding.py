"""What the int8bq models' weight dequantisation and unfused Conv+BatchNorm cost per call.

    python bench/onnx_folding.py [--seconds 2] [--json]

For SFace (a batch of 1 and of 8 chips) and YuNet (one 960x540 frame), each on 1 and 2
onnxruntime threads, ms per call of:

- `as_shipped`: the graph as loaded before (DequantizeLinear nodes run on every call, so
  Conv+BatchNorm cannot fuse: the weight is not a constant); not runnable for YuNet, whose
  per-tensor DequantizeLinear nodes carry a `block_size` onnxruntime refuses
- `folded_bn_unfused`: weights dequantised in numpy, graph optimisation off (BatchNorm separate)
- `folded_basic`: folded + basic optimisation (Conv+BatchNorm fused, no layout transformation)
- `folded_all`: `session.disable_quant_qdq` (YuNet: and the numpy fold) + full optimisation:
  what the engine runs now

with each row's ratio to `as_shipped` (SFace) or `folded_bn_unfused` (YuNet), and the cosine
between the embeddings of `as_shipped` and `folded_all` (SFace). Record the load average beside
the numbers (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime as ort

from openlfr.vision import models
from openlfr.vision.onnx_embedder import _prune_graph
from openlfr.vision.onnx_session import fold_weight_dequantize, session_options
from openlfr.vision.yunet_ort import _dynamic_input

L = ort.GraphOptimizationLevel


def timed(fn: Callable[[], object], seconds: float) -> float:
    fn()
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return 1000 * (time.perf_counter() - t0) / n


def sess(
    model: onnx.ModelProto, threads: int, fold_qdq: bool, level: object
) -> ort.InferenceSession:
    opts = session_options(threads, fold_qdq=fold_qdq)
    opts.graph_optimization_level = level
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def variants(
    path: str, prep: Callable[[onnx.ModelProto], onnx.ModelProto], numpy_fold: bool
) -> dict[str, tuple]:
    raw = prep(onnx.load(path))
    folded = fold_weight_dequantize(prep(onnx.load(path)))
    return {
        "as_shipped": (raw, False, L.ORT_ENABLE_ALL),
        "folded_bn_unfused": (folded, False, L.ORT_DISABLE_ALL),
        "folded_basic": (folded, True, L.ORT_ENABLE_BASIC),
        "folded_all": (folded if numpy_fold else raw, True, L.ORT_ENABLE_ALL),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    load0 = os.getloadavg()[0]
    rng = np.random.default_rng(0)
    out: dict[str, object] = {}

    chips = rng.uniform(0, 255, (8, 3, 112, 112)).astype(np.float32)
    sface: dict[str, object] = {}
    embs: dict[str, np.ndarray] = {}
    for name, (m, fold, level) in variants(
        str(models.resolve("sface")), _prune_graph, False
    ).items():
        for threads in (1, 2):
            s = sess(m, threads, fold, level)
            inp = s.get_inputs()[0].name
            for bs in (1, 8):
                ms = timed(lambda s=s, inp=inp, bs=bs: s.run(None, {inp: chips[:bs]}), a.seconds)
                sface[f"{name}/t{threads}/b{bs}_ms_per_face"] = round(ms / bs, 2)
            y = s.run(None, {inp: chips})[0]
            embs[name] = y / np.linalg.norm(y, axis=1, keepdims=True)
    for k in list(sface):
        base = sface[k.replace(k.split("/")[0], "as_shipped", 1)]
        sface[k.replace("_ms_per_face", "_speedup")] = round(float(base) / float(sface[k]), 2)  # type: ignore[arg-type]
    sface["cosine_min_as_shipped_vs_folded_all"] = round(
        float(np.einsum("ij,ij->i", embs["as_shipped"], embs["folded_all"]).min()), 7
    )
    out["sface"] = sface

    frame = rng.uniform(0, 255, (1, 3, 544, 960)).astype(np.float32)
    yunet: dict[str, object] = {}
    for name, (m, fold, level) in variants(
        str(models.resolve("yunet")), _dynamic_input, True
    ).items():
        for threads in (1, 2):
            try:
                s = sess(m, threads, fold, level)
                s.run(None, {"input": frame})
            except Exception as exc:  # onnxruntime's own refusal, reported as such
                yunet[f"{name}/t{threads}"] = f"not runnable: {str(exc).splitlines()[0][:120]}"
                continue
            ms = timed(lambda s=s: s.run(None, {"input": frame}), a.seconds)
            yunet[f"{name}/t{threads}_ms_per_frame"] = round(ms, 2)
    for k in [k for k in yunet if k.endswith("_ms_per_frame")]:
        base = yunet.get(k.replace(k.split("/")[0], "folded_bn_unfused", 1))
        if isinstance(base, float):
            yunet[k.replace("_ms_per_frame", "_speedup")] = round(base / float(yunet[k]), 2)  # type: ignore[arg-type]
    out["yunet"] = yunet
    out["loadavg_1m"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    out["cpus"] = os.cpu_count()
    print(json.dumps(out, sort_keys=True, indent=None if a.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
