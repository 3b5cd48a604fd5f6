"""Score-distribution metrics shared by the verification and identification evaluations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Scores = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Roc:
    far: Scores  # false accept rate at each threshold (descending thresholds)
    tar: Scores
    thresholds: Scores


def roc(genuine: Scores, impostor: Scores) -> Roc:
    """ROC over every distinct score, highest threshold first."""
    thr = np.unique(np.concatenate([genuine, impostor]))[::-1]
    g = np.sort(genuine)
    i = np.sort(impostor)
    tar = 1.0 - np.searchsorted(g, thr, side="left") / max(len(g), 1)
    far = 1.0 - np.searchsorted(i, thr, side="left") / max(len(i), 1)
    return Roc(far=far, tar=tar, thresholds=thr)


def threshold_at_far(impostor: Scores, far: float) -> float:
    """Lowest threshold whose false accept rate (score >= t) does not exceed `far`."""
    s = np.sort(impostor)[::-1]
    k = int(np.floor(far * len(s)))  # at most k impostors may reach the threshold
    if k >= len(s):
        return float(s[-1])
    # Strictly above the (k+1)-th highest impostor score.
    return float(np.nextafter(s[k], np.inf))


def tar_at_far(genuine: Scores, impostor: Scores, far: float) -> tuple[float, float]:
    t = threshold_at_far(impostor, far)
    return float(np.mean(genuine >= t)), t


def best_accuracy_threshold(genuine: Scores, impostor: Scores) -> float:
    """Threshold maximising verification accuracy (ties: the midpoint of the best run)."""
    scores = np.concatenate([genuine, impostor])
    labels = np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))])
    order = np.argsort(-scores, kind="stable")
    s, lab = scores[order], labels[order]
    # Accepting the top j pairs: correct = accepted genuines + rejected impostors.
    tp = np.concatenate([[0], np.cumsum(lab)])
    fp = np.concatenate([[0], np.cumsum(1 - lab)])
    correct = tp + (len(impostor) - fp)
    j = int(np.argmax(correct))
    if j == 0:
        return float(s[0]) + 1e-6
    if j == len(s):
        return float(s[-1])
    return float((s[j - 1] + s[j]) / 2)


def accuracy(genuine: Scores, impostor: Scores, threshold: float) -> float:
    return float(
        (np.sum(genuine >= threshold) + np.sum(impostor < threshold))
        / (len(genuine) + len(impostor))
    )
