"""Watchlists: enrolment (encrypted), sign-off, loading for a live run, destruction to stubs."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openlfr.dicts import pick
from openlfr.errors import ContractMismatchError, NotFoundError
from openlfr.governance import deployment as dep_rules
from openlfr.governance import watchlist as wl_rules
from openlfr.governance.deployment import Actor, require
from openlfr.governance.expected_hits import entry_flags
from openlfr.governance.profiles import EntryContext
from openlfr.governance.vocab import Role
from openlfr.matching.watchlist import combine_templates
from openlfr.services import access, entry_photos, rows
from openlfr.services.access import Access
from openlfr.services.assurance import entry_facts_row, entry_profile_problems
from openlfr.services.context import ServiceContext
from openlfr.services.room import Room
from openlfr.services.rows import WATCHLIST_KEY, by_category, facts
from openlfr.services.walkby import destroy_test_list
from openlfr.storage import models as m
from openlfr.storage.crypto import open_sealed, seal
from openlfr.vision.contract import Template


@dataclass(frozen=True, slots=True)
class LoadedWatchlist:
    """A decrypted watchlist for a running deployment: memory only, never written back."""

    deployment_id: str
    contract_id: str
    threshold: float
    entry_ids: list[str]  # one per row: an entry with several rows repeats
    categories: list[str]
    vectors: np.ndarray  # (n, d) float32, unit rows


def destroy_watchlist(
    ctx: ServiceContext, s: Session, d: m.Deployment, actor: str, why: str
) -> int:
    """Replace every entry by its stub and shred the list's key; returns the entry count."""
    entries = list(d.entries)
    now = ctx.now()
    for e in entries:
        s.add(rows.stub_of(e, now))
        s.delete(e)
    s.execute(
        delete(m.DataKey).where(m.DataKey.deployment_id == d.id, m.DataKey.purpose == WATCHLIST_KEY)
    )
    d.watchlist_destroyed_at = now
    destroy_test_list(ctx, s, d, actor)  # the test list goes with the watchlist (12.1)
    ctx.audit(
        s,
        actor,
        "watchlist.destroy",
        f"deployment:{d.id}",
        after={
            "entries": len(entries),
            "by_category": by_category(entries),
            "snapshot_hash": d.watchlist_snapshot_hash,
            "policy": why,
            "key_destroyed": True,
        },
    )
    return len(entries)


