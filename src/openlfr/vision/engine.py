"""The face engine: detector + aligner + embedder behind one object, chosen by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from openlfr.config.settings import VisionSettings
from openlfr.errors import FaceTooSmallError, ModelError, MultipleFacesError, NoFaceError
from openlfr.vision.contract import EmbeddingContract, FloatArray, Template
from openlfr.vision.imageio import ImageLimits, load_image
from openlfr.vision.quality import FaceQuality, assess
from openlfr.vision.types import Aligner, Detection, Detector, Embedder, Image

Select = Literal["strict", "central", "largest"]


@dataclass(frozen=True, slots=True)
class FaceResult:
    detection: Detection
    quality: FaceQuality
    template: Template


class FaceEngine:
    def __init__(
        self,
        detector: Detector,
        aligner: Aligner,
        embedder: Embedder,
        *,
        min_face_px: int = 24,
        limits: ImageLimits | None = None,
        name: str = "custom",
    ) -> None:
        self.detector, self.aligner, self.embedder = detector, aligner, embedder
        self.min_face_px = min_face_px
        self.limits = limits or ImageLimits()
        self.name = name

    @property
    def contract(self) -> EmbeddingContract:
        return self.embedder.contract

    def detect(self, image: Image) -> list[Detection]:
        return self.detector.detect(image)

    def align(self, image: Image, detections: Sequence[Detection]) -> list[Image]:
        return [self.aligner.align(image, d) for d in detections]

    def embed_chips(self, chips: Sequence[Image]) -> FloatArray:
        return self.embedder.embed(chips)

    def templates(self, vectors: FloatArray) -> list[Template]:
        return [Template(v, self.contract) for v in vectors]

    def choose_face(
        self, image: Image, faces: list[Detection], select: Select, source: str | None
    ) -> Detection:
        if not faces:
            raise NoFaceError("no face found", source=source)
        if select == "strict":
            usable = [f for f in faces if f.width >= self.min_face_px]
            if len(usable) > 1:
                raise MultipleFacesError(
                    f"{len(usable)} faces found where one is expected", source=source
                )
            face = usable[0] if usable else max(faces, key=lambda f: f.width)
        elif select == "largest":
            face = max(faces, key=lambda f: f.width * f.height)
        else:
            # LFW-style: the subject is the face nearest the image centre.
            h, w = image.shape[:2]
            face = min(faces, key=lambda f: (f.centre[0] - w / 2) ** 2 + (f.centre[1] - h / 2) ** 2)
        if face.width < self.min_face_px:
            raise FaceTooSmallError(
                f"face is {face.width:.0f} px wide, below the {self.min_face_px} px minimum",
                source=source,
            )
        return face

    def face_from_image(
        self, image: Image, *, select: Select = "strict", source: str | None = None
    ) -> FaceResult:
        face = self.choose_face(image, self.detect(image), select, source)
        chip = self.aligner.align(image, face)
        vec = self.embed_chips([chip])[0]
        return FaceResult(face, assess(face, chip), Template(vec, self.contract))

    def face_from_file(
        self, path: str | Path | bytes, *, select: Select = "strict", name: str | None = None
    ) -> FaceResult:
        label = name or (str(path) if not isinstance(path, bytes) else "<bytes>")
        image = load_image(path, limits=self.limits, name=label)
        return self.face_from_image(image, select=select, source=label)

    def best_face_crop(
        self, image: Image, *, min_width: float = 60, margin: float = 0.4
    ) -> tuple[float, Image] | None:
        """The best-quality face of at least `min_width` px, cropped with `margin` (of its
        width) around it, and its quality score; None when there is none. For enrolling a
        consenting subject's photo (demo, tests), never for enrolling people from live video."""
        dets = [d for d in self.detect(image) if d.width >= min_width]
        if not dets:
            return None
        scored = [
            (assess(d, c).score, d) for d, c in zip(dets, self.align(image, dets), strict=True)
        ]
        q, d = max(scored, key=lambda sd: sd[0])
        m = margin * d.width
        h, w = image.shape[:2]
        crop = image[
            int(max(0, d.y1 - m)) : int(min(h, d.y2 + m)),
            int(max(0, d.x1 - m)) : int(min(w, d.x2 + m)),
        ]
        return q, np.ascontiguousarray(crop)


