"""How many shots per track, fused how? An LFW study for the pipeline's track evidence.

LFW people with 6+ images are split in two: one half is enrolled from its first image (with
single-image people filling the watchlist to 1,000 ids), the other half never is, joined by the
people with exactly 5 images. A K-shot "track" of a mated person is its images 2..K+1, of a
non-mated person its images 1..K. Each rule turns the K shots into one decision score:

- template_mean: the re-normalised mean of the K unit templates, searched once (the pipeline's)
- score_max: the best top-1 score of any single shot
- score_mean: each subject's mean score over the shots, then top-1

TPIR counts a mated track as found when its top-1 subject is right and the score reaches the
threshold; FPIR counts non-mated tracks reaching it. LFW photos vary more than the frames of one
track (the issue says so too): the gains are upper bounds for video, the ranking of rules is what
carries over.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lfw_sets import embed, lfw_photos  # type: ignore[import-not-found]
from openlfr.matching import Watchlist
from openlfr.vision.contract import l2_normalise
from openlfr.vision.engine import FaceEngine

RULES = ("template_mean", "score_max", "score_mean")


def _scores(wl: Watchlist, tracks: list[np.ndarray], rule: str) -> tuple[np.ndarray, np.ndarray]:
    """(top-1 index, top-1 score) per track."""
    idx, top = np.zeros(len(tracks), int), np.zeros(len(tracks))
    for i, shots in enumerate(tracks):
        if rule == "template_mean":
            s = wl.scores(l2_normalise(shots.mean(0, keepdims=True).astype(np.float32)))[0]
        elif rule == "score_max":
            s = wl.scores(shots).max(0)
        else:
            s = wl.scores(shots).mean(0)
        idx[i], top[i] = int(np.argmax(s)), float(np.max(s))
    return idx, top


def fusion_study(
    engine: FaceEngine,
    lfw: Path,
    *,
    gallery_size: int = 1000,
    ks: tuple[int, ...] = (1, 2, 3, 4, 5),
    thresholds: tuple[float, ...] = (0.5, 0.71),
    seed: int = 0,
) -> dict[str, object]:
    photos = lfw_photos(lfw)
    six = [n for n, p in photos.items() if len(p) >= 6]
    np.random.default_rng(seed).shuffle(six)
    mated_names = six[: len(six) // 2]
    nonmated_names = six[len(six) // 2 :] + [n for n, p in photos.items() if len(p) == 5]
    singles = [n for n, p in photos.items() if len(p) == 1]
    fill = singles[: gallery_size - len(mated_names) + 50]
    paths = [p for n in mated_names for p in photos[n][:6]]
    paths += [p for n in nonmated_names for p in photos[n][:5]]
    paths += [photos[n][0] for n in fill]
    vecs = embed(engine, paths, "fusion study")

    ids, rows = [], []
    for n in mated_names + fill:
        if len(ids) < gallery_size and photos[n][0] in vecs:
            ids.append(n)
            rows.append(vecs[photos[n][0]])
    wl = Watchlist(ids, np.stack(rows), engine.contract)
    pos = {n: wl.subject_ids.index(n) for n in ids}

    def tracks(names: list[str], first: int, k: int) -> tuple[list[np.ndarray], list[str]]:
        out, who = [], []
        for n in names:
            shots = [vecs[p] for p in photos[n][first : first + k] if p in vecs]
            if len(shots) == k:
                out.append(np.stack(shots))
                who.append(n)
        return out, who

    res: dict[str, object] = {"gallery": len(wl), "ks": list(ks), "rules": list(RULES)}
    table = []
    for k in ks:
        m, m_who = tracks([n for n in mated_names if n in pos], 1, k)
        nm, _ = tracks(nonmated_names, 0, k)
        truth = np.array([pos[n] for n in m_who])
        for rule in RULES if k > 1 else RULES[:1]:
            mi, ms = _scores(wl, m, rule)
            _, ns = _scores(wl, nm, rule)
            row: dict[str, object] = {
                "k": k,
                "rule": rule if k > 1 else "single_shot",
                "mated": len(m),
                "nonmated": len(nm),
            }
            for t in thresholds:
                row[f"tpir_at_{t}"] = round(float(np.mean((mi == truth) & (ms >= t))), 4)
                row[f"fpir_at_{t}"] = round(float(np.mean(ns >= t)), 4)
            thr = float(np.quantile(ns, 0.99))
            row["tpir_at_fpir_0.01"] = round(float(np.mean((mi == truth) & (ms > thr))), 4)
            row["nonmated_max"] = round(float(ns.max()), 4)
            table.append(row)
    res["table"] = table
    return res
