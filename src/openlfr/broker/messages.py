"""Wire formats (JSON) of what crosses the broker, and how an Alert becomes a sealed message.

In clear on the wire: routing ids only (alert, deployment, worker, camera) and timestamps. The
matched entry id, scores, crops, scene and probe template travel inside the sealed payload.
"""

from __future__ import annotations

import base64
import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from openlfr.broker.envelope import open_sealed_to, seal_to
from openlfr.broker.protocol import SIG, SigningKey, new_nonce, verify
from openlfr.errors import BrokerMessageError

WIRE_VERSION = 2  # 2: Ed25519 signatures with a time and a nonce (1: HMAC)

# A probe is fused from a handful of shots; anything more is not an honest worker's alert.
MAX_SHOT_CHIPS, MAX_SHOT_CHIP_BYTES = 8, 256 * 1024


def _b64(b: bytes | None) -> str | None:
    return None if b is None else base64.b64encode(b).decode()


def _unb64(s: str | None) -> bytes | None:
    return None if s is None else base64.b64decode(s)


def _chips(v: Any) -> list[bytes]:
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(c, str) for c in v):
        raise TypeError("shot_chips")
    return [_unb64(c) or b"" for c in v]


def _real(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True, slots=True)
class AlertPayload:
    """The sealed part of an alert: everything about the matched face."""

    subject_id: str
    score: float
    threshold: float
    contract_id: str
    frame_time: float
    raised_at: float
    frame_index: int
    media_s: float
    probe_jpeg: bytes = field(repr=False)
    scene_jpeg: bytes = field(repr=False)
    template: np.ndarray | None = field(default=None, repr=False)  # float32 unit vector
    template_contract: dict[str, Any] | None = None  # EmbeddingContract.to_dict() of `template`
    probe_face: dict[str, list[Any]] | None = None  # box and landmarks in the crop's pixels
    # The aligned chips (PNG) the probe was fused from, for the centre to re-embed exactly.
    shot_chips: list[bytes] = field(default_factory=list, repr=False)

    def to_bytes(self) -> bytes:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["probe_jpeg"] = _b64(self.probe_jpeg)
        d["scene_jpeg"] = _b64(self.scene_jpeg)
        d["template"] = (
            None if self.template is None else _b64(np.asarray(self.template, "<f4").tobytes())
        )
        d["shot_chips"] = [_b64(c) for c in self.shot_chips]
        return json.dumps(d).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> AlertPayload:
        """BrokerMessageError when a field is missing or not of its type: refused (and its
        refusal kept), where a TypeError further on would fail, and so retry, its whole batch."""
        try:
            d = json.loads(raw)
            t = _unb64(d.pop("template"))
            p = cls(
                **{
                    **d,
                    "probe_jpeg": _unb64(d["probe_jpeg"]) or b"",
                    "scene_jpeg": _unb64(d["scene_jpeg"]) or b"",
                    "template": None if t is None else np.frombuffer(t, "<f4").copy(),
                    "shot_chips": _chips(d.get("shot_chips")),
                }
            )
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise BrokerMessageError(f"not an alert payload: {type(e).__name__}") from None
        if bad := p._malformed():
            raise BrokerMessageError(f"alert payload fields of the wrong type: {', '.join(bad)}")
        return p

    def _malformed(self) -> list[str]:
        bad = [k for k in ("subject_id", "contract_id") if not isinstance(getattr(self, k), str)]
        bad += [k for k in ("score", "threshold", "media_s") if not _real(getattr(self, k))]
        # Times: a datetime must be made of them (year 1970 to 5138).
        bad += [k for k in ("frame_time", "raised_at")
                if not (_real(getattr(self, k)) and 0 <= getattr(self, k) < 1e11)]  # fmt: skip
        if not isinstance(self.frame_index, int) or isinstance(self.frame_index, bool):
            bad.append("frame_index")
        # (A malformed `probe_face` is not refused: the centre then finds the face itself.)
        if not isinstance(self.template_contract, dict | None):
            bad.append("template_contract")
        if len(self.shot_chips) > MAX_SHOT_CHIPS or any(
            len(c) > MAX_SHOT_CHIP_BYTES for c in self.shot_chips
        ):
            bad.append("shot_chips")
        return bad


