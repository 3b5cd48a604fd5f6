"""Who may say what on the broker: worker tokens, Ed25519 signatures, freshness, control.

Shared by the worker and the centre, so a worker at the camera needs nothing of `services/`
or `storage/`. Each worker generates an Ed25519 key pair when it enrols and keeps the private
half; the centre stores only the public half, so neither its database nor a copy of it can
sign as a worker (an HMAC key the centre could check would be a key the database holds). The
centre signs control messages with its own key, whose public half it hands the worker when it
enrols, so nobody else on the broker can stop, refresh or "revoke" a worker.

Every signed body carries a time and a nonce: the receiver refuses what is outside its window,
and the centre's ledger (alerts, counters) or the last time seen (heartbeats, control) makes
a second copy of the same message worthless.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from openlfr.errors import WorkerAuthError

TOKEN_PREFIX = "olw_"
SIG = "sig"  # the field a signed body's signature travels in
CLOCK_SKEW_S = 30.0  # how far ahead of the receiver's clock a sender's may be
CONTROL_MAX_AGE_S = 60.0


def parse_token(token: str) -> tuple[str, str]:
    """`olw_<worker id>_<secret>` -> (worker id, secret); WorkerAuthError otherwise."""
    if not token.startswith(TOKEN_PREFIX):
        raise WorkerAuthError("not a worker token")
    wid, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if len(wid) != 32 or not secret:
        raise WorkerAuthError("not a worker token")
    return wid, secret


def new_nonce() -> str:
    return secrets.token_hex(12)


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


class SigningKey:
    """An Ed25519 private key: a worker's (generated at enrolment) or the centre's."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        return cls(Ed25519PrivateKey.from_private_bytes(seed[:32]))

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """The key in `path` (raw 32-byte seed, base64), or a new one written there (0600)."""
        if path.exists():
            try:
                return cls.from_seed(base64.b64decode(path.read_text().strip(), validate=True))
            except ValueError:
                raise WorkerAuthError(
                    "the worker key file is not a key", source=path.name
                ) from None
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(key.seed).decode() + "\n")
        return key

    @property
    def seed(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    @property
    def public(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def sign(self, body: dict[str, Any]) -> str:
        """The signature (base64) of `body` without its own `sig` field."""
        clean = {k: v for k, v in body.items() if k != SIG}
        return base64.b64encode(self._key.sign(canonical(clean))).decode()

    def __repr__(self) -> str:  # never the key itself
        return f"SigningKey(public={self.public.hex()[:16]}...)"


def verify(public_key: bytes | None, body: dict[str, Any]) -> bool:
    """True when `body[sig]` is the signature of the rest of `body` by `public_key`."""
    sig = body.get(SIG)
    if not public_key or not isinstance(sig, str) or not sig:
        return False
    clean = {k: v for k, v in body.items() if k != SIG}
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            base64.b64decode(sig, validate=True), canonical(clean)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def is_fresh(sent_at: Any, now: float, max_age_s: float, skew_s: float = CLOCK_SKEW_S) -> bool:
    """Sent within the last `max_age_s` (and not from further ahead than the clocks may differ)."""
    if not isinstance(sent_at, int | float) or isinstance(sent_at, bool):
        return False
    return now - max_age_s <= float(sent_at) <= now + skew_s


# -- control: centre -> worker ---------------------------------------------------------------


def control_message(
    key: SigningKey,
    worker_id: str,
    action: str,
    deployment_id: str | None,
    *,
    at: float | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "control",
        "worker_id": worker_id,
        "action": action,
        "deployment_id": deployment_id,
        "at": time.time() if at is None else at,
        "nonce": new_nonce(),
    }
    return {**body, SIG: key.sign(body)}


class ControlVerifier:
    """The worker's check of a control message: signed by the centre's key, for this worker,
    recent, and not seen before (a replayed "stop" or "revoked" is ignored)."""

    def __init__(self, worker_id: str, max_age_s: float = CONTROL_MAX_AGE_S) -> None:
        self.worker_id, self.max_age_s = worker_id, max_age_s
        self.centre_key: bytes | None = None  # set at enrolment
        self._seen: OrderedDict[str, None] = OrderedDict()

    def accept(self, msg: dict[str, Any], now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if (
            msg.get("kind") != "control"
            or msg.get("worker_id") != self.worker_id
            or not verify(self.centre_key, msg)
            or not is_fresh(msg.get("at"), now, self.max_age_s)
        ):
            return False
        nonce = str(msg.get("nonce"))
        if nonce in self._seen:
            return False
        self._seen[nonce] = None
        while len(self._seen) > 4096:  # older ones are outside the window anyway
            self._seen.popitem(last=False)
        return True
