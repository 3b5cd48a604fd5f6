"""Finding 7: a copy of the database forged worker messages: the message key was SHA-256 of the
token secret, which is exactly the stored `token_digest`. Now a worker signs with an Ed25519
key it made itself and the centre stores only the public half; the centre's control key is a
data key wrapped by the master key. Whoever holds every byte of the database can sign neither.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from openlfr.broker.protocol import ControlVerifier, SigningKey, canonical, control_message
from openlfr.errors import PermissionDeniedError, WorkerAuthError
from openlfr.services.ingest import Ingestor
from openlfr.storage import models as m
from openlfr.storage import models_workers as mw
from tests.security._edge import Edge, edge, heartbeat
from tests.unit.governance._support import World


@pytest.fixture
def e(w: World) -> Edge:
    return edge(w)


def _db_bytes(w: World) -> bytes:
    assert w.url.startswith("sqlite:///")
    return Path(w.url.removeprefix("sqlite:///")).read_bytes()


def test_the_database_holds_nothing_that_signs(e: Edge, w: World) -> None:
    raw = _db_bytes(w)
    assert e.key.seed not in raw and e.key.seed.hex().encode() not in raw
    assert e.key.public.hex().encode() in raw  # only the public half is there
    secret = e.token.rsplit("_", 1)[1]
    assert secret.encode() not in raw


def test_what_a_database_copy_can_make_is_refused(e: Edge, w: World) -> None:
    with w.svc.ctx.factory() as s:
        row = s.get(mw.Worker, e.wid)
        assert row is not None
        digest, pub = row.token_digest, row.public_key
        wrapped = s.execute(
            select(m.DataKey.wrapped).where(m.DataKey.deployment_id == "centre")
        ).scalar_one()
    ing = Ingestor(w.svc)
    body = e.alert()
    # The old scheme: an HMAC keyed with the stored digest.
    old_mac = hmac.new(digest.encode(), canonical(body._body()), hashlib.sha256).hexdigest()
    attempts = [
        replace(body, sig=old_mac),
        body.signed(SigningKey.from_seed(hashlib.sha256(digest.encode()).digest())),
        body.signed(SigningKey.from_seed(bytes.fromhex(digest))),
        body.signed(SigningKey.from_seed(bytes.fromhex(str(pub)))),
    ]
    for forged in attempts:
        with pytest.raises(PermissionDeniedError, match="not signed"):
            ing(forged, False)
        assert not e.ws.heartbeat(
            e.wid, heartbeat(SigningKey.from_seed(bytes.fromhex(digest)), e.wid)
        )
    assert e.alerts_recorded() == 0
    # The digest is not the token: it opens no worker route.
    with pytest.raises(WorkerAuthError):
        e.ws.authenticate(f"olw_{e.wid}_{digest}")
    # Control: the wrapped control key, used as a key, signs nothing a worker accepts.
    v = ControlVerifier(e.wid)
    v.centre_key = e.ws.centre_public_key()
    fake = control_message(SigningKey.from_seed(wrapped[-32:]), e.wid, "revoked", None)
    assert not v.accept(json.loads(json.dumps(fake)))
    assert v.accept(e.ws.control_message(e.wid, "revoked", None))  # the centre's own does
