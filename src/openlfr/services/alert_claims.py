"""The centre's check of what a remote worker claims about an alert, before it is recorded.

A worker is a machine at the camera; its clock and its arithmetic are its own. So the frame
time must fall in the deployment's authorised window, the threshold must be the one in force,
and the score must reproduce. With its own engine for the deployment's model (a worker that
holds the watchlist's templates could otherwise send the entry's own template as the "probe"),
the centre re-embeds the aligned chips the alert's probe was fused from (lossless, sent sealed
with it) and fuses them as the pipeline does: the same score to float noise, so the rule is
tight (`governance.alerts.fused_score_problems`). An alert without them (a worker before this
rule) has its one crop re-embedded, which scores lower than a fused probe, under the looser
`score_problems`. Without an engine the probe template the worker sent is compared. The chips
are checked and dropped here: only the crop the operator reviews is stored.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from openlfr.broker.messages import AlertMessage, AlertPayload
from openlfr.errors import AlertClaimError, FaceError, ImageError, NotFoundError, OpenLFRError
from openlfr.governance import alerts as alert_rules
from openlfr.matching.watchlist import combine_templates
from openlfr.pipeline.decision import probe_vector
from openlfr.services import entry_photos, rows
from openlfr.services.context import ServiceContext
from openlfr.services.rows import WATCHLIST_KEY, facts
from openlfr.storage import models as m
from openlfr.vision.imageio import ImageLimits, decode_image
from openlfr.vision.types import Detection

log = logging.getLogger(__name__)
CHIP_LIMITS = ImageLimits(max_pixels=512 * 512)  # an aligned chip is 112 px square


class ClaimChecker:
    """One per batch: each deployment's watchlist key and template rule are read once."""

    def __init__(
        self, ctx: ServiceContext, s: Session, engine: Callable[[], Any] | None = None
    ) -> None:
        self.ctx, self.s, self.engine = ctx, s, engine
        self._dk: dict[str, tuple[bytes, str]] = {}
        # (deployment id, entry id) -> the entry's template rows, this batch. Kept here, not as
        # the entry object: the session's identity map holds objects weakly, so each alert
        # would query the entry again.
        self._rows: dict[tuple[str, str], np.ndarray] = {}
        self._chips: dict[str, np.ndarray] = {}  # alert id -> its crop embedded by `prepare`
        self._fused: dict[str, np.ndarray] = {}  # alert id -> its shot chips embedded, fused
        self._exact: set[str] = set()  # alerts re-scored from their shot chips

    def prepare(self, items: Sequence[tuple[m.Deployment, AlertPayload, str]]) -> None:
        """Embed what a batch's (deployment, payload, alert id) are re-scored with in one call
        of the engine (cheaper per face than one call each): each alert's shot chips, else its
        crop where it carries the pipeline's face geometry. Whatever fails here is left to
        `check`, which refuses it on its own."""
        eng = self._engine()
        if eng is None:
            return
        ids, chips = [], []
        shots: list[tuple[str, int]] = []  # (alert id, how many chips) for `_fused`
        for d, p, label in items:
            if eng.contract.id != d.model_contract_id:
                continue
            if p.shot_chips:
                with contextlib.suppress(AlertClaimError):
                    got = self._shot_chips(eng, p, label)
                    chips += got
                    shots.append((label, len(got)))
                continue
            face = _face(p.probe_face)
            if face is None:
                continue
            with contextlib.suppress(FaceError, ImageError):
                img = decode_image(p.probe_jpeg, limits=ImageLimits(), label=label)
                chips.append(eng.align(img, [face])[0])
                ids.append(label)
        if not chips:
            return
        vecs = np.asarray(eng.embed_chips(chips), np.float32)
        at = 0
        for label, n in shots:
            self._fused[label] = _fuse(vecs[at : at + n])
            at += n
        self._chips.update(zip(ids, vecs[at:], strict=True))

    def check(self, d: m.Deployment, msg: AlertMessage, p: AlertPayload) -> float:
        """The re-computed score; AlertClaimError when the claim does not stand."""
        problems = alert_rules.alert_claim_problems(
            facts(d),
            frame_at=datetime.fromtimestamp(p.frame_time, UTC),
            sent_at=datetime.fromtimestamp(msg.published_at, UTC),
            score=float(p.score),
            threshold=float(p.threshold),
        )
        if problems:
            raise AlertClaimError("; ".join(problems), source=msg.alert_id)
        assert d.threshold is not None
        rescored = self.rescore(d, p, msg.alert_id)
        if msg.alert_id in self._exact:
            problems = alert_rules.fused_score_problems(float(p.score), rescored, d.threshold)
        else:
            problems = alert_rules.score_problems(float(p.score), rescored, d.threshold)
        log.debug("alert %s claimed %.4f re-scored %.4f", msg.alert_id, p.score, rescored)
        if problems:
            raise AlertClaimError("; ".join(problems), source=msg.alert_id)
        return rescored

    def rescore(self, d: m.Deployment, p: AlertPayload, label: str) -> float:
        probe = self._probe(d, p, label)
        rows_ = self._rows.get((d.id, p.subject_id))
        if rows_ is None:
            e = self.s.get(m.WatchlistEntry, p.subject_id)
            if e is None or e.deployment_id != d.id:
                raise NotFoundError(
                    "alert names an entry that is not on this watchlist", source=label
                )
            dk, rule = self._key(d)
            rows_ = combine_templates(entry_photos.entry_vectors(dk, e), rule)  # type: ignore[arg-type]
            self._rows[(d.id, e.id)] = rows_
        if rows_.shape[1] != probe.shape[0]:
            raise AlertClaimError("probe and entry templates differ in size", source=label)
        return float(np.max(rows_ @ probe))

    def _probe(self, d: m.Deployment, p: AlertPayload, label: str) -> np.ndarray:
        eng = self._engine()
        if eng is not None and eng.contract.id == d.model_contract_id:
            if p.shot_chips:
                fused = self._fused.pop(label, None)
                if fused is None:  # not prepared with its batch: embed them now (or refuse)
                    fused = _fuse(np.asarray(eng.embed_chips(self._shot_chips(eng, p, label))))
                self._exact.add(label)
                return fused
            if label in self._chips:
                return self._chips.pop(label)
            try:
                img = decode_image(p.probe_jpeg, limits=ImageLimits(), label=label)
                face = _face(p.probe_face)
                if face is None:  # no geometry sent: find the face in the crop
                    return np.asarray(eng.face_from_image(img, select="largest").template.vector)
                # Aligned by the landmarks the pipeline used: the same chip, less JPEG noise.
                return np.asarray(eng.embed_chips(eng.align(img, [face]))[0], np.float32)
            except (FaceError, ImageError):
                raise AlertClaimError("no face in the alert's crop", source=label) from None
        if p.template is None:
            raise AlertClaimError("the alert carries no probe to re-score", source=label)
        v = np.asarray(p.template, np.float32)
        n = float(np.linalg.norm(v))
        if v.ndim != 1 or not np.isfinite(n) or n == 0:
            raise AlertClaimError("the alert's probe template is not a vector", source=label)
        return v / n

    @staticmethod
    def _shot_chips(eng: Any, p: AlertPayload, label: str) -> list[Any]:
        """The alert's chips as images of the engine's chip size; AlertClaimError otherwise
        (a chip the model would reject must not fail the batch it came in)."""
        size = getattr(eng.aligner, "size", None)
        out = []
        for raw in p.shot_chips:
            try:
                chip = decode_image(raw, limits=CHIP_LIMITS, label=label)
            except ImageError:
                raise AlertClaimError("a shot chip is not an image", source=label) from None
            if chip.shape[0] != chip.shape[1] or (size is not None and chip.shape[0] != size):
                raise AlertClaimError("a shot chip is not the model's chip size", source=label)
            out.append(chip)
        return out

    def _engine(self) -> Any:
        if self.engine is None:
            return None
        try:
            return self.engine()
        except (OpenLFRError, OSError) as e:  # no model here: the worker's template is used
            log.warning("no engine at the centre to re-score alerts: %s", type(e).__name__)
            self.engine = None
            return None

    def _key(self, d: m.Deployment) -> tuple[bytes, str]:
        if d.id not in self._dk:
            dk = self.ctx.data_key(self.s, d.id, WATCHLIST_KEY, create=False)
            rule = entry_photos.template_rule(self.ctx, rows.approval(self.s, d.model_contract_id))
            self._dk[d.id] = (dk, rule)
        return self._dk[d.id]


def _fuse(vectors: np.ndarray) -> np.ndarray:
    """The pipeline's own rule for a track's probe (decision.probe_vector, fused)."""
    vs = list(np.asarray(vectors, np.float32))
    return np.asarray(probe_vector(vs, [0.0] * len(vs), fuse=True), np.float32)


def _face(geometry: dict[str, Any] | None) -> Detection | None:
    """The pipeline's face in the crop; None when absent or malformed (then it is detected)."""
    try:
        if not geometry:
            return None
        x1, y1, x2, y2 = (float(v) for v in geometry["box"])
        lm = np.asarray(geometry["landmarks"], np.float32)
        if lm.shape != (5, 2) or not np.isfinite(lm).all() or not x2 > x1 or not y2 > y1:
            return None
        return Detection(x1, y1, x2, y2, 1.0, lm)
    except (KeyError, TypeError, ValueError):
        return None
