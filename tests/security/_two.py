"""Two live deployments with different staff, each with a watchlist entry and an alert.

A: drafted and authorised by ao1, list by `compiler`, signed off by ao2, operators op1/op2.
B: drafted and authorised by aoB, list by `compiler2`, signed off by aoB2, operator opB.
"""

from __future__ import annotations

from dataclasses import dataclass

from openlfr.services.alerts import AlertIn
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.api._support import CAMERA
from tests.unit.governance._support import (
    MARKER,
    PASSWORD,
    TRAINED,
    World,
    approve_model,
    full_fields,
    proposal,
    settle_accounts,
    template,
)


@dataclass
class Side:
    dep: str
    entry: str
    alert: str
    photo: str = ""  # a further photo of the entry


@dataclass
class Two:
    a: Side
    b: Side


STAFF_B = (("aoB", "authorising_officer"), ("aoB2", "authorising_officer"), ("opB", "operator"))


def _side(w: World, ao: str, ao2: str, compiler: str, operators: list[str], seed: int) -> Side:
    svc = w.svc
    by = w.people[ao]
    dep = svc.deployments.create_deployment(
        by,
        f"Deployment of {ao}",
        **full_fields(cameras=[CAMERA], compiler=compiler, operators=operators, officers=[ao2]),
    )
    svc.deployments.authorise(by, dep)
    entry, _ = svc.watchlists.add_entry(
        w.people[compiler],
        dep,
        proposal(subject_ref=f"PND/{seed}"),
        template(seed),
        MARKER + bytes([seed]) * 40,
    )
    from datetime import date

    from openlfr.governance.watchlist import PhotoProposal

    photo, _ = svc.entry_photos.add_photo(
        w.people[compiler],
        entry,
        PhotoProposal(date(2025, 3, 1), 0.8),
        template(100 + seed),
        MARKER + bytes([seed]) * 41,
    )
    svc.watchlists.sign_off(w.people[ao2], dep)
    return Side(dep, entry, "", photo)


def two_deployments(w: World) -> Two:
    svc = w.svc
    for name, role in STAFF_B:
        w.people[name] = svc.accounts.create_user(w.admin, name, PASSWORD, [role])
    svc.training.record(w.admin, "opB", "LFR operator", *TRAINED)  # trained: may review
    settle_accounts(svc)
    approve_model(w)
    a = _side(w, "ao1", "ao2", "compiler", ["op1", "op2"], 1)
    b = _side(w, "aoB", "aoB2", "compiler2", ["opB"], 2)
    w.clock.advance(hours=1)
    for side, op in ((a, "op1"), (b, "opB")):
        svc.deployments.start(w.people[op], side.dep)
        side.alert = svc.alerts.record_alert(
            side.dep,
            AlertIn(
                camera_id=CAMERA,
                entry_id=side.entry,
                score=0.9,
                threshold=0.5,
                contract_id=MOCK_CONTRACT.id,
                detected_at=w.clock(),
                template=template(1 if side is a else 2),  # the listed person
                probe_jpeg=MARKER + b"probe",
            ),
        )
    return Two(a, b)
