"""Subject rights: find what is held about the person in a probe photo, and erase it.

Only auditors (the data protection officer) search, never an administrator. A search is
recorded in the audit log, and its record's sequence number is the search id. An erasure acts
only on hits of a recorded search (never on ids a client sends) and needs two people: one
auditor requests it, a different one approves it (separation of duties, ASVS V1.4.1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select

from openlfr.errors import (
    KeyUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolation,
)
from openlfr.governance.deployment import Actor, require
from openlfr.governance.vocab import Role
from openlfr.services import entry_photos, equality_data, rows
from openlfr.services.accounts import Accounts
from openlfr.services.room import Room
from openlfr.services.rows import ALERTS_KEY, WATCHLIST_KEY
from openlfr.storage import models as m
from openlfr.storage.crypto import open_sealed
from openlfr.vision.contract import Template


@dataclass(frozen=True, slots=True)
class SubjectHit:
    kind: str  # "alert" | "watchlist_entry" | "watchlist_stub"
    id: str
    deployment_id: str
    score: float | None
    detail: dict[str, Any]


def _score(key: bytes, sealed: bytes, aad: str, probe: Template) -> float:
    """Similarity of a sealed template to the probe; the template is opened in memory only."""
    return float(np.dot(np.frombuffer(open_sealed(key, sealed, aad), np.float32), probe.vector))


@dataclass(frozen=True, slots=True)
class SubjectSearch:
    id: int  # the audit record of the search
    hits: list[SubjectHit]


ERASABLE = ("alert", "watchlist_entry")  # stubs stay: they are the audit trail


class SubjectRights(Room):
    def subject_access(
        self, by: Actor, probe: Template, threshold: float | None = None
    ) -> list[SubjectHit]:
        return self.search(by, probe, threshold).hits

    def search(self, by: Actor, probe: Template, threshold: float | None = None) -> SubjectSearch:
        """Find alerts and watchlist entries/stubs about the person in `probe` (auditor)."""
        ctx = self.ctx
        ctx.need_role(by, Role.AUDITOR)
        hits: list[SubjectHit] = []
        with ctx.tx() as s:
            linked_entries: set[str] = set()
            for d in s.execute(select(m.Deployment)).scalars():
                t = threshold if threshold is not None else (d.threshold or 0.5)
                if d.model_contract_id and d.model_contract_id != probe.contract.id:
                    continue
                try:
                    ak = ctx.data_key(s, d.id, ALERTS_KEY, create=False)
                except KeyUnavailableError:
                    ak = None
                q = select(m.Alert).where(m.Alert.deployment_id == d.id)
                for a in s.execute(q).scalars() if ak else []:
                    assert ak is not None
                    if a.template_enc is None:
                        continue
                    score = _score(ak, a.template_enc, f"alerts:{a.id}:template", probe)
                    if score >= t:
                        hits.append(
                            SubjectHit(
                                "alert",
                                a.id,
                                d.id,
                                score,
                                {
                                    "camera": a.camera_id,
                                    "detected_at": a.detected_at,
                                    "status": a.status,
                                    "entry_id": a.entry_id,
                                },
                            )
                        )
                        linked_entries.add(a.entry_id)
                entries = list(d.entries)
                if entries:
                    wk = ctx.data_key(s, d.id, WATCHLIST_KEY, create=False)
                    for e in entries:
                        # Against every photo of the entry: any one may be the person's.
                        score = float(np.max(entry_photos.entry_vectors(wk, e) @ probe.vector))
                        if score >= t:
                            hits.append(
                                SubjectHit(
                                    "watchlist_entry",
                                    e.id,
                                    d.id,
                                    score,
                                    {"category": e.category, "added_at": e.added_at},
                                )
                            )
            # A stub holds no biometric by design; it is found through an alert that matched it.
            for eid in sorted(linked_entries):
                st = s.get(m.WatchlistStub, eid)
                if st is not None:
                    hits.append(
                        SubjectHit(
                            "watchlist_stub",
                            st.entry_id,
                            st.deployment_id,
                            None,
                            {
                                "category": st.category,
                                "template_digest": st.template_digest,
                                "destroyed_at": st.destroyed_at,
                            },
                        )
                    )
            rec = ctx.audit(
                s,
                by.username,
                "subject.access",
                "subject",
                after={"probe_digest": probe.digest(), "hits": [(h.kind, h.id) for h in hits]},
            )
        return SubjectSearch(rec.seq, hits)

    def request_erasure(
        self, by: Actor, search_id: int, hit_ids: list[str] | None, reason: str
    ) -> int:
        """First person: ask to erase hits of recorded search `search_id` (all erasable hits
        when `hit_ids` is None). Returns the request id for a second auditor to approve."""
        ctx = self.ctx
        ctx.need_role(by, Role.AUDITOR)
        Accounts(ctx).require_second_person(by, "an erasure")
        require("erasure", [] if reason.strip() else ["an erasure needs a reason"])
        with ctx.tx() as s:
            rec = s.get(m.AuditRecord, search_id)
            if rec is None or rec.action != "subject.access":
                raise NotFoundError("no such recorded subject access search", source=str(search_id))
            found = [(k, i) for k, i in json.loads(rec.after_json).get("hits", [])]
            ids = {i for _, i in found}
            wanted = hit_ids if hit_ids is not None else [i for k, i in found if k in ERASABLE]
            unknown = [i for i in wanted if i not in ids]
            chosen = [[k, i] for k, i in found if i in set(wanted) and k in ERASABLE]
            require(
                "erasure",
                [f"{i} was not found by search {search_id}" for i in unknown]
                + ([] if chosen else ["nothing erasable was chosen"]),
            )
            req = ctx.audit(
                s,
                by.username,
                "subject.erase_request",
                f"search:{search_id}",
                after={"search": search_id, "hits": chosen, "reason": reason},
            )
            return req.seq

    def approve_erasure(self, by: Actor, request_id: int) -> dict[str, int]:
        """Second person: carry out an erasure request; stubs stay as the audit trail."""
        ctx = self.ctx
        ctx.need_role(by, Role.AUDITOR)
        Accounts(ctx).require_second_person(by, "an erasure")
        n = {"alerts": 0, "watchlist_entries": 0}
        with ctx.tx() as s:
            req = s.get(m.AuditRecord, request_id)
            if req is None or req.action != "subject.erase_request":
                raise NotFoundError("no such erasure request", source=str(request_id))
            if req.actor == by.username:
                raise PermissionDeniedError("a second person must approve an erasure")
            done = s.execute(
                select(m.AuditRecord.seq).where(
                    m.AuditRecord.action == "subject.erase_approved",
                    m.AuditRecord.subject == f"erase_request:{request_id}",
                )
            ).first()
            require("erasure", ["this erasure was already carried out"] if done else [])
            body = json.loads(req.after_json)
            why = {"reason": body["reason"], "request": request_id, "requested_by": req.actor}
            ctx.audit(
                s, by.username, "subject.erase_approved", f"erase_request:{request_id}", after=why
            )
            for kind, hid in body["hits"]:
                if kind == "alert" and (a := s.get(m.Alert, hid)) is not None:
                    if a.legal_hold_reason:
                        raise RuleViolation(
                            "erasure", [f"alert {a.id} is under legal hold: {a.legal_hold_reason}"]
                        )
                    equality_data.forget(ctx, s, [a])
                    s.delete(a)
                    n["alerts"] += 1
                    ctx.audit(s, by.username, "subject.erase_alert", f"alert:{hid}", after=why)
                elif kind == "watchlist_entry" and (e := s.get(m.WatchlistEntry, hid)) is not None:
                    s.add(rows.stub_of(e, ctx.now()))
                    s.delete(e)
                    n["watchlist_entries"] += 1
                    ctx.audit(s, by.username, "subject.erase_entry", f"entry:{hid}", after=why)
        if any(n.values()):
            ctx.vacuum()
        return n
