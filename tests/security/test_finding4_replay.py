"""Finding 4: a worker's signed alert refused while it was unassigned was recorded after it was
re-assigned, re-published under a new broker message id (refusals were acked with no ledger
row, and the message's time was never checked). Now an authentic refusal is kept in the same
ledger as acceptances, a replay of it is refused, and a message outside its window is refused.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from openlfr.broker.messages import parse_event
from openlfr.errors import PermissionDeniedError
from openlfr.services.ingest import Ingestor
from openlfr.storage import models_workers as mw
from tests.security._edge import Edge, edge
from tests.unit.governance._support import World


@pytest.fixture
def e(w: World) -> Edge:
    return edge(w)


def test_a_refused_alert_replayed_after_reassignment_is_refused(e: Edge) -> None:
    ao1 = e.w.people["ao1"]
    ing = Ingestor(e.w.svc)
    e.ws.unassign(ao1, e.wid, e.two.a.dep)
    msg = e.alert()
    with pytest.raises(PermissionDeniedError, match="not assigned"):
        ing(msg, False)
    with e.w.svc.ctx.factory() as s:
        row = s.get(mw.IngestedEvent, msg.alert_id)
        assert row is not None and row.outcome.startswith("refused") and row.ref is None
    e.ws.assign(ao1, e.wid, e.two.a.dep)
    # The attacker re-publishes the very bytes (a new Nats-Msg-Id changes nothing inside).
    replayed = parse_event(msg.to_bytes())
    with pytest.raises(PermissionDeniedError, match="already refused"):
        ing(replayed, False)
    assert e.alerts_recorded() == 0
    # A fresh alert from the re-assigned worker is recorded; its replay is a duplicate.
    fresh = e.alert()
    assert ing(fresh, False) == "recorded"
    assert ing(parse_event(fresh.to_bytes()), True) == "duplicate"
    assert e.alerts_recorded() == 1


def test_a_message_outside_its_window_is_refused(e: Edge) -> None:
    ing = Ingestor(e.w.svc, max_age_s=3600)
    old = e.alert()
    old = replace(old, published_at=time.time() - 7200).signed(e.key)  # re-signed: authentic
    with pytest.raises(PermissionDeniedError, match="time window"):
        ing(old, False)
    ahead = replace(e.alert(), published_at=time.time() + 600).signed(e.key)
    with pytest.raises(PermissionDeniedError, match="time window"):
        ing(ahead, False)
    assert e.alerts_recorded() == 0


def test_a_forged_copy_cannot_pre_empt_a_real_alert(e: Edge) -> None:
    """A message that is not authentic leaves no ledger row: publishing a forged copy of a
    real alert's id first does not make the real one a 'duplicate'."""
    ing = Ingestor(e.w.svc)
    real = e.alert()
    forged = replace(real, sig="")
    with pytest.raises(PermissionDeniedError, match="signed"):
        ing(forged, False)
    assert ing(real, False) == "recorded"
