"""Multi-photo watchlist entries and the expected hit rate that follows from them (issue 11).

An entry's first photo lives on its row; further photos (custody images from other occasions)
live in `watchlist_entry_photos`, sealed with the same per-deployment watchlist key, so they are
destroyed with the list. Each photo passes the same checks as the first (one face, quality,
capture date) plus checks against the entry's other photos (not the same picture again;
flagged when it looks like somebody else).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import ContractMismatchError, NoFaceError, NotFoundError
from openlfr.eval.approval import ModelApproval
from openlfr.governance import expected_hits as hits
from openlfr.governance import watchlist as wl_rules
from openlfr.governance.deployment import Actor, require
from openlfr.governance.vocab import Role
from openlfr.matching.watchlist import TEMPLATE_RULES, TemplateRule
from openlfr.services import access, rows
from openlfr.services.access import Access
from openlfr.services.context import ServiceContext
from openlfr.services.room import Room
from openlfr.services.rows import WATCHLIST_KEY, facts
from openlfr.storage import models as m
from openlfr.storage.crypto import open_sealed, seal
from openlfr.vision.contract import Template
from openlfr.vision.engine import FaceResult
from openlfr.vision.imageio import load_image
from openlfr.vision.quality import assess

# Least privilege (G.21): the people who compile, approve, use or oversee the list.
_VIEW = (Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER, Role.OPERATOR, Role.AUDITOR)


def photo_counts(s: Session, deployment_id: str) -> dict[str, int]:
    """Usable photos per entry of a list: the entry's own plus its further photos."""
    q = select(m.WatchlistEntry.id).where(m.WatchlistEntry.deployment_id == deployment_id)
    counts = {eid: 1 for eid in s.execute(q).scalars()}
    extra = (
        select(m.WatchlistEntryPhoto.entry_id, func.count())
        .where(m.WatchlistEntryPhoto.deployment_id == deployment_id)
        .group_by(m.WatchlistEntryPhoto.entry_id)
    )
    for eid, n in s.execute(extra):
        if eid in counts:
            counts[eid] += int(n)
    return counts


def entry_vectors(dk: bytes, e: m.WatchlistEntry) -> np.ndarray:
    """(k, dim) unit templates of all an entry's photos, decrypted into memory only."""
    vecs = [
        np.frombuffer(
            open_sealed(dk, e.template_enc, f"watchlist_entries:{e.id}:template"), np.float32
        )
    ]
    vecs += [
        np.frombuffer(
            open_sealed(dk, p.template_enc, f"watchlist_entry_photos:{p.id}:template"), np.float32
        )
        for p in e.photos
    ]
    return np.stack(vecs)


def projection(
    approval: ModelApproval | None,
    counts: Sequence[int],
    *,
    threshold: float | None,
    probe_shots: int,
) -> hits.HitProjection | None:
    if approval is None or threshold is None:
        return None
    return hits.expected_hit_rate(
        approval, list(counts), probe_shots=probe_shots, threshold=threshold
    )


def deployment_projection(
    ctx: ServiceContext, s: Session, d: m.Deployment
) -> hits.HitProjection | None:
    """Expected hits for a deployment's list as it stands, at its threshold."""
    return projection(
        rows.approval(s, d.model_contract_id),
        list(photo_counts(s, d.id).values()),
        threshold=d.threshold,
        probe_shots=ctx.settings.expected_probe_shots,
    )


def rates_by_photos(
    ctx: ServiceContext, s: Session, d: m.Deployment, counts: dict[str, int]
) -> dict[int, float | None]:
    """Expected hit rate of one entry per photo count present in the list."""
    approval = rows.approval(s, d.model_contract_id)
    if approval is None or d.threshold is None:
        return {}
    return {
        k: hits.expected_tpir(
            approval, k, ctx.settings.expected_probe_shots, d.threshold, len(counts) or None
        )
        for k in sorted(set(counts.values()))
    }


def template_rule(ctx: ServiceContext, approval: ModelApproval | None) -> TemplateRule:
    """The settings' rule if set, else the one the model approval was measured with."""
    rule = ctx.settings.template_rule or (approval.template_rule if approval else "mean")
    return next((r for r in TEMPLATE_RULES if r == rule), "mean")


def record_projection(d: m.Deployment, stage: str, p: hits.HitProjection | None) -> None:
    """Keep how the rate was computed beside it: `stage` is "authorisation" or "sign_off"."""
    doc = json.loads(d.expected_hits_json or "{}")
    doc[stage] = p.to_dict() if p else None
    d.expected_hits_json = json.dumps(doc, sort_keys=True)


