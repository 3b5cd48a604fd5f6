"""A nats-server run from docs/nats-server.conf: mutual TLS and one nkey user per client.

The test makes its own CA, server and client certificates (`cryptography`) and nkey pairs
(`nkeys`), fills them into the documented config (paths, keys, one worker block per worker)
and starts nats-server on it. So the distributed tests run on the setup the docs prescribe,
and the security tests check what that very config refuses. Adding a worker rewrites the
config and reloads the server (SIGHUP), as an operator would.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import nkeys
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from openlfr.config.broker import BrokerSettings
from tests.nats_server import NatsServer

DOCS_CONF = Path(__file__).resolve().parents[1] / "docs" / "nats-server.conf"
WORKER_BLOCK = re.compile(r"^\s*# BEGIN worker block.*?# END worker block[^\n]*\n", re.S | re.M)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


class Pki:
    """A throw-away CA that signs the server's and each client's certificate."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name("openlfr test CA"))
            .issuer_name(_name("openlfr test CA"))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = root / "ca.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, cn: str, *, server: bool) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        b = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            b = b.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = b.sign(self.key, hashes.SHA256())
        cert_file, key_file = self.root / f"{cn}.pem", self.root / f"{cn}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key_file, key)
        return cert_file, key_file


def nkey_user(seed_file: Path) -> str:
    """A new user nkey: the seed written to `seed_file` (mode 600), the public key returned."""
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    seed_file.write_bytes(seed + b"\n")
    seed_file.chmod(0o600)
    return str(nkeys.from_seed(bytearray(seed)).public_key.decode())


class SecureNats(NatsServer):
    def __init__(self, root: Path) -> None:
        super().__init__(root / "jetstream")
        self.root = root
        self.pki = Pki(root / "pki")
        self.server_cert, self.server_key = self.pki.issue("nats-server", server=True)
        self.conf = root / "nats-server.conf"
        self.clients: dict[str, tuple[str, Path]] = {}  # name -> (public nkey, seed file)
        self.centre = self._client("centre")
        self.worker_ids: list[str] = []

    @property
    def url(self) -> str:
        return f"tls://127.0.0.1:{self.port}"

    def _client(self, name: str) -> BrokerSettings:
        if name not in self.clients:
            self.clients[name] = (nkey_user(self.root / f"{name}.nk"), self.root / f"{name}.nk")
            self.pki.issue(name, server=False)
        return self.settings(name)

    def settings(self, name: str) -> BrokerSettings:
        """What the docs give that client: the CA, its certificate and key, its nkey seed."""
        return BrokerSettings(
            url=self.url,
            ca_file=self.pki.ca_file,
            cert_file=self.pki.root / f"{name}.pem",
            key_file=self.pki.root / f"{name}.key",
            nkey_seed_file=self.clients[name][1],
        )

    def cli_args(self, name: str) -> list[str]:
        s = self.settings(name)
        return [
            "--broker", self.url, "--broker-ca", str(s.ca_file), "--broker-cert",
            str(s.cert_file), "--broker-key", str(s.key_file), "--broker-nkey-seed",
            str(s.nkey_seed_file),
        ]  # fmt: skip

    def add_worker(self, worker_id: str) -> BrokerSettings:
        """A worker block in the config for this worker id, and a reload if running."""
        s = self._client(worker_id)
        if worker_id not in self.worker_ids:
            self.worker_ids.append(worker_id)
            if self.proc is not None and self.proc.poll() is None:
                self._write_conf()
                self.proc.send_signal(signal.SIGHUP)
                self._wait_reloaded(worker_id)
        return s

    def _wait_reloaded(self, worker_id: str) -> None:
        from openlfr.broker.auth import worker_inbox
        from openlfr.broker.client import BrokerClient
        from openlfr.errors import BrokerError

        deadline = time.monotonic() + 15
        while True:
            c = BrokerClient.from_settings(
                self.settings(worker_id), name="reload-probe", inbox_prefix=worker_inbox(worker_id)
            )
            c.connect_timeout_s = 2.0
            try:
                c.start(stream=False)
                c.close(0)
                return
            except BrokerError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def render(self) -> str:
        text = DOCS_CONF.read_text()
        m = WORKER_BLOCK.search(text)
        assert m, "docs/nats-server.conf lost its worker block markers"
        blocks = "".join(
            m.group(0).replace("WORKER_NKEY", self.clients[w][0]).replace("WORKER_ID", w)
            for w in self.worker_ids
        )
        text = text[: m.start()] + blocks + text[m.end() :]
        for a, b in {
            '"0.0.0.0:4222"': f'"127.0.0.1:{self.port}"',
            "/etc/nats/server.pem": str(self.server_cert),
            "/etc/nats/server.key": str(self.server_key),
            "/etc/nats/ca.pem": str(self.pki.ca_file),
            "/var/lib/nats/jetstream": str(self.store),
            "max_file_store: 50G": "max_file_store: 1G",
            "CENTRE_NKEY": self.clients["centre"][0],
        }.items():
            assert a in text, f"docs/nats-server.conf has no {a!r} any more"
            text = text.replace(a, b)
        return text

    def _write_conf(self) -> None:
        self.conf.write_text(self.render())

    def start(self) -> SecureNats:
        self.store.mkdir(parents=True, exist_ok=True)
        self._write_conf()
        log = (self.root / "nats-server.log").open("ab")
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
        )
        self._wait_listening(self.root / "nats-server.log")
        return self


class PasswordNats(NatsServer):
    """Users and passwords, no TLS: the simplest login nats-server has (and the one that
    tempts people to put the password in the URL)."""

    def __init__(self, root: Path, users: dict[str, str]) -> None:
        super().__init__(root / "jetstream")
        self.root, self.users = root, users

    def start(self) -> PasswordNats:
        self.root.mkdir(parents=True, exist_ok=True)
        users = ", ".join(f'{{user: "{u}", password: "{p}"}}' for u, p in self.users.items())
        conf = self.root / "nats-server.conf"
        conf.write_text(
            f'listen: "127.0.0.1:{self.port}"\njetstream {{ store_dir: "{self.store}" }}\n'
            f"authorization {{ users: [ {users} ] }}\n"
        )
        conf.chmod(0o600)
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_listening()
        return self


@pytest.fixture
def secure_nats(tmp_path: Path):  # type: ignore[no-untyped-def]
    srv = SecureNats(tmp_path / "nats").start()
    try:
        yield srv
    finally:
        srv.kill(signal.SIGTERM)