@dataclass(frozen=True, slots=True)
class AlertMessage:
    alert_id: str
    deployment_id: str
    worker_id: str
    camera_id: str
    published_at: float
    sealed: bytes = field(repr=False)
    nonce: str = ""
    sig: str = ""  # Ed25519 by the worker's key over everything else

    def _body(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop(SIG)
        d["sealed"] = _b64(self.sealed)
        return {"v": WIRE_VERSION, "kind": "alert", **d}

    @property
    def sent_at(self) -> float:
        return self.published_at

    def signed(self, key: SigningKey) -> AlertMessage:
        msg = self if self.nonce else replace(self, nonce=new_nonce())
        return replace(msg, sig=key.sign(msg._body()))

    def verify(self, public_key: bytes | None) -> bool:
        return verify(public_key, {**self._body(), SIG: self.sig})

    @property
    def aad(self) -> str:
        """What the sealed payload is bound to: the ids in clear, so a payload moved under another
        alert, deployment or camera does not open."""
        return f"openlfr-alert:{self.deployment_id}:{self.alert_id}:{self.camera_id}"

    @classmethod
    def seal(
        cls,
        public_key: bytes,
        *,
        alert_id: str,
        deployment_id: str,
        worker_id: str,
        camera_id: str,
        payload: AlertPayload,
    ) -> AlertMessage:
        clear = cls(alert_id, deployment_id, worker_id, camera_id, time.time(), b"")
        return replace(clear, sealed=seal_to(public_key, payload.to_bytes(), clear.aad))

    def open(self, private_key: bytes) -> AlertPayload:
        return AlertPayload.from_bytes(open_sealed_to(private_key, self.sealed, self.aad))

    def to_bytes(self) -> bytes:
        return json.dumps({**self._body(), SIG: self.sig}).encode()


@dataclass(frozen=True, slots=True)
class CountersMessage:
    """Counter deltas of one camera run since the previous message (numbers only)."""

    msg_id: str  # run id + sequence number: the centre applies each once
    deployment_id: str
    worker_id: str
    camera_id: str
    frames: int
    faces: int
    final: bool = False
    summary: dict[str, Any] = field(default_factory=dict)  # counts of the run, on the final one
    sent_at: float = 0.0
    nonce: str = ""
    sig: str = ""

    def _body(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop(SIG)
        return {"v": WIRE_VERSION, "kind": "counters", **d}

    def signed(self, key: SigningKey) -> CountersMessage:
        msg = replace(self, sent_at=self.sent_at or time.time(), nonce=self.nonce or new_nonce())
        return replace(msg, sig=key.sign(msg._body()))

    def verify(self, public_key: bytes | None) -> bool:
        return verify(public_key, {**self._body(), SIG: self.sig})

    def to_bytes(self) -> bytes:
        return json.dumps({**self._body(), SIG: self.sig}).encode()


def parse_event(raw: bytes) -> AlertMessage | CountersMessage:
    """A message from the events stream; ValidationError when it is not one of ours."""
    try:
        d = json.loads(raw)
        if d.pop("v") != WIRE_VERSION:
            raise ValueError("wire version")
        kind = d.pop("kind")
        _check_ids(d)
        if kind == "alert":
            d["sealed"] = _unb64(d["sealed"])
            return AlertMessage(**d)
        if kind == "counters":
            return CountersMessage(**d)
        raise ValueError(f"kind {kind!r}")
    except (ValueError, KeyError, TypeError) as e:
        raise BrokerMessageError(f"not an OpenLFR broker event: {e}") from None


# The ledger's and the records' column sizes: an id longer than these is not one of ours (and,
# stored, would fail the whole batch's transaction again and again).
_ID_MAX = {"deployment_id": 32, "worker_id": 32, "camera_id": 100, "alert_id": 100, "msg_id": 100}


def _check_ids(d: dict[str, Any]) -> None:
    for k, n in _ID_MAX.items():
        if k in d and (not isinstance(d[k], str) or not 0 < len(d[k]) <= n):
            raise ValueError(f"{k} is not an id")


def dumps(d: dict[str, Any]) -> bytes:
    return json.dumps(d, separators=(",", ":")).encode()


def loads(raw: bytes) -> dict[str, Any]:
    try:
        d = json.loads(raw)
    except ValueError as e:
        raise BrokerMessageError(f"not JSON: {e}") from None
    if not isinstance(d, dict):
        raise BrokerMessageError("not a JSON object")
    return d
