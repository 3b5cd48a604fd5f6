"""LFW verification benchmark on the official 10-fold protocol (pairs.txt).

For each test fold the decision threshold is the one that maximises accuracy on the other
folds; accuracy is measured on the held-out fold. A pair whose image yields no usable face
counts as a rejected pair (a mismatch decision), so failures to detect are never hidden.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.dicts import pick
from openlfr.errors import DatasetError, OpenLFRError
from openlfr.eval.metrics import accuracy, best_accuracy_threshold, roc, tar_at_far
from openlfr.vision.engine import FaceEngine
from openlfr.vision.imageio import load_image
from openlfr.vision.types import Image

# Published 1:1 thresholds, used only when a single fold leaves no other fold to choose one on.
VERIFICATION_THRESHOLDS = {"opencv-zoo/sface": 0.363, "dlib/resnet-v1": 0.9}


@dataclass(frozen=True, slots=True)
class Pair:
    a: str  # "Name/Name_0001.jpg"
    b: str
    same: bool


def _image(name: str, idx: str) -> str:
    return f"{name}/{name}_{int(idx):04d}.jpg"


def read_pairs(path: Path) -> list[list[Pair]]:
    """Parse pairs.txt: a header "FOLDS N", then per fold N matched and N mismatched lines."""
    try:
        lines = path.read_text().split("\n")
        folds_n, per = (int(x) for x in lines[0].split())
    except (OSError, ValueError, IndexError) as exc:
        raise DatasetError(f"not an LFW pairs file ({exc})", source=str(path)) from exc
    body = [ln.split() for ln in lines[1:] if ln.strip()]
    if len(body) != folds_n * per * 2:
        raise DatasetError(
            f"expected {folds_n * per * 2} pair lines, found {len(body)}", source=str(path)
        )
    folds = []
    for f in range(folds_n):
        chunk = body[f * per * 2 : (f + 1) * per * 2]
        fold = []
        for parts in chunk:
            if len(parts) == 3:
                fold.append(Pair(_image(parts[0], parts[1]), _image(parts[0], parts[2]), True))
            elif len(parts) == 4:
                fold.append(Pair(_image(parts[0], parts[1]), _image(parts[2], parts[3]), False))
            else:
                raise DatasetError(f"malformed pair line {' '.join(parts)!r}", source=str(path))
        folds.append(fold)
    return folds


@dataclass
class Embedded:
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # image -> "code: message"
    seconds: float = 0.0


def embed_images(
    engine: FaceEngine,
    root: Path,
    names: list[str],
    *,
    batch: int = 64,
    progress: Callable[[int], None] | None = None,
) -> Embedded:
    """Detect, align and embed one face per image (the one nearest the centre), in batches.

    Decoding and detection run on a small thread pool (OpenCV and PIL release the GIL) while
    embedding is batched through onnxruntime.
    """
    out = Embedded()
    t0 = time.perf_counter()

    def prepare(name: str) -> tuple[str, Image | None, str | None]:
        try:
            img = load_image(root / name, limits=engine.limits, name=name)
            face = engine.choose_face(img, engine.detect(img), "central", name)
            return name, engine.aligner.align(img, face), None
        except OpenLFRError as exc:
            return name, None, f"{exc.code}: {exc}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        for chunk in _chunks(names, batch):
            ready = list(pool.map(prepare, chunk))
            chips = [c for _, c, _ in ready if c is not None]
            vecs = (
                engine.embed_chips(chips)
                if chips
                else np.zeros((0, engine.contract.dim), np.float32)
            )
            k = 0
            for name, chip, err in ready:
                if chip is None:
                    out.failures[name] = err or "unknown"
                else:
                    out.vectors[name] = vecs[k]
                    k += 1
            if progress:
                progress(len(chunk))
    out.seconds = time.perf_counter() - t0
    return out


def _chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


@dataclass
class LfwResult:
    engine: str
    contract: dict[str, Any]
    folds: int
    pairs: int
    fold_accuracies: list[float]
    accuracy: float
    accuracy_std: float
    threshold: float
    threshold_source: str
    tar_at_far_1e_3: float
    threshold_at_far_1e_3: float
    impostor_pairs: int
    images: int
    images_failed: int
    pairs_missing_face: int
    failures: dict[str, str]
    embed_seconds: float
    faces_per_second: float
    wall_seconds: float
    roc_png: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **pick(self, "engine", "contract", "folds", "pairs"),
            "fold_accuracies": [round(a, 5) for a in self.fold_accuracies],
            "accuracy": round(self.accuracy, 5),
            "accuracy_std": round(self.accuracy_std, 5),
            "threshold": round(self.threshold, 5),
            "threshold_source": self.threshold_source,
            "tar_at_far_1e-3": round(self.tar_at_far_1e_3, 5),
            "threshold_at_far_1e-3": round(self.threshold_at_far_1e_3, 5),
            **pick(
                self, "impostor_pairs", "images", "images_failed", "pairs_missing_face", "failures"
            ),
            "embed_seconds": round(self.embed_seconds, 2),
            "faces_per_second": round(self.faces_per_second, 2),
            "ms_per_image": round(1000 * self.embed_seconds / max(self.images, 1), 2),
            "wall_seconds": round(self.wall_seconds, 2),
            "roc_png": self.roc_png,
        }


def run_lfw(
    engine: FaceEngine,
    data: Path,
    *,
    folds: int = 10,
    roc_png: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LfwResult:
    """Run the protocol on the first `folds` folds. `progress(done, total)` reports images."""
    t0 = time.perf_counter()
    pairs_file = data / "pairs.txt"
    images_dir = data / "images"
    if not pairs_file.is_file() or not images_dir.is_dir():
        raise DatasetError("expected pairs.txt and images/ (the LFW folder)", source=str(data))
    all_folds = read_pairs(pairs_file)
    if not 1 <= folds <= len(all_folds):
        raise DatasetError(f"--folds must be 1..{len(all_folds)}", source=str(data))
    used = all_folds[:folds]
    names = sorted({n for fold in used for p in fold for n in (p.a, p.b)})
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(names))

    emb = embed_images(engine, images_dir, names, progress=tick)

    def fold_scores(fold: list[Pair]) -> tuple[np.ndarray, np.ndarray, int]:
        g: list[float] = []
        i: list[float] = []
        missing = 0
        for p in fold:
            va, vb = emb.vectors.get(p.a), emb.vectors.get(p.b)
            if va is None or vb is None:
                missing += 1
                s = -1.0  # no face: the system cannot accept the pair
            else:
                s = float(np.dot(va, vb))
            (g if p.same else i).append(s)
        return np.asarray(g), np.asarray(i), missing

    scored = [fold_scores(f) for f in used]
    missing = sum(m for _, _, m in scored)
    accs, ths = [], []
    source = "other folds (max accuracy)"
    for k, (g, i, _) in enumerate(scored):
        others = [s for j, s in enumerate(scored) if j != k]
        if others:
            t = best_accuracy_threshold(
                np.concatenate([o[0] for o in others]), np.concatenate([o[1] for o in others])
            )
        else:
            fixed = VERIFICATION_THRESHOLDS.get(engine.contract.model_id)
            if fixed is not None:
                t, source = fixed, "published 1:1 threshold (single fold)"
            else:
                t, source = best_accuracy_threshold(g, i), "same fold (single fold; optimistic)"
        ths.append(t)
        accs.append(accuracy(g, i, t))
    gen = np.concatenate([s[0] for s in scored])
    imp = np.concatenate([s[1] for s in scored])
    tar, t_far = tar_at_far(gen, imp, 1e-3)
    png = None
    if roc_png is not None:
        png = str(
            write_roc_png(
                gen, imp, roc_png, title=f"LFW ROC, {engine.contract.id}, {folds} fold(s)"
            )
        )
    n_ok = len(emb.vectors)
    return LfwResult(
        engine=engine.name,
        contract=engine.contract.to_dict(),
        folds=folds,
        pairs=int(len(gen) + len(imp)),
        fold_accuracies=accs,
        accuracy=float(np.mean(accs)),
        accuracy_std=float(np.std(accs)),
        threshold=float(np.mean(ths)),
        threshold_source=source,
        tar_at_far_1e_3=tar,
        threshold_at_far_1e_3=t_far,
        impostor_pairs=len(imp),
        images=len(names),
        images_failed=len(emb.failures),
        pairs_missing_face=missing,
        failures=emb.failures,
        embed_seconds=emb.seconds,
        faces_per_second=n_ok / emb.seconds if emb.seconds > 0 else 0.0,
        wall_seconds=time.perf_counter() - t0,
        roc_png=png,
    )


def write_roc_png(genuine: np.ndarray, impostor: np.ndarray, path: Path, *, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = roc(genuine, impostor)
    floor = 1.0 / max(len(impostor), 1)
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    ax.plot(np.maximum(r.far, floor / 2), r.tar, lw=1.5)
    ax.set_xscale("log")
    ax.set_xlim(floor / 2, 1.0)
    # Zoom on the part that matters: from the lowest TAR at a measurable FAR up to 1.
    measurable = r.tar[r.far >= floor]
    low = float(measurable.min()) if measurable.size else 0.0
    ax.set_ylim(max(0.0, low - 0.02), 1.002)
    ax.axvline(1e-3, color="grey", ls=":", lw=1)
    ax.set_xlabel("false accept rate (log)")
    ax.set_ylabel("true accept rate")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