def enrolment_face(
    engine: Any, photo: Path | bytes, settings: GovernanceSettings, face: int | None = None
) -> tuple[bytes, Any]:
    """The photo's bytes and its one face (`select="strict"`), for a first or further photo; or,
    for a photo of several people, face number `face` of `faces_in` (the compiler's pick).
    Refused (B.6) when the face is too small or blurred, before anything is stored."""
    data = photo if isinstance(photo, bytes) else Path(photo).read_bytes()
    name = str(photo)[:200] if not isinstance(photo, bytes) else None
    if face is None:
        res = engine.face_from_file(data, select="strict", name=name)
    else:
        image, faces = faces_in(engine, data)
        if not 0 <= face < len(faces):
            raise NoFaceError(f"no face number {face + 1}: the photo has {len(faces)}", source=name)
        chosen = engine.choose_face(image, [faces[face]], "strict", name)  # the size check
        chip = engine.align(image, [chosen])[0]
        vec = engine.embed_chips([chip])[0]
        res = FaceResult(chosen, assess(chosen, chip), Template(vec, engine.contract))
    q = res.quality
    require("watchlist photo", wl_rules.face_problems(q.width_px, q.sharpness, settings=settings))
    return data, res


def faces_in(engine: Any, data: bytes) -> tuple[Any, list[Any]]:
    """The decoded photo and its faces large enough to enrol (as `strict` counts them), left
    to right: the numbering a pick refers to."""
    image = load_image(data, limits=engine.limits, name="photo")
    least = getattr(engine, "min_face_px", 0)
    usable = [f for f in engine.detect(image) if f.width >= least]
    return image, sorted(usable, key=lambda f: (f.x1, f.y1))


def require_list_open(by: Actor, d: m.Deployment, what: str, size: int = 0) -> None:
    """The gate for changing a deployment's list (entries or photos): another list's compiler
    is refused outright; otherwise its own compiler, the list not signed off, under its cap."""
    if by.has(Role.WATCHLIST_COMPILER):
        access.require(by, d, Access.COMPILE)
    require(
        what,
        wl_rules.add_problems(facts(d), by, signed_off=d.signed_off_at is not None, size=size),
        source=d.id,
    )


def photo_columns(
    dk: bytes,
    aad: str,
    proposal: wl_rules.EntryProposal | wl_rules.PhotoProposal,
    flags: list[str],
    by: Actor,
    at: datetime,
    template: Template,
    image: bytes,
) -> dict[str, Any]:
    """The columns an entry's first photo and each further one are stored with: its date,
    quality and flags, who added it when, and its template and image sealed under the
    watchlist key, bound to `aad` (the row's table and id)."""
    assert proposal.image_captured_on is not None
    return {
        "image_captured_on": proposal.image_captured_on,
        "quality_score": float(proposal.quality_score),
        "flags_json": json.dumps(flags),
        "added_by": by.id,
        "added_at": at,
        "template_digest": template.digest(),
        "template_enc": seal(dk, rows.template_bytes(template), aad + "template"),
        "image_enc": seal(dk, image, aad + "image"),
    }


