"""What a camera does to a face: seeded degradations of one photo into M shots of one pass.

The per-configuration protocol (configurations.py) fuses M *different* photos of a person,
taken at different events: an optimistic stand-in for a camera, whose shots of one walk-past
are near-identical frames of one small, blurred, compressed face. Here one photo becomes the M
shots of a pass:

- per pass (the camera and the moment): face width 40-90 px, lens defocus, light (gain and
  gamma) and the camera's JPEG quality;
- per shot (the frames of the walk-past): the face width moves by up to 10% as the person
  walks, motion blur of a random length and direction, fresh sensor noise.

Every draw is seeded by the evaluation seed and the photo's file name, so the same photo gets
the same shots on every run and whatever order the photos are processed in. The shots are
embedded by the real engine (detector, aligner, embedder): a shot in which the detector finds
no face is lost, as it would be on a camera.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from openlfr.errors import FaceError, ImageError
from openlfr.vision.contract import FloatArray
from openlfr.vision.engine import FaceEngine, Select
from openlfr.vision.types import Image

# The ranges the draws come from; stated in the report beside the figures.
FACE_PX = (40.0, 90.0)
DEFOCUS_SIGMA = (0.0, 1.2)  # Gaussian sigma, px at the face's own scale
MOTION_PX = (1, 7)  # blur length in px (1: none)
GAIN = (0.6, 1.3)
GAMMA = (0.7, 1.5)
NOISE_SD = (2.0, 8.0)  # grey levels (0-255)
JPEG_QUALITY = (35, 80)
SIZE_JITTER = 0.10


@dataclass(frozen=True, slots=True)
class Degradation:
    """One shot's degradation: what turns a press photo into a camera frame's face."""

    face_px: float
    defocus_sigma: float
    motion_px: int
    motion_angle: float  # degrees
    gain: float
    gamma: float
    noise_sd: float
    jpeg_quality: int
    noise_seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ranges() -> dict[str, Any]:
    return {
        "face_width_px": list(FACE_PX),
        "defocus_sigma_px": list(DEFOCUS_SIGMA),
        "motion_blur_px": list(MOTION_PX),
        "gain": list(GAIN),
        "gamma": list(GAMMA),
        "noise_sd_grey_levels": list(NOISE_SD),
        "jpeg_quality": list(JPEG_QUALITY),
        "face_width_jitter_between_shots": SIZE_JITTER,
    }


def pass_rng(seed: int, key: str) -> np.random.Generator:
    """A generator for one photo's pass, independent of the order photos are processed in."""
    h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return np.random.default_rng([seed, h])


def draw_pass(rng: np.random.Generator, shots: int) -> list[Degradation]:
    """The `shots` degradations of one pass: camera and light shared, frames varying."""
    if shots < 1:
        raise ValueError("a pass has at least one shot")
    base = rng.uniform(*FACE_PX)
    defocus = rng.uniform(*DEFOCUS_SIGMA)
    gain, gamma = rng.uniform(*GAIN), rng.uniform(*GAMMA)
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    out = []
    for _ in range(shots):
        px = float(np.clip(base * rng.uniform(1 - SIZE_JITTER, 1 + SIZE_JITTER), *FACE_PX))
        out.append(
            Degradation(
                face_px=px,
                defocus_sigma=float(defocus),
                motion_px=int(rng.integers(MOTION_PX[0], MOTION_PX[1] + 1)),
                motion_angle=float(rng.uniform(0.0, 180.0)),
                gain=float(gain),
                gamma=float(gamma),
                noise_sd=float(rng.uniform(*NOISE_SD)),
                jpeg_quality=quality,
                noise_seed=int(rng.integers(0, 2**31)),
            )
        )
    return out


def _motion_kernel(length: int, angle: float) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    dx, dy = np.cos(np.radians(angle)) * c, np.sin(np.radians(angle)) * c
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    return k / max(float(k.sum()), 1e-6)


def degrade(image: Image, face_width: float, d: Degradation) -> Image:
    """`image` (BGR uint8) as a camera would record it: scaled so its face is `d.face_px`
    wide, blurred (defocus, motion), lit (gain, gamma), noisy and JPEG-compressed."""
    if face_width <= 0:
        raise ValueError("face width must be positive")
    h, w = image.shape[:2]
    scale = d.face_px / face_width
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    x: np.ndarray = cv2.resize(image, size, interpolation=interp).astype(np.float32)
    if d.defocus_sigma > 0.05:
        x = cv2.GaussianBlur(x, (0, 0), d.defocus_sigma)
    if d.motion_px > 1:
        x = cv2.filter2D(x, -1, _motion_kernel(d.motion_px, d.motion_angle))
    x = 255.0 * np.clip(d.gain * x / 255.0, 0.0, 1.0) ** d.gamma
    noise = np.random.default_rng(d.noise_seed).normal(0.0, d.noise_sd, x.shape)
    frame = np.clip(x + noise, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg_quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(out)


@dataclass(frozen=True, slots=True)
class CameraPass:
    """The M degraded shots of one photo, embedded: `vectors[j]` valid where `usable[j]`."""

    key: str
    vectors: FloatArray  # (M, dim)
    usable: np.ndarray  # (M,) bool: the detector found the face in shot j
    shots: tuple[Degradation, ...]

    def fused(self, m: int) -> FloatArray | None:
        """The probe of the first `m` shots (the usable ones among them, mean re-normalised,
        as configurations.fuse_rows fuses photos); None when none of them gave a face."""
        from openlfr.eval.configurations import fuse_rows

        rows = [j for j in range(min(m, len(self.shots))) if self.usable[j]]
        if not rows:
            return None
        return fuse_rows(self.vectors, [rows])[0]


def embed_pass(
    engine: FaceEngine,
    image: Image,
    key: str,
    shots: int,
    *,
    seed: int = 0,
    select: Select = "central",
) -> CameraPass | None:
    """Degrade one photo into `shots` shots and embed each through the engine. None when the
    undegraded photo itself gives no face (it is then unusable in any protocol)."""
    try:
        face = engine.choose_face(image, engine.detect(image), select, key)
    except FaceError:
        return None
    params = draw_pass(pass_rng(seed, key), shots)
    dim = engine.contract.dim
    vecs = np.zeros((shots, dim), np.float32)
    usable = np.zeros(shots, bool)
    for j, d in enumerate(params):
        try:
            res = engine.face_from_image(degrade(image, face.width, d), select=select, source=key)
        except (FaceError, ImageError):
            continue
        vecs[j] = res.template.vector
        usable[j] = True
    return CameraPass(key, vecs, usable, tuple(params))


def embed_passes(
    engine: FaceEngine,
    images: Sequence[tuple[str, Image]],
    shots: int,
    *,
    seed: int = 0,
    select: Select = "central",
) -> list[CameraPass | None]:
    return [embed_pass(engine, im, key, shots, seed=seed, select=select) for key, im in images]
