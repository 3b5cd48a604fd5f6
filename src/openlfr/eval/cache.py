"""Encrypted template cache for evaluation runs, and batch embedding of a dataset.

Evaluations re-use the same research images many times (several watchlist sizes, demographics,
re-runs after a change to the report), so each image is embedded once. Entries are keyed by the
embedding contract, the detector and face-selection rule, and the image file's content hash: a
changed file or a different model can never be served a stale template. They are templates of
research-dataset images, not of passers-by, but they are biometric data all the same, so they are
encrypted with AES-GCM under a key kept beside the cache (created 0600 on first use).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openlfr.errors import DatasetError, FaceError, ImageError
from openlfr.vision.contract import FloatArray
from openlfr.vision.engine import FaceEngine, Select

log = logging.getLogger(__name__)

KEY_FILE = "templates.key"
_FORMAT = 1


def default_cache_dir() -> Path:
    from openlfr.config import get_settings

    return get_settings().data_dir / "cache"


def _load_or_create_key(directory: Path) -> bytes:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise DatasetError(
                f"cache key file is readable by others (mode {mode:o}); chmod 600 it",
                source=str(path),
            ) from None
        key = path.read_bytes()
        if len(key) != 32:
            raise DatasetError("cache key file is not a 256-bit key", source=str(path)) from None
        return key
    key = AESGCM.generate_key(bit_length=256)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True, slots=True)
class CacheEntry:
    vector: FloatArray | None  # None when the image gave no usable face
    error_code: str = ""
    error_message: str = ""


class TemplateCache:
    """One file per image under DIR/<namespace>/, each AES-GCM sealed with its key as AAD."""

    def __init__(self, directory: Path, namespace: str) -> None:
        self.directory = Path(directory)
        self._aead = AESGCM(_load_or_create_key(self.directory))
        self.namespace = namespace
        self._ns_dir = self.directory / hashlib.sha256(namespace.encode()).hexdigest()[:16]
        self.hits = 0
        self.misses = 0

    def _path(self, content_hash: str) -> Path:
        return self._ns_dir / content_hash[:2] / f"{content_hash}.bin"

    def _aad(self, content_hash: str) -> bytes:
        # Binding the namespace and content hash stops an entry being replayed under another key.
        return f"{self.namespace}|{content_hash}".encode()

    def get(self, content_hash: str) -> CacheEntry | None:
        path = self._path(content_hash)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        try:
            plain = self._aead.decrypt(blob[:12], blob[12:], self._aad(content_hash))
            head_len = int.from_bytes(plain[:4], "big")
            head = json.loads(plain[4 : 4 + head_len])
            body = plain[4 + head_len :]
        except (InvalidTag, ValueError):
            # A corrupt or foreign entry is recomputed, never trusted.
            log.warning("discarding unreadable cache entry %s", path.name)
            self.misses += 1
            return None
        self.hits += 1
        if head.get("error"):
            return CacheEntry(None, head["error"], head.get("message", ""))
        return CacheEntry(np.frombuffer(body, dtype=np.float32).copy())

    def put(self, content_hash: str, entry: CacheEntry) -> None:
        head: dict[str, object] = {"v": _FORMAT}
        body = b""
        if entry.vector is None:
            head.update(error=entry.error_code, message=entry.error_message)
        else:
            body = np.ascontiguousarray(entry.vector, dtype=np.float32).tobytes()
        hb = json.dumps(head).encode()
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(
            nonce, len(hb).to_bytes(4, "big") + hb + body, self._aad(content_hash)
        )
        path = self._path(content_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own per writer: two evaluations filling one cache at once must not
        # rename each other's half-written file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(nonce + sealed)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def cache_namespace(engine: FaceEngine, select: Select) -> str:
    det = engine.detector
    det_id = f"{det.name}:{getattr(det, 'score_threshold', '')}:{getattr(det, 'max_side', '')}"
    return f"{engine.contract.id}|{det_id}|min{engine.min_face_px}|{select}"


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class EmbeddedSet:
    """Templates of a list of images: `vectors[i]` is valid where `ok[i]`."""

    vectors: FloatArray
    ok: np.ndarray
    failures: tuple[Failure, ...] = field(default=())
    cache_hits: int = 0

    def failure_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.failures:
            counts[f.code] = counts.get(f.code, 0) + 1
        return counts


def embed_images(
    engine: FaceEngine,
    paths: Sequence[Path],
    *,
    cache: TemplateCache | None = None,
    select: Select = "central",
    progress: bool = True,
    description: str = "embedding",
) -> EmbeddedSet:
    """Embed one face per image. Unreadable images and images without a usable face are
    recorded as failures with their typed error code and skipped, never fatal."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    dim = engine.contract.dim
    vectors = np.zeros((len(paths), dim), np.float32)
    ok = np.zeros(len(paths), bool)
    failures: list[Failure] = []
    hits = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not progress,
        transient=False,
        console=Console(stderr=True),  # stdout stays clean for --json
    ) as bar:
        task = bar.add_task(description, total=len(paths))
        for i, path in enumerate(paths):
            label = str(path)
            entry: CacheEntry | None = None
            digest = ""
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                failures.append(
                    Failure(label, "image_decode_error", f"cannot read file ({exc.strerror})")
                )
                bar.advance(task)
                continue
            if cache is not None:
                digest = hashlib.sha256(data).hexdigest()
                entry = cache.get(digest)
                if entry is not None:
                    hits += 1
            if entry is None:
                try:
                    res = engine.face_from_file(data, select=select, name=label)
                    entry = CacheEntry(res.template.vector.astype(np.float32))
                except (ImageError, FaceError) as exc:
                    entry = CacheEntry(None, exc.code, str(exc))
                if cache is not None:
                    cache.put(digest, entry)
            if entry.vector is None:
                # The cached message names the file it was first seen as; re-label it.
                failures.append(
                    Failure(label, entry.error_code, entry.error_message.split(": ", 1)[-1])
                )
            elif entry.vector.shape != (dim,):
                failures.append(
                    Failure(label, "contract_mismatch", "cached template has the wrong size")
                )
            else:
                vectors[i] = entry.vector
                ok[i] = True
            bar.advance(task)
    return EmbeddedSet(vectors, ok, tuple(failures), hits)
