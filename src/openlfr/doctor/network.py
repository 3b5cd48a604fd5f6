"""Network checks: the broker (reachable, credentials accepted, JetStream on) and the clock
against the centre's."""

from __future__ import annotations

import asyncio
import socket
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from openlfr.doctor.findings import Finding, Level, ok, skip
from openlfr.errors import OpenLFRError

# Alerts carry the worker's time and the lease counts the centre's silence: beyond these the
# record and the lease drift. The Date header has 1 s resolution, so less is not measurable.
SKEW_WARN_S = 2.0
SKEW_FAIL_S = 30.0


def broker_credentials(
    nats_creds: Path | None = None, nats_ca: Path | None = None
) -> dict[str, Any]:
    """Connect options for nats-py from the same broker settings `serve` and `worker` log in
    with (config/broker.py: the [broker] table, OPENLFR_BROKER__*), read afresh so a fixed
    environment is seen at once; the worker table's nats_creds / nats_ca stand in for the
    broker table's creds_file / ca_file where it gives none."""
    from openlfr.broker.auth import connect_options
    from openlfr.config.settings import Settings

    st = Settings().broker
    extra: dict[str, Any] = {}
    if nats_creds is not None and st.creds_file is None:
        extra["creds_file"] = nats_creds
    if nats_ca is not None and st.ca_file is None:
        extra["ca_file"] = nats_ca
    if extra:
        st = st.model_copy(update=extra)
    return connect_options(st)


def _host_port(url: str) -> tuple[str, int]:
    first = url.split(",")[0].strip()
    u = urlsplit(first if "://" in first else "nats://" + first)
    return u.hostname or "127.0.0.1", u.port or 4222


async def _nats_probe(url: str, opts: dict[str, Any], timeout: float) -> str | None:
    """None when connected (and JetStream answered); else what went wrong, one word or two."""
    import nats
    from nats.errors import Error as NatsError

    errors: list[BaseException] = []

    async def on_error(e: Exception) -> None:
        errors.append(e)

    try:
        nc = await nats.connect(
            [u.strip() for u in url.split(",") if u.strip()],
            connect_timeout=timeout,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=on_error,
            name="openlfr-doctor",
            **opts,
        )
    except (NatsError, OSError, TimeoutError) as e:
        errors.append(e)
        text = " ".join(f"{type(x).__name__} {x}" for x in errors).lower()
        return "credentials" if "authoriz" in text or "authentic" in text else "connect"
    try:
        await nc.jetstream().account_info()
    except (NatsError, TimeoutError):
        return "jetstream"
    finally:
        await nc.close()
    return None


def check_broker(url: str | None, *, timeout: float = 3.0, **credentials: Any) -> list[Finding]:
    from openlfr.safelog import redact_url

    if not url:
        return [skip("broker", "no broker configured (in-process cameras)")]
    shown = redact_url(url)
    host, port = _host_port(url)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        return [
            Finding(
                "broker",
                Level.FAIL,
                "broker-unreachable",
                f"nothing answers at {host}:{port} ({e.strerror or type(e).__name__})",
                "start nats-server (systemctl status nats-server), check the URL and "
                "that the firewall lets this machine reach the port",
            )
        ]
    try:
        opts = broker_credentials(**credentials)
    except OSError as e:
        return [
            Finding(
                "broker",
                Level.FAIL,
                "broker-credentials",
                f"cannot read a broker credential file ({e.strerror})",
                "check the path and that the service user may read it",
            )
        ]
    except OpenLFRError as e:  # inconsistent or missing broker settings (a typed error)
        return [
            Finding(
                "broker",
                Level.FAIL,
                "broker-credentials",
                f"the broker login settings are not usable: {e}",
                "give a user with its password, an nkey seed or a .creds file ([broker] table, "
                "OPENLFR_BROKER__*)",
            )
        ]
    why = asyncio.run(_nats_probe(url, opts, timeout))
    if why == "credentials":
        return [
            Finding(
                "broker",
                Level.FAIL,
                "broker-credentials",
                f"{shown} refused this process's credentials",
                "check the user and password (or .creds file) against the broker's "
                "accounts in nats-server.conf",
            )
        ]
    if why == "connect":
        return [
            Finding(
                "broker",
                Level.FAIL,
                "broker-handshake",
                f"{host}:{port} accepts connections but the NATS handshake failed",
                "is it a NATS server, and does it want TLS (nats_ca)?",
            )
        ]
    if why == "jetstream":
        return [
            Finding(
                "broker",
                Level.FAIL,
                "broker-no-jetstream",
                f"{shown} answers but JetStream is off or not allowed to this user",
                "enable JetStream in nats-server.conf (jetstream { store_dir: ... })",
            )
        ]
    return [ok("broker", f"{shown}: connected, credentials accepted, JetStream on")]


def check_clock(centre: str | None, verify: Any = True, timeout: float = 5.0) -> list[Finding]:
    """This machine's clock against the centre's (the HTTP Date header of /healthz)."""
    if not centre:
        return [skip("clock", "no centre configured (this is the centre)")]
    import httpx

    out: list[Finding] = []
    if urlsplit(centre).scheme == "http" and urlsplit(centre).hostname not in (
        "127.0.0.1",
        "localhost",
        "::1",
    ):
        out.append(
            Finding(
                "clock",
                Level.WARN,
                "centre-plain-http",
                f"{centre} is plain HTTP: the worker token crosses the network readable",
                "put the centre behind TLS (deploy/Caddyfile) and use https://",
            )
        )
    try:
        t0 = time.time()
        r = httpx.get(centre.rstrip("/") + "/healthz", timeout=timeout, verify=verify)
        t1 = time.time()
    except httpx.HTTPError as e:
        return [
            *out,
            Finding(
                "clock",
                Level.FAIL,
                "centre-unreachable",
                f"cannot reach the centre at {centre} ({type(e).__name__})",
                "check the URL, the centre's service and the TLS CA (centre_ca)",
            ),
        ]
    date = r.headers.get("date")
    if not date:
        return [
            *out,
            Finding("clock", Level.WARN, "clock-unknown", "the centre sent no Date header", ""),
        ]
    skew = parsedate_to_datetime(date).timestamp() + 0.5 - (t0 + t1) / 2
    if abs(skew) > SKEW_FAIL_S:
        level, code = Level.FAIL, "clock-skew"
    elif abs(skew) > SKEW_WARN_S:
        level, code = Level.WARN, "clock-skew"
    else:
        return [*out, ok("clock", f"within {SKEW_WARN_S:.0f} s of the centre")]
    return [
        *out,
        Finding(
            "clock",
            level,
            code,
            f"the centre's clock is {skew:+.0f} s from this machine's",
            "run NTP on both machines (timedatectl set-ntp true)",
        ),
    ]
