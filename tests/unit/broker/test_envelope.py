from __future__ import annotations

import os

import numpy as np
import pytest

from openlfr.broker.envelope import open_sealed_to, public_key_of, seal_to
from openlfr.broker.messages import AlertMessage, AlertPayload, CountersMessage, parse_event
from openlfr.errors import BrokerMessageError, KeyUnavailableError


def _payload() -> AlertPayload:
    v = np.random.default_rng(0).standard_normal(128).astype(np.float32)
    return AlertPayload(
        subject_id="entry1",
        score=0.61,
        threshold=0.4,
        contract_id="sface",
        frame_time=1.0,
        raised_at=1.2,
        frame_index=7,
        media_s=0.28,
        probe_jpeg=b"\xff\xd8PROBE-FACE-BYTES",
        scene_jpeg=b"\xff\xd8SCENE-BYTES",
        template=v / np.linalg.norm(v),
    )


def test_seal_round_trip_and_binding() -> None:
    priv = os.urandom(32)
    pub = public_key_of(priv)
    blob = seal_to(pub, b"secret face", "aad-1")
    assert b"secret face" not in blob
    assert open_sealed_to(priv, blob, "aad-1") == b"secret face"
    with pytest.raises(KeyUnavailableError):
        open_sealed_to(priv, blob, "aad-2")  # bound to its alert
    with pytest.raises(KeyUnavailableError):
        open_sealed_to(os.urandom(32), blob, "aad-1")  # another deployment's key
    with pytest.raises(KeyUnavailableError):
        open_sealed_to(priv, b"\x01short", "aad-1")


def test_alert_message_keeps_the_face_sealed() -> None:
    priv = os.urandom(32)
    p = _payload()
    msg = AlertMessage.seal(
        public_key_of(priv),
        alert_id="a" * 32,
        deployment_id="dep1",
        worker_id="w1",
        camera_id="cam1",
        payload=p,
    )
    wire = msg.to_bytes()
    for clear in (b"PROBE-FACE-BYTES", b"SCENE-BYTES", b"entry1", p.template.tobytes()[:16]):
        assert clear not in wire
    back = parse_event(wire)
    assert isinstance(back, AlertMessage)
    opened = back.open(priv)
    assert opened.probe_jpeg == p.probe_jpeg and opened.subject_id == "entry1"
    assert opened.template is not None
    np.testing.assert_array_equal(opened.template, p.template)
    # A message re-addressed to another camera does not open (the ids are bound in).
    forged = AlertMessage(msg.alert_id, msg.deployment_id, "w1", "cam2", 0.0, msg.sealed)
    with pytest.raises(KeyUnavailableError):
        forged.open(priv)


def test_parse_event_refuses_foreign_messages() -> None:
    c = CountersMessage("r:1", "dep1", "w1", "cam1", frames=10, faces=2)
    assert parse_event(c.to_bytes()) == c
    for bad in (b"nope", b'{"v": 2, "kind": "alert"}', b'{"v": 1, "kind": "other"}'):
        with pytest.raises(BrokerMessageError):
            parse_event(bad)


def test_ids_longer_than_the_ledger_holds_are_not_events() -> None:
    """A signed message with an over-long id would fail its batch's commit on every redelivery
    (a poison message): it is refused at parsing and dropped instead."""
    import json

    import pytest

    from openlfr.broker.messages import CountersMessage, parse_event
    from openlfr.errors import BrokerMessageError

    ok = CountersMessage("run:1", "d" * 12, "w" * 32, "cam-1", 1, 0)
    assert parse_event(ok.to_bytes()).msg_id == "run:1"
    for field, value in (("deployment_id", "d" * 33), ("msg_id", "m" * 101), ("worker_id", 7)):
        raw = json.loads(ok.to_bytes())
        raw[field] = value
        with pytest.raises(BrokerMessageError):
            parse_event(json.dumps(raw).encode())
