"""Recording alerts, one or a batch, in the caller's transaction (in-process runs and the broker).

Every alert is checked on its own (deployment live and in its window, camera whitelisted, the
deployment's model, an entry of its own watchlist) and gets its own sealed row and its own
audit record. What a batch shares is looked up once: each deployment, its alerts data key, the
named entries (ids only, never their images), and the audit head, which is locked and moved
once for the whole batch. All checks run before anything is written, so a refused alert leaves
no alert row behind and needs no savepoint (an alert from a camera off the whitelist is
counted and audited, as a refused frame is).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.errors import (
    CameraNotAllowedError,
    ContractMismatchError,
    NotFoundError,
    OpenLFRError,
)
from openlfr.governance import deployment as dep_rules
from openlfr.governance import retention
from openlfr.governance.deployment import DeploymentFacts
from openlfr.governance.vocab import AlertStatus
from openlfr.services import rows
from openlfr.services.context import ServiceContext
from openlfr.services.rows import ALERTS_KEY, SYSTEM, facts
from openlfr.storage import models as m
from openlfr.storage.audit import Entry
from openlfr.storage.crypto import seal
from openlfr.vision.contract import Template

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertIn:
    """What the live pipeline hands over for one alert (already past the privacy boundary)."""

    camera_id: str
    entry_id: str
    score: float
    threshold: float
    contract_id: str
    detected_at: datetime
    # The probe's template: evidence, and what subject access searches; None when the
    # pipeline could not re-embed its crop.
    template: Template | None = None
    probe_jpeg: bytes | None = None
    scene_jpeg: bytes | None = None  # pixelated scene
    latency_ms: float | None = None
    source_ref: str | None = None


Outcome = str | OpenLFRError  # the new alert's id, or why it was refused


_T = TypeVar("_T")


def once(memo: dict[str, _T | OpenLFRError], key: str, look_up: Callable[[str], _T]) -> _T:
    """`look_up(key)` once per batch and key; a refusal is remembered and raised again."""
    if key not in memo:
        try:
            memo[key] = look_up(key)
        except OpenLFRError as e:
            memo[key] = e
    got = memo[key]
    if isinstance(got, OpenLFRError):
        raise got
    return got


def record_alerts(
    ctx: ServiceContext, s: Session, items: Sequence[tuple[str, AlertIn]]
) -> list[Outcome]:
    """Record each (deployment id, alert) in `s` (the caller commits); per item the new alert's
    id or the governance error that refused it."""
    deps: dict[str, tuple[m.Deployment, DeploymentFacts] | OpenLFRError] = {}
    keys: dict[str, bytes | OpenLFRError] = {}
    wanted = {a.entry_id for _, a in items}
    # Only which deployment each entry belongs to: the entries' images are not read.
    q = select(m.WatchlistEntry.id, m.WatchlistEntry.deployment_id).where(
        m.WatchlistEntry.id.in_(wanted)
    )
    entry_dep = dict(s.execute(q).all()) if wanted else {}
    now = ctx.now()
    out: list[Outcome] = []
    new: list[m.Alert] = []
    entries: list[Entry] = []
    for deployment_id, a in items:
        try:
            d, f = once(deps, deployment_id, lambda k: _with_facts(rows.deployment(s, k)))
            dep_rules.check_live(f, now)
            try:
                dep_rules.check_camera(f, a.camera_id)
            except CameraNotAllowedError:
                # A.2/H.22: counted with the deployment's refused frames, and audited.
                d.frames_refused += 1
                entries.append(_refused(d.id, a))
                raise
            if a.contract_id != d.model_contract_id or (
                a.template is not None and a.template.contract.id != a.contract_id
            ):
                raise ContractMismatchError(f"alert made with {a.contract_id}", source=d.id)
            if entry_dep.get(a.entry_id) != d.id:
                raise NotFoundError(
                    "alert names an entry that is not on this watchlist", source=a.entry_id
                )
            dk = once(keys, d.id, lambda k: ctx.data_key(s, k, ALERTS_KEY, create=False))
        except OpenLFRError as e:
            log.warning("alert refused deployment=%s camera=%s: %s", deployment_id, a.camera_id,
                        e.code)  # fmt: skip
            out.append(e)
            continue
        aid = uuid.uuid4().hex
        # Ids only: never the entry's name, the score's face, or the images.
        log.info("alert %s raised deployment=%s camera=%s", aid, d.id, a.camera_id)
        new.append(_row(aid, d, a, dk, now))
        entries.append(_entry(aid, d.id, a))
        out.append(aid)
    s.add_all(new)
    ctx.audit_many(s, entries)  # flushes the alerts with their audit records
    return out


def _with_facts(d: m.Deployment) -> tuple[m.Deployment, DeploymentFacts]:
    return d, facts(d)


def _row(aid: str, d: m.Deployment, a: AlertIn, dk: bytes, now: datetime) -> m.Alert:
    aad = f"alerts:{aid}:"
    return m.Alert(
        id=aid,
        deployment_id=d.id,
        camera_id=a.camera_id,
        entry_id=a.entry_id,
        detected_at=a.detected_at,
        recorded_at=now,
        score=float(a.score),
        threshold=float(a.threshold),
        contract_id=a.contract_id,
        latency_ms=a.latency_ms,
        source_ref=a.source_ref,
        probe_enc=seal(dk, a.probe_jpeg, aad + "probe") if a.probe_jpeg else None,
        scene_enc=seal(dk, a.scene_jpeg, aad + "scene") if a.scene_jpeg else None,
        template_enc=seal(dk, rows.template_bytes(a.template), aad + "template")
        if a.template is not None
        else None,
        expires_at=retention.expires_at(now, d.retention_profile),
        status=AlertStatus.PENDING.value,
    )


def _entry(aid: str, deployment_id: str, a: AlertIn) -> Entry:
    return Entry(
        SYSTEM,
        "alert.record",
        f"alert:{aid}",
        after={
            "deployment": deployment_id,
            "camera": a.camera_id,
            "entry_id": a.entry_id,
            "score": round(float(a.score), 6),
            "threshold": a.threshold,
            "source_ref": a.source_ref,
            "probe_digest": a.template.digest() if a.template else None,
        },
    )


def _refused(deployment_id: str, a: AlertIn) -> Entry:
    return Entry(
        SYSTEM,
        "alert.refused",
        f"deployment:{deployment_id}",
        after={"camera": a.camera_id, "reason": "camera not on the whitelist"},
    )