class EntryPhotos(Room):
    def add_photo(
        self,
        by: Actor,
        entry_id: str,
        proposal: wl_rules.PhotoProposal,
        template: Template,
        image: bytes,
    ) -> tuple[str, list[str]]:
        """Add a further photo to an entry; returns its id and flags."""
        ctx = self.ctx
        with ctx.tx() as s:
            e = rows.entry(s, entry_id)
            d = e.deployment
            require_list_open(by, d, "entry photo")
            if template.contract.id != e.contract_id:
                raise ContractMismatchError(
                    f"template made with {template.contract.id}, entry uses {e.contract_id}",
                    source=entry_id,
                )
            dk = ctx.data_key(s, d.id, WATCHLIST_KEY, create=False)
            held = entry_vectors(dk, e)
            approval = rows.approval(s, d.model_contract_id)
            flags = wl_rules.assess_photo(
                proposal,
                today=ctx.now().date(),
                settings=ctx.settings,
                other_dates=[e.image_captured_on] + [p.image_captured_on for p in e.photos],
                similarities=[float(v) for v in held @ template.vector],
                same_person_floor=approval.validated_min_threshold if approval else None,
            )
            pid = uuid.uuid4().hex
            aad = f"watchlist_entry_photos:{pid}:"
            p = m.WatchlistEntryPhoto(
                id=pid,
                entry_id=e.id,
                deployment_id=d.id,
                **photo_columns(dk, aad, proposal, flags, by, ctx.now(), template, image),
            )
            e.photos.append(p)
            ctx.audit(
                s,
                by.username,
                "watchlist.add_photo",
                f"deployment:{d.id}",
                after={
                    "entry_id": e.id,
                    "photo_id": pid,
                    "image_captured_on": p.image_captured_on,
                    "quality": round(p.quality_score, 4),
                    "flags": flags,
                    "template_digest": p.template_digest,
                    "photos": 1 + len(e.photos),
                },
            )
            return pid, flags

    def add_photo_from_file(
        self,
        by: Actor,
        entry_id: str,
        engine: Any,
        photo: Path | bytes,
        image_captured_on: date | None,
    ) -> tuple[str, list[str]]:
        """One face per photo (`select="strict"`) and its quality, as for the first photo."""
        with self.ctx.tx() as s:  # refuse before looking at anyone's face
            require_list_open(by, rows.entry(s, entry_id).deployment, "entry photo")
        data, res = enrolment_face(engine, photo, self.ctx.settings)
        prop = wl_rules.PhotoProposal(image_captured_on, float(res.quality.score))
        return self.add_photo(by, entry_id, prop, res.template, data)

    def photos(self, by: Actor, entry_id: str) -> list[dict[str, Any]]:
        """The entry's photos (first one included), metadata only."""
        self.ctx.need_role(by, *_VIEW)
        with self.ctx.tx() as s:
            e = rows.entry(s, entry_id)
            access.require(by, e.deployment, Access.WATCHLIST)
            first = {
                "id": e.id,
                "first": True,
                "image_captured_on": e.image_captured_on,
                "quality": e.quality_score,
                "flags": [f for f in json.loads(e.flags_json) if f != "under_18"],
                "added_by": e.added_by,
            }
            return [first] + [
                {
                    "id": p.id,
                    "first": False,
                    "image_captured_on": p.image_captured_on,
                    "quality": p.quality_score,
                    "flags": json.loads(p.flags_json),
                    "added_by": p.added_by,
                }
                for p in e.photos
            ]

    def photo_image(self, by: Actor, photo_id: str) -> bytes:
        """A further photo of an entry (the alert card's "other photos"): audited like the
        first photo's view, for those who may see the deployment's faces."""
        self.ctx.need_role(by, Role.OPERATOR, Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER)
        with self.ctx.tx() as s:
            p = s.get(m.WatchlistEntryPhoto, photo_id)
            if p is None:
                raise NotFoundError("no such entry photo", source=photo_id)
            access.require(by, p.entry.deployment, Access.FACES)
            dk = self.ctx.data_key(s, p.deployment_id, WATCHLIST_KEY, create=False)
            self.ctx.audit(
                s, by.username, "watchlist.view_image", f"entry:{p.entry_id}", after={"photo": p.id}
            )
            return open_sealed(dk, p.image_enc, f"watchlist_entry_photos:{p.id}:image")

    def remove_photo(self, by: Actor, photo_id: str, reason: str) -> None:
        with self.ctx.tx() as s:
            p = s.get(m.WatchlistEntryPhoto, photo_id)
            if p is None:
                raise NotFoundError("no such entry photo", source=photo_id)
            d = p.entry.deployment
            require_list_open(by, d, "remove entry photo")
            s.delete(p)
            self.ctx.audit(
                s,
                by.username,
                "watchlist.remove_photo",
                f"deployment:{d.id}",
                before={
                    "entry_id": p.entry_id,
                    "photo_id": p.id,
                    "template_digest": p.template_digest,
                },
                after={"reason": reason},
            )

    def expected_hits(self, by: Actor, deployment_id: str) -> dict[str, Any] | None:
        """Expected hits for the list as it stands now (shown to the compiler and reviewer)."""
        self.ctx.need_role(by, *_VIEW)
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            access.require(by, d, Access.WATCHLIST)
            p = deployment_projection(self.ctx, s, d)
            return p.to_dict() if p else None

    def entry_hit_rate(self, entry_id: str) -> float | None:
        """One entry's expected hit rate with the photos it has now."""
        with self.ctx.tx() as s:
            e = rows.entry(s, entry_id)
            counts = photo_counts(s, e.deployment_id)
            return rates_by_photos(self.ctx, s, e.deployment, counts).get(counts[e.id])
