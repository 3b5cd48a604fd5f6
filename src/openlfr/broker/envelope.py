"""End-to-end sealing of alert payloads from the worker to the centre.

Each deployment has an X25519 key pair; the centre keeps the private half (wrapped by the master
key, like every data key) and hands workers the public half. A worker seals each alert to it
(ephemeral X25519, HKDF-SHA256, AES-256-GCM, bound to the alert id and deployment), so neither
the broker, its disk, nor a stolen worker can open an alert once published; only the centre can.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from openlfr.errors import KeyUnavailableError

_VERSION = b"\x01"
_NONCE = 12
_PUB = 32
_INFO = b"openlfr alert transport v1"


def public_key_of(private_key: bytes) -> bytes:
    """The raw 32-byte public key for a raw 32-byte private key (any 32 random bytes)."""
    return (
        X25519PrivateKey.from_private_bytes(private_key)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def _kek(shared: bytes, eph_pub: bytes, recipient_pub: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=eph_pub + recipient_pub, info=_INFO).derive(shared)


def seal_to(recipient_public_key: bytes, plaintext: bytes, aad: str) -> bytes:
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    key = _kek(
        eph.exchange(X25519PublicKey.from_public_bytes(recipient_public_key)),
        eph_pub,
        recipient_public_key,
    )
    nonce = secrets.token_bytes(_NONCE)
    return _VERSION + eph_pub + nonce + AESGCM(key).encrypt(nonce, plaintext, aad.encode())


def open_sealed_to(private_key: bytes, blob: bytes, aad: str) -> bytes:
    if len(blob) < 1 + _PUB + _NONCE + 16 or blob[:1] != _VERSION:
        raise KeyUnavailableError("not a sealed alert payload", source=aad)
    eph_pub = blob[1 : 1 + _PUB]
    nonce = blob[1 + _PUB : 1 + _PUB + _NONCE]
    priv = X25519PrivateKey.from_private_bytes(private_key)
    key = _kek(
        priv.exchange(X25519PublicKey.from_public_bytes(eph_pub)),
        eph_pub,
        public_key_of(private_key),
    )
    try:
        return AESGCM(key).decrypt(nonce, blob[1 + _PUB + _NONCE :], aad.encode())
    except InvalidTag:
        raise KeyUnavailableError("sealed alert does not open with this key", source=aad) from None
