"""Readiness (`/readyz`): what must hold for this centre to do its job, each with a reason.

Liveness (`/healthz`) only says the process answers. Ready means: the database answers, the
master key is loaded, the retention job's thread runs, and with a broker, the link is up (not
in a broker gap), the durable consumer exists and the link's loop turns. The reasons are words
about this process, never a secret, a URL or an identity.

The status code is public (a load balancer needs it); the checks and their reasons only go to
`may_see_reasons`: someone on the network should not learn which part of the centre is down.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from typing import Any

from sqlalchemy import text
from starlette.requests import Request

from openlfr.api.deps import get_ctx, grant_of
from openlfr.governance.vocab import Role
from openlfr.services.governance import GovernanceService

# Set by a reverse proxy: a request carrying any of them came from elsewhere, whatever its peer.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                      "x-real-ip")  # fmt: skip

Check = dict[str, Any]


def _check(ok: bool, why: str = "") -> Check:
    return {"ok": ok, "why": why} if why else {"ok": ok}


def readiness(service: GovernanceService, state: Any) -> dict[str, Check]:
    checks: dict[str, Check] = {}
    try:
        with service.ctx.factory() as s:
            s.execute(text("select 1"))
        checks["database"] = _check(True)
    except Exception as e:
        checks["database"] = _check(False, f"database unreachable ({type(e).__name__})")
    checks["keys"] = (
        _check(True) if service.ctx.key_available() else _check(False, "master key not loaded")
    )
    scheduler = getattr(state, "scheduler", None)
    if scheduler is None:
        checks["scheduler"] = _check(True, "retention job off in this process")
    else:
        t = getattr(scheduler, "_thread", None)
        alive = t is not None and t.is_alive()
        checks["scheduler"] = _check(alive, "" if alive else "retention job not running")
    link = getattr(state, "centre", None)
    if link is not None:
        gap = link.broker_gap_since
        up = gap is None and link.client.connected.is_set()
        checks["broker"] = _check(
            up, "" if up else f"broker unreachable since {gap.isoformat() if gap else 'now'}"
        )
        state_ = link.consumer_state
        checks["consumer"] = _check(
            state_ == "ok", "" if state_ == "ok" else f"durable consumer {state_}"
        )
        stalled = time.monotonic() - link.alive_at
        checks["link"] = _check(
            stalled < 10, "" if stalled < 10 else f"link loop stalled {stalled:.0f} s"
        )
    return checks


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
    return local and not any(h in request.headers for h in FORWARDING_HEADERS)


def may_see_reasons(request: Request) -> bool:
    """The host itself (a loopback peer, not relayed by a proxy on the same host: deploy/ puts
    Caddy or nginx on 127.0.0.1), the metrics scrape token, or a logged-in administrator."""
    if _loopback(request):
        return True
    auth = request.headers.get("authorization", "")
    given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    expected = get_ctx(request).metrics_token
    if expected and given and hmac.compare_digest(given.encode(), expected.encode()):
        return True
    g = grant_of(request)
    return g is not None and not g.must_change_password and g.actor.has(Role.ADMINISTRATOR)
