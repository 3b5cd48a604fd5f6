"""Envelope encryption: per-deployment data keys, wrapped by one master key.

Biometric blobs (templates, watchlist images, alert crops) are sealed with AES-256-GCM under a
data key of their deployment and purpose; the data key is stored only wrapped by the master key.
Deleting a wrapped data key makes every copy of what it sealed unreadable, backups included
(crypto-shredding). The associated data binds each blob to its row so blobs cannot be swapped.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openlfr.errors import KeyUnavailableError

MASTER_KEY_ENV = "OPENLFR_MASTER_KEY"
_NONCE = 12
_VERSION = b"\x01"


def generate_key_file(path: Path) -> Path:
    """Write a new random master key (base64) readable by the owner only; never overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    return path


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise KeyUnavailableError("master key is not valid base64", source=where) from None
    if len(key) != 32:
        raise KeyUnavailableError(f"master key must be 32 bytes, got {len(key)}", source=where)
    return key


class MasterKey:
    """The key-encrypting key. Loaded from env OPENLFR_MASTER_KEY, else from the key file."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._hkdf_ikm = key

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for another purpose (e.g. the audit chain), independent of this one."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"openlfr {purpose}".encode()
        ).derive(self._hkdf_ikm)

    @classmethod
    def load(cls, key_file: Path | None) -> MasterKey:
        env = os.environ.get(MASTER_KEY_ENV)
        if env:
            return cls(_decode_key(env, MASTER_KEY_ENV))
        if key_file is not None and key_file.is_file():
            return cls(_decode_key(key_file.read_text(), str(key_file)))
        raise KeyUnavailableError(
            f"no master key: set {MASTER_KEY_ENV} or create the key file with `openlfr keys init`",
            source=str(key_file) if key_file else None,
        )

    def wrap(self, data_key: bytes, label: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, data_key, b"dk:" + label.encode())

    def unwrap(self, wrapped: bytes, label: str) -> bytes:
        try:
            return self._aead.decrypt(
                wrapped[1 : 1 + _NONCE], wrapped[1 + _NONCE :], b"dk:" + label.encode()
            )
        except InvalidTag:
            raise KeyUnavailableError(
                "data key does not open with this master key", source=label
            ) from None


def load_key_text(env: str, key_file: Path | None) -> bytes | None:
    """A 32-byte base64 key from env `env`, else from `key_file`; None when neither exists."""
    if os.environ.get(env):
        return _decode_key(os.environ[env], env)
    if key_file is not None and key_file.is_file():
        return _decode_key(key_file.read_text(), str(key_file))
    return None


def write_key_file(path: Path, key: bytes) -> None:
    """Replace `path` atomically with `key` (owner-readable only), fsynced before the rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(key).decode() + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(data_key: bytes, plaintext: bytes, aad: str) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return _VERSION + nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad.encode())


def open_sealed(data_key: bytes, blob: bytes, aad: str) -> bytes:
    try:
        return AESGCM(data_key).decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad.encode())
    except InvalidTag:
        raise KeyUnavailableError("blob does not open with its data key", source=aad) from None
