"""From `BrokerSettings` to nats-py connect options: the one place both sides log in.

Each client also gets its own inbox prefix (`_INBOX.<client>`), so the broker can let a worker
subscribe to its own replies (JetStream publish acks) and nobody else's: with the default
`_INBOX.>` any client could read the replies the centre's JetStream requests get, which carry
the very messages it pulls.
"""

from __future__ import annotations

import ssl
from typing import Any

from openlfr.config.broker import BrokerSettings
from openlfr.errors import BrokerError

CENTRE_INBOX = "_INBOX.centre"


def worker_inbox(worker_id: str) -> str:
    return f"_INBOX.{worker_id}"


def tls_context(s: BrokerSettings) -> ssl.SSLContext:
    """Verifies the broker against `ca_file` (else the system's CAs); presents this client's
    certificate when one is configured."""
    try:
        ctx = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(s.ca_file) if s.ca_file else None
        )
        if s.cert_file is not None and s.key_file is not None:
            ctx.load_cert_chain(str(s.cert_file), str(s.key_file))
    except (OSError, ssl.SSLError) as e:
        # The paths, never the files' contents.
        what = ", ".join(str(p) for p in (s.ca_file, s.cert_file, s.key_file) if p)
        raise BrokerError(f"cannot load the TLS files ({type(e).__name__})", source=what) from None
    return ctx


def connect_options(s: BrokerSettings, *, inbox_prefix: str | None = None) -> dict[str, Any]:
    """Keyword arguments for `nats.connect` (besides servers and callbacks)."""
    problems = s.problems()
    if problems:
        raise BrokerError("; ".join(problems))
    opts: dict[str, Any] = {}
    if s.tls:
        opts["tls"] = tls_context(s)
        if s.tls_hostname:
            opts["tls_hostname"] = s.tls_hostname
    for path in (s.nkey_seed_file, s.creds_file, s.password_file):
        if path is not None and not path.is_file():
            raise BrokerError("no such file", source=str(path))
    if s.nkey_seed_file is not None:
        opts["nkeys_seed"] = str(s.nkey_seed_file)
    elif s.creds_file is not None:
        opts["user_credentials"] = str(s.creds_file)
    elif s.user:
        opts["user"] = s.user
        password = s.password_value()
        if password is not None:
            opts["password"] = password
    if inbox_prefix is not None:
        opts["inbox_prefix"] = inbox_prefix
    return opts


def require_url(s: BrokerSettings) -> str:
    if not s.urls:
        raise BrokerError("no broker URL (--broker or OPENLFR_BROKER__URL)")
    return ",".join(s.urls)
