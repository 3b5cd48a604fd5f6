"""Read models the operator console and API need on top of the service rooms.

Everything here reuses the governance rules (`openlfr.governance.*`) and the rooms' own
transaction plumbing; nothing re-implements a rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from openlfr.governance import deployment as dep_rules
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import DeploymentState
from openlfr.services import access, entry_photos, rows
from openlfr.services.access import Access
from openlfr.services.governance import GovernanceService


@dataclass(frozen=True, slots=True)
class Readiness:
    deployment_id: str
    state: str
    missing: list[str]  # what stops `by` authorising it now (empty: ready)
    expected_false_alerts_at_cap: float | None
    expected_false_alerts_now: float | None
    watchlist_size: int
    # Beside the false alerts (issue 11): the expected share of listed people found if they
    # pass a camera, for the list as it stands (single-photo assumed while it is empty).
    expected_hit_rate_now: float | None
    single_photo_entries: int
    # The lowest threshold this list may run without a second officer, and what bound it (the
    # FPIR calibration for its size and photo count, or the effect-size fairness floor).
    threshold_floor: float | None = None
    threshold_bound_by: str = ""


def readiness(svc: GovernanceService, by: Actor, deployment_id: str) -> Readiness:
    """What an authorising officer sees before authorising: the same checks `authorise` runs."""
    with svc.ctx.tx() as s:
        d = rows.deployment(s, deployment_id)
        access.require(by, d, Access.EDIT)
        f = rows.facts(d)
        approval = rows.approval(s, d.model_contract_id)
        missing = (
            dep_rules.authorisation_problems(f, by, approval, svc.ctx.now())
            if f.state == DeploymentState.DRAFT
            else []
        )
        at_cap = None
        if approval is not None and d.threshold is not None and d.expected_faces is not None:
            try:
                at_cap = approval.expected_false_alerts(
                    d.expected_faces, d.watchlist_size_cap, d.threshold
                )
            except ValueError:
                at_cap = None
        size = rows.watchlist_size(s, d.id)
        hp = entry_photos.deployment_projection(svc.ctx, s, d)
        floor: tuple[float | None, str] = (None, "")
        if approval is not None:
            photos = max(entry_photos.photo_counts(s, d.id).values(), default=1)
            floor = approval.deployment_floor(size or d.watchlist_size_cap, photos)
    return Readiness(
        deployment_id,
        d.state,
        missing,
        at_cap,
        svc.watchlists.projected_false_alerts(deployment_id),
        size,
        hp.rate if hp else None,
        hp.single_photo_entries if hp else 0,
        *floor,
    )


def live_deployment_ids(svc: GovernanceService) -> list[str]:
    return [
        d["id"] for d in svc.deployments.deployments() if d["state"] == DeploymentState.LIVE.value
    ]


def approved_models(svc: GovernanceService) -> list[str]:
    """Contract ids of the models whose approval a second person countersigned: the only ones
    a draft may choose (the authorisation refuses the rest)."""
    from sqlalchemy import select

    from openlfr.storage import models as m

    row = m.ModelApprovalRow
    q = select(row.contract_id).where(row.countersigned_by.is_not(None))
    with svc.ctx.tx() as s:
        return sorted(s.execute(q).scalars())