class Watchlists(Room):
    def add_entry(
        self,
        by: Actor,
        deployment_id: str,
        proposal: wl_rules.EntryProposal,
        template: Template,
        image: bytes,
        profile_facts: EntryContext | None = None,
    ) -> tuple[str, list[str]]:
        """Add an entry; returns its id and flags (low quality, old image, under 18).
        `profile_facts` carry what the controller profile asks of an entry (H.23)."""
        ctx = self.ctx
        with ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            size = rows.watchlist_size(s, d.id)
            entry_photos.require_list_open(by, d, "watchlist entry", size)
            flags = wl_rules.assess_entry(proposal, today=ctx.now().date(), settings=ctx.settings)
            require(
                "watchlist entry",
                entry_profile_problems(ctx, proposal.category, profile_facts),
                source=d.id,
            )
            if d.model_contract_id and template.contract.id != d.model_contract_id:
                raise ContractMismatchError(
                    f"template made with {template.contract.id}, deployment uses "
                    f"{d.model_contract_id}",
                    source=d.id,
                )
            dk = ctx.data_key(s, d.id, WATCHLIST_KEY, create=True)
            eid = uuid.uuid4().hex
            aad = f"watchlist_entries:{eid}:"
            e = m.WatchlistEntry(
                id=eid,
                deployment_id=d.id,
                **pick(proposal, "category", "legal_basis", "source_system", "reason"),
                **pick(proposal, "is_minor", "minor_justification"),
                contract_id=template.contract.id,
                subject_ref_enc=seal(dk, proposal.subject_ref.encode(), aad + "subject"),
                **entry_photos.photo_columns(
                    dk, aad, proposal, flags, by, ctx.now(), template, image
                ),
            )
            s.add(e)
            if profile_facts is not None:
                s.add(entry_facts_row(eid, d.id, profile_facts))
            ctx.audit(
                s,
                by.username,
                "watchlist.add",
                f"deployment:{d.id}",
                after={
                    "entry_id": eid,
                    "category": e.category,
                    "legal_basis": e.legal_basis,
                    "source_system": e.source_system,
                    "image_captured_on": e.image_captured_on,
                    "quality": round(e.quality_score, 4),
                    "flags": flags,
                    "reason": e.reason,
                    "template_digest": e.template_digest,
                },
            )
            return eid, flags

    def add_entry_from_photo(
        self,
        by: Actor,
        deployment_id: str,
        engine: Any,
        photo: Path | bytes,
        profile_facts: EntryContext | None = None,
        face: int | None = None,
        **proposal: Any,
    ) -> tuple[str, list[str]]:
        """Enrol from a photo with the face engine (one face, or the `face` the compiler picked
        in a photo of several; B.6 quality from the engine, small or blurred faces refused).
        Whoever may not add to this list is refused before the photo's face is analysed."""
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            entry_photos.require_list_open(by, d, "watchlist entry", rows.watchlist_size(s, d.id))
        data, res = entry_photos.enrolment_face(engine, photo, self.ctx.settings, face)
        prop = wl_rules.EntryProposal(quality_score=float(res.quality.score), **proposal)
        return self.add_entry(by, deployment_id, prop, res.template, data, profile_facts)

    def faces_in_photo(
        self, by: Actor, deployment_id: str, engine: Any, photo: bytes
    ) -> dict[str, Any]:
        """Where the faces are in a photo about to be enrolled, for the compiler to pick one:
        boxes only, in memory; nothing is stored or logged."""
        with self.ctx.tx() as s:
            entry_photos.require_list_open(by, rows.deployment(s, deployment_id), "find faces")
        image, faces = entry_photos.faces_in(engine, photo)
        h, w = image.shape[:2]
        boxes = [{"x": f.x1, "y": f.y1, "width": f.width, "height": f.y2 - f.y1} for f in faces]
        return {"width": w, "height": h, "faces": boxes}

    def remove_entry(self, by: Actor, entry_id: str, reason: str) -> None:
        with self.ctx.tx() as s:
            e = rows.entry(s, entry_id)
            d = e.deployment
            entry_photos.require_list_open(by, d, "remove entry")
            s.delete(e)
            self.ctx.audit(
                s,
                by.username,
                "watchlist.remove",
                f"deployment:{d.id}",
                before={"entry_id": entry_id, "template_digest": e.template_digest},
                after={"reason": reason},
            )

    def entries(self, by: Actor, deployment_id: str) -> list[dict[str, Any]]:
        # Least privilege (G.21): the people who compile, approve, use or oversee the list.
        self.ctx.need_role(
            by, Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER, Role.OPERATOR, Role.AUDITOR
        )
        with self.ctx.tx() as s:
            access.require(by, rows.deployment(s, deployment_id), Access.WATCHLIST)
            q = select(m.WatchlistEntry).where(m.WatchlistEntry.deployment_id == deployment_id)
            counts = entry_photos.photo_counts(s, deployment_id)
            d = s.get(m.Deployment, deployment_id)
            rate = entry_photos.rates_by_photos(self.ctx, s, d, counts) if d else {}
            return [
                {
                    "id": e.id,
                    "category": e.category,
                    "quality": e.quality_score,
                    "flags": entry_flags(json.loads(e.flags_json), counts.get(e.id, 1)),
                    "image_captured_on": e.image_captured_on,
                    "added_by": e.added_by,
                    # What the reviewing officer signs off on beside the photo (no template).
                    "legal_basis": e.legal_basis,
                    "reason": e.reason,
                    "source_system": e.source_system,
                    # Usable photos (each passed the enrolment checks) and the share of
                    # passes by this person the model should find with that many.
                    "photos": counts.get(e.id, 1),
                    "expected_hit_rate": rate.get(counts.get(e.id, 1)),
                }
                for e in s.execute(q.order_by(m.WatchlistEntry.added_at)).scalars()
            ]

    def projected_false_alerts(self, deployment_id: str) -> float | None:
        """B.7: shown before sign-off, from the actual list size."""
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            approval = rows.approval(s, d.model_contract_id)
            if approval is None or d.threshold is None or d.expected_faces is None:
                return None
            return approval.expected_false_alerts(
                d.expected_faces, rows.watchlist_size(s, d.id), d.threshold
            )

    def sign_off(self, by: Actor, deployment_id: str) -> float | None:
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            if by.has(Role.AUTHORISING_OFFICER):
                access.require(by, d, Access.OFFICER)  # named on it (`officers`)
            entries = list(d.entries)
            require(
                "sign-off",
                wl_rules.sign_off_problems(
                    facts(d),
                    by,
                    size=len(entries),
                    signed_off=d.signed_off_at is not None,
                    added_by={e.added_by for e in entries},
                ),
                source=d.id,
            )
            approval = rows.approval(s, d.model_contract_id)
            if approval and d.threshold is not None and d.expected_faces is not None:
                d.expected_false_alerts_signoff = approval.expected_false_alerts(
                    d.expected_faces, len(entries), d.threshold
                )
            hp = entry_photos.deployment_projection(self.ctx, s, d)
            d.expected_hit_rate_signoff = hp.rate if hp else None
            entry_photos.record_projection(d, "sign_off", hp)
            # Every photo's template is part of what was signed off.
            d.watchlist_snapshot_hash = hashlib.sha256(
                "".join(
                    sorted(
                        e.id
                        + e.template_digest
                        + "".join(sorted(p.template_digest for p in e.photos))
                        for e in entries
                    )
                ).encode()
            ).hexdigest()
            d.signed_off_by, d.signed_off_at = by.id, self.ctx.now()
            self.ctx.audit(
                s,
                by.username,
                "watchlist.sign_off",
                f"deployment:{d.id}",
                after={
                    "size": len(entries),
                    "by_category": by_category(entries),
                    "snapshot_hash": d.watchlist_snapshot_hash,
                    "flagged": sum(1 for e in entries if json.loads(e.flags_json)),
                    "expected_false_alerts": d.expected_false_alerts_signoff,
                    "expected_hits": hp.to_dict() if hp else None,
                },
            )
            return d.expected_false_alerts_signoff

    def load_watchlist(self, deployment_id: str) -> LoadedWatchlist:
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            dep_rules.check_live(facts(d), self.ctx.now())
            dk = self.ctx.data_key(s, d.id, WATCHLIST_KEY, create=False)
            rule = entry_photos.template_rule(self.ctx, rows.approval(s, d.model_contract_id))
            ids: list[str] = []
            cats: list[str] = []
            vecs: list[np.ndarray] = []
            for e in d.entries:
                # One row per entry (mean) or per photo (max), as the rule says: an entry id
                # may repeat, and the search takes each entry's best row.
                r = combine_templates(entry_photos.entry_vectors(dk, e), rule)
                ids += [e.id] * len(r)
                cats += [e.category] * len(r)
                vecs.append(r)
            assert d.model_contract_id is not None and d.threshold is not None
            return LoadedWatchlist(
                d.id,
                d.model_contract_id,
                d.threshold,
                ids,
                cats,
                np.concatenate(vecs) if vecs else np.zeros((0, 0), np.float32),
            )

    def entry_image(self, by: Actor, entry_id: str) -> bytes:
        with self.ctx.tx() as s:
            e = s.get(m.WatchlistEntry, entry_id)
            if e is None:
                raise NotFoundError("no such watchlist entry (destroyed?)", source=entry_id)
            self.ctx.need_role(by, Role.OPERATOR, Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER)
            access.require(by, e.deployment, Access.FACES)
            dk = self.ctx.data_key(s, e.deployment_id, WATCHLIST_KEY, create=False)
            self.ctx.audit(s, by.username, "watchlist.view_image", f"entry:{entry_id}")
            return open_sealed(dk, e.image_enc, f"watchlist_entries:{e.id}:image")

    def was_on_list(self, by: Actor, deployment_id: str, entry_id: str) -> dict[str, Any] | None:
        """B.8: answerable after destruction from the stub (entry id, category, template hash)."""
        self.ctx.need_role(by, Role.AUDITOR, Role.AUTHORISING_OFFICER, Role.ADMINISTRATOR)
        with self.ctx.tx() as s:
            access.require(by, rows.deployment(s, deployment_id), Access.VIEW)
            st = s.get(m.WatchlistStub, entry_id)
            e = s.get(m.WatchlistEntry, entry_id) if st is None else None
            row = st or e
            if row is None or row.deployment_id != deployment_id:
                return None
            return {
                "entry_id": entry_id,
                "category": row.category,
                "template_digest": row.template_digest,
                "destroyed_at": st.destroyed_at if st else None,
                "state": "destroyed" if st else "live",
            }
