"""Runs the checks a role needs, in order; a check that cannot run says so as a finding."""

from __future__ import annotations

from openlfr.doctor.findings import Finding, Level
from openlfr.errors import OpenLFRError


def run_checks(role: str, *, broker: str | None = None, centre: str | None = None) -> list[Finding]:
    from pydantic import ValidationError

    from openlfr.doctor import checks, network

    out = checks.check_config()
    if any(f.level == Level.FAIL for f in out):
        return out  # the rest would read the same broken settings
    from openlfr.config.process import ServeSettings, WorkerSettings
    from openlfr.config.settings import Settings

    try:
        settings, serve_st, worker_st = Settings(), ServeSettings(), WorkerSettings()
    except (ValidationError, OpenLFRError) as e:  # pragma: no cover - check_config saw it
        return [*out, Finding("config", Level.FAIL, "config-invalid", str(e), "")]
    if role == "centre":
        out += checks.check_keys(settings)
        found, engine = checks.check_database(settings)
        out += found
        out += checks.check_approvals(engine)
        if engine is not None:
            engine.dispose()
    out += checks.check_models(settings.vision)
    url = broker or (worker_st.broker if role == "worker" else serve_st.broker)
    if role == "worker":
        out += network.check_broker(url, nats_creds=worker_st.nats_creds, nats_ca=worker_st.nats_ca)
    else:
        out += network.check_broker(url)
    if role == "worker":
        verify = str(worker_st.centre_ca) if worker_st.centre_ca else True
        out += network.check_clock(centre or worker_st.centre, verify)
    return out
