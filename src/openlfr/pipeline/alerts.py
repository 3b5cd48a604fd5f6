"""Alerts: the only thing that crosses the privacy boundary, and the sinks that receive them.

An Alert carries the matched face only: a probe crop and a scene snapshot in which every other
face is pixelated. Sinks implement `AlertSink.emit(alert)`; governance plugs its own (record,
encrypt, audit), the CLI uses `JsonlAlertSink`, tests `MemoryAlertSink`.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import cv2
import numpy as np

from openlfr.dicts import pick
from openlfr.vision.imageio import downscale, encode_jpeg
from openlfr.vision.types import Detection, Image


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    camera_id: str
    subject_id: str
    track_id: int
    score: float
    threshold: float
    contract: dict[str, Any]
    frame_index: int
    frame_time: float  # epoch seconds the frame was captured
    media_s: float
    raised_at: float  # epoch seconds the alert was raised
    box: tuple[float, float, float, float]
    quality: dict[str, float]
    n_shots: int
    probe_crop_jpeg: bytes = field(repr=False)
    scene_jpeg: bytes = field(repr=False)
    # The face's box and five landmarks in the crop's own pixels: whoever re-embeds the crop
    # (the centre re-checks an edge alert's score) aligns it exactly as the pipeline did,
    # rather than re-detecting a face in a small crop.
    probe_face: dict[str, list[Any]] | None = None
    # The aligned chips (lossless PNG) the alerting probe was fused from: a remote centre
    # re-embeds them to reproduce the score exactly (services/alert_claims.py), where one crop
    # alone scores lower than the fused probe (by 0.03 at the median on the walkers clip, more
    # than 0.05 a third of the time). Sent sealed with the alert, checked, never stored.
    shot_chips: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def latency_ms(self) -> float:
        return (self.raised_at - self.frame_time) * 1000.0

    def metadata(self) -> dict[str, Any]:
        """Everything but the images, JSON-ready."""
        return {
            **pick(self, "alert_id", "camera_id", "subject_id", "track_id"),
            "score": round(self.score, 5),
            **pick(self, "threshold", "contract", "frame_index"),
            "frame_time": _iso(self.frame_time),
            "media_s": round(self.media_s, 3),
            "raised_at": _iso(self.raised_at),
            "latency_ms": round(self.latency_ms, 1),
            "box": [round(v, 1) for v in self.box],
            "quality": self.quality,
            "n_shots": self.n_shots,
        }


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds")


@runtime_checkable
class AlertSink(Protocol):
    def emit(self, alert: Alert) -> None: ...


class MemoryAlertSink:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def emit(self, alert: Alert) -> None:
        self.alerts.append(alert)


class JsonlAlertSink:
    """One JSON line per alert; crops as files beside it (`files`) or inline base64 (`base64`)."""

    def __init__(self, path: str | Path, *, images: Literal["files", "base64"] = "files") -> None:
        self.path = Path(path)
        self.images = images
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.crops_dir = self.path.with_name(self.path.stem + "_crops")
        self._lock = threading.Lock()
        self.count = 0

    def emit(self, alert: Alert) -> None:
        rec = alert.metadata()
        if self.images == "base64":
            rec["probe_crop_jpeg_b64"] = base64.b64encode(alert.probe_crop_jpeg).decode()
            rec["scene_jpeg_b64"] = base64.b64encode(alert.scene_jpeg).decode()
        else:
            self.crops_dir.mkdir(exist_ok=True)
            probe = self.crops_dir / f"{alert.alert_id}_probe.jpg"
            scene = self.crops_dir / f"{alert.alert_id}_scene.jpg"
            probe.write_bytes(alert.probe_crop_jpeg)
            scene.write_bytes(alert.scene_jpeg)
            rec["probe_crop"] = str(probe)
            rec["scene"] = str(scene)
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
            self.count += 1


def face_crop(image: Image, det: Detection, margin: float = 0.25) -> Image:
    h, w = image.shape[:2]
    mx, my = det.width * margin, det.height * margin
    x1, y1 = max(0, int(det.x1 - mx)), max(0, int(det.y1 - my))
    x2, y2 = min(w, int(det.x2 + mx)), min(h, int(det.y2 + my))
    return np.ascontiguousarray(image[y1:y2, x1:x2])


def face_in_crop(det: Detection, margin: float = 0.25) -> dict[str, list[Any]]:
    """`det`'s box and landmarks in the pixels of `face_crop(image, det, margin)`."""
    ox = max(0, int(det.x1 - det.width * margin))
    oy = max(0, int(det.y1 - det.height * margin))
    return {
        "box": [det.x1 - ox, det.y1 - oy, det.x2 - ox, det.y2 - oy],
        "landmarks": [[float(x) - ox, float(y) - oy] for x, y in det.landmarks],
    }


