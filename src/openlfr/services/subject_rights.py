"""Subject rights: find what is held about the person in a probe photo, and erase it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select

from openlfr.errors import KeyUnavailableError, RuleViolation
from openlfr.governance.deployment import Actor, require
from openlfr.governance.vocab import Role
from openlfr.services import entry_photos, rows
from openlfr.services.context import ServiceContext
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


class SubjectRights:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def subject_access(
        self, by: Actor, probe: Template, threshold: float | None = None
    ) -> list[SubjectHit]:
        """Find alerts and watchlist entries/stubs about the person in `probe` (DPO/auditor)."""
        ctx = self.ctx
        ctx.need_role(by, Role.AUDITOR, Role.ADMINISTRATOR)
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
            ctx.audit(
                s,
                by.username,
                "subject.access",
                "subject",
                after={"probe_digest": probe.digest(), "hits": [(h.kind, h.id) for h in hits]},
            )
        return hits

    def erase(self, by: Actor, hits: list[SubjectHit], reason: str) -> dict[str, int]:
        """Erase alerts and live entries found by subject access; stubs stay as the audit trail."""
        ctx = self.ctx
        ctx.need_role(by, Role.AUDITOR, Role.ADMINISTRATOR)
        require("erasure", [] if reason.strip() else ["an erasure needs a reason"])
        n = {"alerts": 0, "watchlist_entries": 0}
        why = {"reason": reason}
        with ctx.tx() as s:
            for h in hits:
                if h.kind == "alert" and (a := s.get(m.Alert, h.id)) is not None:
                    if a.legal_hold_reason:
                        raise RuleViolation(
                            "erasure", [f"alert {a.id} is under legal hold: {a.legal_hold_reason}"]
                        )
                    s.delete(a)
                    n["alerts"] += 1
                    ctx.audit(s, by.username, "subject.erase_alert", f"alert:{h.id}", after=why)
                elif (
                    h.kind == "watchlist_entry" and (e := s.get(m.WatchlistEntry, h.id)) is not None
                ):
                    s.add(rows.stub_of(e, ctx.now()))
                    s.delete(e)
                    n["watchlist_entries"] += 1
                    ctx.audit(s, by.username, "subject.erase_entry", f"entry:{h.id}", after=why)
        if any(n.values()):
            ctx.vacuum()
        return n
