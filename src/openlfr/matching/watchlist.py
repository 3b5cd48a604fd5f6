"""A watchlist: subject ids, a matrix of unit templates, and the contract they were made under.

Search is exact: one BLAS matrix product of the probes against every enrolled template, then the
best template per subject. At live-deployment sizes (hundreds to a few tens of thousands of
templates of 128 floats) this costs well under a millisecond per probe, so no approximate index
is used; its recall would be one more thing to prove.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from openlfr.errors import DatasetError, OpenLFRError
from openlfr.vision.contract import EmbeddingContract, FloatArray, Template, l2_normalise
from openlfr.vision.imageio import is_image_file

if TYPE_CHECKING:
    from openlfr.vision.engine import FaceEngine

log = logging.getLogger(__name__)

# How an entry's several photos become the rows searched: one mean template, every photo as a
# candidate (the subject's best row counts: "max", best-of), or both. Same names and meaning as
# the evaluation's rules (eval.configurations), which measures which is better and records its
# choice in the model approval.
TemplateRule = Literal["mean", "max", "both"]
TEMPLATE_RULES: tuple[TemplateRule, ...] = ("mean", "max", "both")


def combine_templates(vectors: FloatArray, rule: TemplateRule = "mean") -> FloatArray:
    """The rows one entry contributes, from its photos' unit templates (k, dim)."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise DatasetError("an entry needs at least one template")
    if rule not in TEMPLATE_RULES:
        raise DatasetError(f"unknown template rule {rule!r} (choose {', '.join(TEMPLATE_RULES)})")
    v = l2_normalise(arr)
    if v.shape[0] == 1 or rule == "max":
        return v
    mean = l2_normalise(v.mean(axis=0, keepdims=True))
    return mean if rule == "mean" else np.concatenate([mean, v])


@dataclass(frozen=True, slots=True)
class Candidate:
    """One subject's best score against one probe."""

    subject_id: str
    score: float


@dataclass(frozen=True, slots=True)
class EnrolmentIssue:
    """A photo that could not be enrolled, with the typed error's code and message."""

    subject_id: str
    path: str
    code: str
    message: str


