"""LFW embeddings for the pipeline benchmark: a cached, encrypted template set per image.

Uses the evaluation's encrypted template cache (eval/cache.py) so that the fusion study and the
1,000-identity watchlist are embedded once per machine, not on every benchmark run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openlfr.eval.cache import TemplateCache, cache_namespace, default_cache_dir, embed_images
from openlfr.matching import Watchlist
from openlfr.vision.contract import l2_normalise
from openlfr.vision.engine import FaceEngine


def lfw_photos(lfw: Path) -> dict[str, list[Path]]:
    return {p.name: sorted(p.glob("*.jpg")) for p in sorted((lfw / "images").iterdir())}


def embed(engine: FaceEngine, paths: list[Path], what: str) -> dict[Path, np.ndarray]:
    cache = TemplateCache(default_cache_dir(), cache_namespace(engine, "central"))
    es = embed_images(
        engine, paths, cache=cache, select="central", progress=False, description=what
    )
    return {p: es.vectors[i] for i, p in enumerate(paths) if es.ok[i]}


def lfw_watchlist(
    engine: FaceEngine, lfw: Path, size: int = 1000, max_photos: int = 5
) -> tuple[Watchlist, float]:
    """The first `size` LFW people (by name) with a usable face, each enrolled with the mean
    template of up to `max_photos` of their photos (re-normalised). Returns the watchlist and
    the mean number of photos per entry."""
    photos = lfw_photos(lfw)
    names = list(photos)[: int(size * 1.05) + 20]
    paths = [p for n in names for p in photos[n][:max_photos]]
    vecs = embed(engine, paths, "watchlist")
    ids, rows, counts = [], [], []
    for n in names:
        v = [vecs[p] for p in photos[n][:max_photos] if p in vecs]
        if not v:
            continue
        ids.append(n)
        rows.append(l2_normalise(np.mean(np.stack(v), axis=0).astype(np.float32)))
        counts.append(len(v))
        if len(ids) >= size:
            break
    return Watchlist(ids, np.stack(rows), engine.contract), float(np.mean(counts))
