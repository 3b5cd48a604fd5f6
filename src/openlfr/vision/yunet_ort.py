"""YuNet run by onnxruntime, with the same decoding as OpenCV's FaceDetectorYN.

Measured on the walkers video at 960x540 (bench/detectors.py): the same network (the int8bq
file's weights dequantised at load) runs in about half of FaceDetectorYN's time on one thread, and
finds the same faces. The decoding follows OpenCV's `face_detect.cpp`: the input is the BGR frame
padded right/bottom to a multiple of 32, unscaled; per stride s in (8, 16, 32) and anchor (r, c),
score = sqrt(clip(cls) * clip(obj)), centre = ((c, r) + d) * s, size = exp(d) * s, landmarks
= ((c, r) + d) * s; then NMS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx

from openlfr.vision.onnx_session import fold_weight_dequantize, session
from openlfr.vision.types import Image
from openlfr.vision.yunet import YuNetBase

STRIDES = (8, 16, 32)


def _dynamic_input(model: onnx.ModelProto) -> onnx.ModelProto:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "H", "W"
    for out in model.graph.output:
        for d in out.type.tensor_type.shape.dim:
            d.dim_param = "?"
    return model


class YuNetOrtDetector(YuNetBase):
    """Drop-in for `YuNetDetector` (same scores, boxes and landmark order), on onnxruntime."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        top_k: int = 5000,
        threads: int = 1,
        fold_qdq: bool = True,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        max_side: int | None = None,
    ) -> None:
        super().__init__(
            model_path,
            score_threshold=score_threshold,
            nms_threshold=nms_threshold,
            max_side=max_side,
        )
        self.top_k = top_k
        model = _dynamic_input(onnx.load(str(self.model_path)))
        self.session: Any = session(fold_weight_dequantize(model), threads, fold_qdq=fold_qdq)
        self._input = self.session.get_inputs()[0].name
        self._names = [o.name for o in self.session.get_outputs()]

    def _blob(self, image: Image) -> np.ndarray:
        h, w = image.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        pad: np.ndarray | None = getattr(self._local, "pad", None)
        if pad is None or getattr(self._local, "hw", None) != (h, w):
            pad = self._local.pad = np.zeros((1, 3, ph, pw), np.float32)
            self._local.hw = (h, w)
        # Only the image area is written: the padding stays zero from allocation.
        pad[0, :, :h, :w] = image.transpose(2, 0, 1)
        return pad

    def _decode(self, outs: dict[str, np.ndarray], ph: int, pw: int) -> np.ndarray:
        rows = []
        for s in STRIDES:
            cols = pw // s
            cls = np.clip(outs[f"cls_{s}"].reshape(-1), 0.0, 1.0)
            obj = np.clip(outs[f"obj_{s}"].reshape(-1), 0.0, 1.0)
            score = np.sqrt(cls * obj)
            keep = np.nonzero(score >= self.score_threshold)[0]
            if not keep.size:
                continue
            r, c = (keep // cols).astype(np.float32), (keep % cols).astype(np.float32)
            bb = outs[f"bbox_{s}"].reshape(-1, 4)[keep]
            kp = outs[f"kps_{s}"].reshape(-1, 10)[keep]
            cx, cy = (c + bb[:, 0]) * s, (r + bb[:, 1]) * s
            bw, bh = np.exp(bb[:, 2]) * s, np.exp(bb[:, 3]) * s
            lm = np.empty((keep.size, 10), np.float32)
            lm[:, 0::2] = (kp[:, 0::2] + c[:, None]) * s
            lm[:, 1::2] = (kp[:, 1::2] + r[:, None]) * s
            rows.append(
                np.column_stack([cx - bw / 2, cy - bh / 2, bw, bh, lm, score[keep]]).astype(
                    np.float32
                )
            )
        if not rows:
            return np.zeros((0, 15), np.float32)
        faces = np.concatenate(rows)
        if len(faces) > 1:
            idx = cv2.dnn.NMSBoxes(
                faces[:, :4].astype(np.int32).tolist(),
                faces[:, 14].tolist(),
                self.score_threshold,
                self.nms_threshold,
                top_k=self.top_k,
            )
            faces = faces[np.asarray(idx, dtype=np.int64).reshape(-1)]
        return faces

    def raw(self, image: Image) -> np.ndarray:
        blob = self._blob(image)
        outs = self.session.run(self._names, {self._input: blob})
        ph, pw = blob.shape[2:]
        return self._decode(dict(zip(self._names, outs, strict=True)), ph, pw)