class Watchlist:
    """Enrolled templates; a subject may have several rows (one per photo).

    `vectors` is (n, dim) float32; rows are re-normalised on construction so that a score is
    always a cosine similarity, whatever the caller passed.
    """

    def __init__(
        self, subject_ids: Sequence[str], vectors: FloatArray, contract: EmbeddingContract
    ) -> None:
        ids = [str(s) for s in subject_ids]
        arr = np.asarray(vectors, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[0] != len(ids):
            raise DatasetError(
                f"watchlist needs one vector per subject id: {len(ids)} ids, array {arr.shape}"
            )
        if arr.shape[0] and arr.shape[1] != contract.dim:
            raise DatasetError(
                f"vectors have dim {arr.shape[1]}, contract {contract.id} says {contract.dim}"
            )
        if not np.all(np.isfinite(arr)):
            raise DatasetError("watchlist vectors contain NaN or infinity")
        self.contract = contract
        # Rows grouped by subject so the per-subject maximum is one reduceat.
        order = (
            np.argsort(np.asarray(ids, dtype=object), kind="stable") if ids else np.zeros(0, int)
        )
        self._row_subject = [ids[i] for i in order]
        self._vectors = np.ascontiguousarray(
            l2_normalise(arr[order]) if len(ids) else arr.reshape(0, contract.dim)
        )
        starts = [
            i for i, s in enumerate(self._row_subject) if i == 0 or s != self._row_subject[i - 1]
        ]
        self._starts = np.asarray(starts, dtype=np.intp)
        self.subject_ids: list[str] = [self._row_subject[i] for i in starts]

    @classmethod
    def from_templates(
        cls, entries: Sequence[tuple[str, Template]], contract: EmbeddingContract
    ) -> Watchlist:
        for _, t in entries:
            contract.require_same(t.contract)
        vecs = (
            np.stack([t.vector for _, t in entries])
            if entries
            else np.zeros((0, contract.dim), np.float32)
        )
        return cls([s for s, _ in entries], vecs, contract)

    @classmethod
    def from_entries(
        cls,
        entries: Sequence[tuple[str, FloatArray]],
        contract: EmbeddingContract,
        rule: TemplateRule = "mean",
    ) -> Watchlist:
        """One (subject id, (k, dim) photo templates) per entry, combined by `rule`."""
        ids: list[str] = []
        rows: list[FloatArray] = []
        for sid, vecs in entries:
            r = combine_templates(np.asarray(vecs, np.float32).reshape(-1, contract.dim), rule)
            ids += [sid] * r.shape[0]
            rows.append(r)
        vecs_all = np.concatenate(rows) if rows else np.zeros((0, contract.dim), np.float32)
        return cls(ids, vecs_all, contract)

    @classmethod
    def from_folder(
        cls, folder: str | Path, engine: FaceEngine, rule: TemplateRule = "mean"
    ) -> tuple[Watchlist, list[EnrolmentIssue]]:
        """Enrol DIR/<subject_id>/*.jpg; bad photos are reported and skipped, never fatal.

        A subject's photos are combined by `rule` (default: one mean template).

        Each photo must hold exactly one usable face (`select="strict"`): an enrolment photo
        with two faces could enrol the wrong person.
        """
        root = Path(folder)
        if not root.is_dir():
            raise DatasetError("watchlist folder not found", source=str(root))
        entries: list[tuple[str, FloatArray]] = []
        issues: list[EnrolmentIssue] = []
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            photos = sorted(p for p in sub.iterdir() if is_image_file(p))
            if not photos:
                issues.append(EnrolmentIssue(sub.name, str(sub), "no_photos", "no image files"))
            vecs: list[FloatArray] = []
            for photo in photos:
                try:
                    res = engine.face_from_file(photo, select="strict")
                except OpenLFRError as exc:
                    issues.append(
                        EnrolmentIssue(sub.name, str(photo), exc.__class__.code, str(exc))
                    )
                    continue
                engine.contract.require_same(res.template.contract)
                vecs.append(res.template.vector)
            if vecs:
                entries.append((sub.name, np.stack(vecs)))
        wl = cls.from_entries(entries, engine.contract, rule)
        log.info(
            "watchlist enrolled: %d subjects, %d templates, %d issues",
            len(wl),
            wl.size,
            len(issues),
        )
        return wl, issues

    def __len__(self) -> int:
        return len(self.subject_ids)

    @property
    def size(self) -> int:
        """Number of template rows (>= number of subjects)."""
        return int(self._vectors.shape[0])

    def rows(self) -> tuple[list[str], FloatArray]:
        """(subject id per row, read-only (n, dim) unit vectors): to extend or re-key a list."""
        v = self._vectors.view()
        v.flags.writeable = False
        return list(self._row_subject), v

    def scores(self, probes: FloatArray) -> FloatArray:
        """(n_probes, n_subjects) best cosine score of each probe against each subject."""
        p = np.asarray(probes, dtype=np.float32)
        if p.ndim == 1:
            p = p[None, :]
        if p.shape[1] != self.contract.dim:
            raise DatasetError(f"probe dim {p.shape[1]} != watchlist dim {self.contract.dim}")
        if not self.size:
            return np.zeros((p.shape[0], 0), np.float32)
        s = p @ self._vectors.T  # the one BLAS call
        return np.maximum.reduceat(s, self._starts, axis=1).astype(np.float32)

    def search(self, probes: FloatArray | Template, top_k: int = 1) -> list[list[Candidate]]:
        """Top-k subjects per probe, best first. A Template's contract is checked first."""
        if isinstance(probes, Template):
            self.contract.require_same(probes.contract)
            probes = probes.vector
        s = self.scores(probes)
        k = min(top_k, s.shape[1])
        out: list[list[Candidate]] = []
        for row in s:
            idx = np.argsort(-row, kind="stable")[:k]
            out.append([Candidate(self.subject_ids[i], float(row[i])) for i in idx])
        return out