def pixelate_faces(
    image: Image,
    faces: list[Detection],
    keep: Detection | None = None,
    *,
    blocks: int = 6,
    margin: float = 0.2,
) -> Image:
    """A copy of `image` with every face but `keep` pixelated beyond recognition.

    Each face (plus a margin for hair and ears) is shrunk to `blocks` cells across and blown
    back up; the kept face's own box is restored afterwards, so a neighbour's margin cannot
    blur the face the operator has to adjudicate.
    """
    out = image.copy()
    h, w = out.shape[:2]
    for d in faces:
        if keep is not None and d is keep:
            continue
        mx, my = d.width * margin, d.height * margin
        x1, y1 = max(0, int(d.x1 - mx)), max(0, int(d.y1 - my))
        x2, y2 = min(w, int(np.ceil(d.x2 + mx))), min(h, int(np.ceil(d.y2 + my)))
        if x2 <= x1 or y2 <= y1:
            continue
        roi = out[y1:y2, x1:x2]
        bw = max(1, min(blocks, roi.shape[1]))
        bh = max(1, min(blocks, roi.shape[0]))
        small = cv2.resize(roi, (bw, bh), interpolation=cv2.INTER_AREA)
        out[y1:y2, x1:x2] = cv2.resize(
            small, (roi.shape[1], roi.shape[0]), interpolation=cv2.INTER_NEAREST
        )
    if keep is not None:
        x1, y1 = max(0, int(keep.x1)), max(0, int(keep.y1))
        x2, y2 = min(w, int(np.ceil(keep.x2))), min(h, int(np.ceil(keep.y2)))
        out[y1:y2, x1:x2] = image[y1:y2, x1:x2]
    return out


def encode_snapshot(image: Image, max_side: int = 1280, quality: int = 85) -> bytes:
    return encode_jpeg(downscale(image, max_side)[0], quality)


class _Finds(Protocol):
    def detect(self, image: Image) -> list[Detection]: ...


def scene_snapshot(
    image: Image,
    faces: list[Detection],
    keep: Detection,
    detector: _Finds,
    *,
    max_side: int = 1280,
    quality: int = 85,
) -> bytes:
    """The alert's scene JPEG, `max_side` pixels at most, every face but `keep` pixelated.

    The faces to pixelate are `faces` (the frame's detections) plus whatever `detector` finds
    in the full-resolution frame; the picture is downscaled to the size it is sent at before it
    is pixelated (the same blocks per face, a smaller copy). Searching the downscaled picture
    instead would halve the detector's time per alert at 1080p (26 ms against 57) but, on the
    walkers clip at score 0.3, missed 41 of 284 boxes the full-resolution search found, among
    them a 20-px face reflected in a window: over-pixelating is the safe error, so it stays.
    """
    others = [d for d in detector.detect(image) if not same_head(d, keep)]
    small, s = downscale(image, max_side)
    if s == 1.0:
        return encode_jpeg(pixelate_faces(image, [*faces, *others], keep=keep), quality)
    k = keep.scaled(s)
    scaled = [k if d is keep else d.scaled(s) for d in [*faces, *others]]
    return encode_jpeg(pixelate_faces(small, scaled, keep=k), quality)


def same_head(d: Detection, keep: Detection) -> bool:
    """`d` is the kept face again, or a spurious box on its hair or chin, not a neighbour."""
    cx, cy = d.centre
    mx, my = 0.5 * keep.width, 0.5 * keep.height
    near = keep.x1 - mx <= cx <= keep.x2 + mx and keep.y1 - my <= cy <= keep.y2 + my
    return _overlap(d, keep) >= 0.3 or (near and d.width <= 1.5 * keep.width)


def _overlap(a: Detection, b: Detection) -> float:
    """Intersection over the smaller box: 1.0 when one box lies inside the other."""
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    smaller = min(a.width * a.height, b.width * b.height)
    return ix * iy / smaller if smaller > 0 else 0.0