def build_engine(
    settings: VisionSettings | None = None,
    *,
    engine: str | None = None,
    max_side: int | None = None,
    fast: bool = True,
) -> FaceEngine:
    """Build the configured engine: "sface" (default), "dlib", or "onnx" (user model dir).

    `fast=False` builds the engine as it was before the throughput work (YuNet in OpenCV's
    FaceDetectorYN, SFace's weight dequantisation re-run per call): the benchmark's baseline.
    Both give the same detections and embeddings (tests/integration/vision)."""
    s = settings or VisionSettings()
    name = engine or s.engine
    limits = ImageLimits(max_pixels=s.max_image_pixels, max_bytes=s.max_image_bytes)
    if name == "sface":
        from openlfr.vision.align import ArcFaceAligner
        from openlfr.vision.onnx_embedder import sface_embedder

        return FaceEngine(
            _yunet(s, max_side, fast),
            ArcFaceAligner(112),
            sface_embedder(threads=s.threads, fold_qdq=fast),
            min_face_px=s.min_face_px,
            limits=limits,
            name="sface",
        )
    if name == "dlib":
        from openlfr.vision.dlib_backend import DlibAligner, DlibHogDetector, DlibResNetEmbedder

        aligner = DlibAligner()
        return FaceEngine(
            DlibHogDetector(upsample=1, aligner=aligner),
            aligner,
            DlibResNetEmbedder(),
            min_face_px=s.min_face_px,
            limits=limits,
            name="dlib",
        )
    if name == "onnx":
        from openlfr.vision.align import ArcFaceAligner
        from openlfr.vision.onnx_embedder import embedder_from_model_dir

        if s.model_dir is None:
            raise ModelError(
                "engine 'onnx' needs OPENLFR_VISION__MODEL_DIR (a folder with manifest.json)"
            )
        emb = embedder_from_model_dir(s.model_dir, threads=s.threads)
        return FaceEngine(
            _yunet(s, max_side, fast),
            ArcFaceAligner(emb.spec.input_size),
            emb,
            min_face_px=s.min_face_px,
            limits=limits,
            name="onnx",
        )
    raise ModelError(f"unknown engine {name!r} (choose sface, dlib or onnx)")


def _yunet(s: VisionSettings, max_side: int | None, fast: bool) -> Detector:
    if fast:
        from openlfr.vision.yunet_ort import YuNetOrtDetector

        # One thread: on the 2-core target the other core decodes video, and onnxruntime's
        # spinning worker threads lose badly on a busy machine (bench/detectors.py).
        return YuNetOrtDetector(score_threshold=s.detector_score, max_side=max_side, threads=1)
    from openlfr.vision.yunet import YuNetDetector

    return YuNetDetector(score_threshold=s.detector_score, max_side=max_side)


def cosine_scores(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise cosine similarity of two equally long stacks of unit vectors."""
    return np.einsum("ij,ij->i", a, b).astype(np.float32)


# Operating thresholds (cosine similarity) used when nothing else is configured. They are
# 1:N thresholds, stricter than 1:1 verification ones, chosen from `openlfr eval
# identification` on LFW (README, "Measured"): a deployment's own threshold comes from its
# model approval report and authorisation, never from here.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "opencv-zoo/sface": 0.5,
    "dlib/resnet-v1": 0.85,
}


def default_threshold(contract: EmbeddingContract) -> float:
    try:
        return DEFAULT_THRESHOLDS[contract.model_id]
    except KeyError:
        raise ModelError(f"no default threshold for model {contract.model_id}; pass one") from None
