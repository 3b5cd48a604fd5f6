"""Governance commands: db, keys, user, model, deployment, watchlist, alert, purge, audit,
report, sar.

Each command is a thin call into `openlfr.services.governance`. Who is acting comes from
`--user` (or env OPENLFR_USER) and a password from env OPENLFR_PASSWORD or a hidden prompt; every
command that changes something is authenticated and audited.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer

from openlfr.errors import OpenLFRError

F = TypeVar("F", bound=Callable[..., Any])

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
keys_app = typer.Typer(
    help="The master key that wraps every deployment's data keys.", no_args_is_help=True
)
user_app = typer.Typer(help="People and roles.", no_args_is_help=True)
model_app = typer.Typer(help="Model approvals (from `openlfr eval` reports).", no_args_is_help=True)
dep_app = typer.Typer(help="Deployments: draft, authorise, start, run, end.", no_args_is_help=True)
wl_app = typer.Typer(help="The watchlist of a deployment.", no_args_is_help=True)
alert_app = typer.Typer(help="Alerts: review, outcome, legal hold.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
report_app = typer.Typer(help="Transparency documents.", no_args_is_help=True)
sar_app = typer.Typer(help="Subject rights: access and erasure.", no_args_is_help=True)

UserOpt = typer.Option(None, "--user", "-u", envvar="OPENLFR_USER", help="Who is acting.")

# Field types for `--set key=value` on deployments.
_DATETIME = {"starts_at", "ends_at", "public_notice_at"}
_FLOAT = {"threshold"}
_INT = {"expected_faces", "watchlist_size_cap"}
_BOOL = {"eu_mode", "urgent"}
_LIST = {"cameras", "operators"}


def _fail(msg: str, code: int = 2) -> None:
    typer.secho(msg, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _errors(fn: F) -> F:
    """Typed errors become a one-line message and exit status 2, never a traceback."""

    @wraps(fn)
    def wrapper(*a: Any, **kw: Any) -> Any:
        try:
            return fn(*a, **kw)
        except OpenLFRError as e:
            _fail(f"error ({e.code}): {e}")
        except ValueError as e:
            _fail(f"error: {e}")

    return wrapper  # type: ignore[return-value]


def _service() -> Any:
    from openlfr.config.settings import get_settings
    from openlfr.services.governance import GovernanceService
    from openlfr.storage.db import current_revision, make_engine, session_factory

    st = get_settings()
    engine = make_engine(st.resolved_database_url)
    if current_revision(engine) is None:
        _fail("the database has no schema yet: run `openlfr db upgrade` first")
    gs = st.governance
    if gs.key_file is None:
        gs = gs.model_copy(update={"key_file": st.data_dir / "master.key"})
    return GovernanceService(session_factory(engine), settings=gs)


def _login(svc: Any, user: str | None) -> Any:
    if not user:
        _fail("say who is acting: --user NAME (or env OPENLFR_USER)")
    password = os.environ.get("OPENLFR_PASSWORD") or typer.prompt(
        f"password for {user}", hide_input=True
    )
    return svc.accounts.authenticate(user, password)


def _out(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        out.write_text(text)
        typer.echo(f"wrote {out}")


def _show(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def _parse_fields(pairs: list[str], file: Path | None) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(file.read_text()) if file else {}
    for p in pairs:
        if "=" not in p:
            raise ValueError(f"--set needs key=value, got {p!r}")
        key, val = p.split("=", 1)
        raw[key.strip()] = val
    out: dict[str, Any] = {}
    for k, v0 in raw.items():
        v: Any = v0
        if isinstance(v, str):
            if v == "":
                v = None
            elif k in _DATETIME:
                v = datetime.fromisoformat(v)
                if v.tzinfo is None:
                    raise ValueError(f"{k} needs a time zone, e.g. 2026-06-01T09:00+00:00")
            elif k in _FLOAT:
                v = float(v)
            elif k in _INT:
                v = int(v)
            elif k in _BOOL:
                v = v.lower() in ("1", "true", "yes")
            elif k in _LIST:
                v = [x.strip() for x in v.split(",") if x.strip()]
        elif k in _DATETIME and v is not None:
            v = datetime.fromisoformat(str(v))
        out[k] = v
    return out


@contextmanager
def _acting(user: str | None) -> Iterator[tuple[Any, Any]]:
    svc = _service()
    yield svc, _login(svc, user)


# -- db / keys ---------------------------------------------------------------------------------
@db_app.command("upgrade")
@_errors
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create or migrate the database at OPENLFR_DATABASE_URL (default: SQLite in the data dir)."""
    from openlfr.config.settings import get_settings
    from openlfr.storage.db import upgrade

    url = get_settings().resolved_database_url
    upgrade(url, revision)
    typer.echo(f"database at {url.split('@')[-1]} is at revision {revision}")


@keys_app.command("init")
@_errors
def keys_init(
    path: Path | None = typer.Option(None, help="Key file (default: DATA_DIR/master.key)."),
) -> None:
    """Create the master key file (owner-readable only). Back it up apart from the database."""
    from openlfr.config.settings import get_settings
    from openlfr.storage.crypto import generate_key_file

    st = get_settings()
    target = path or st.governance.key_file or st.data_dir / "master.key"
    try:
        generate_key_file(target)
    except FileExistsError:
        _fail(
            f"{target} exists; refusing to overwrite a master key "
            "(that would shred every deployment)"
        )
    typer.echo(f"master key written to {target}")


# -- users ---------------------------------------------------------------------------------------
@user_app.command("add")
@_errors
def user_add(
    username: str,
    role: list[str] = typer.Option(
        ...,
        "--role",
        "-r",
        help="administrator, authorising_officer, "
        "watchlist_compiler, operator, auditor (repeatable)",
    ),
    name: str = typer.Option("", help="Display name."),
    user: str | None = UserOpt,
) -> None:
    """Add a user (the very first user must be an administrator and needs no --user).

    The new password comes from env OPENLFR_NEW_PASSWORD or a prompt.
    """
    svc = _service()
    acting = None if not svc.accounts.users() else _login(svc, user)
    password = os.environ.get("OPENLFR_NEW_PASSWORD") or typer.prompt(
        f"new password for {username}", hide_input=True, confirmation_prompt=True
    )
    a = svc.accounts.create_user(acting, username, password, role, name)
    typer.echo(f"user {a.username} created with roles {', '.join(sorted(a.roles))}")


@user_app.command("list")
@_errors
def user_list() -> None:
    """Users and their roles."""
    _show(_service().accounts.users())


# -- models ------------------------------------------------------------------------------------
@model_app.command("approve")
@_errors
def model_approve(report: Path, user: str | None = UserOpt) -> None:
    """Record the approval section of an evaluation report (threshold floor, FPIR curve)."""
    from openlfr.eval.approval import ModelApproval

    approval = ModelApproval.from_report_json(report.read_text())
    with _acting(user) as (svc, me):
        svc.approvals.record_model_approval(me, approval)
    typer.echo(
        f"model {approval.contract_id} approved; validated floor {approval.validated_min_threshold}"
    )


# -- deployments -------------------------------------------------------------------------------
SetOpt = typer.Option([], "--set", "-s", help="field=value (repeatable); lists comma-separated.")
FileOpt = typer.Option(None, "--file", "-f", help="JSON object of fields.")


@dep_app.command("create")
@_errors
def dep_create(
    name: str, set_: list[str] = SetOpt, file: Path | None = FileOpt, user: str | None = UserOpt
) -> None:
    """Draft a deployment. Fields: purpose, location, cameras, starts_at, ends_at, dpia_ref,
    policy_ref, eia_ref, necessity, alternatives, model_contract_id, threshold, expected_faces,
    compiler, operators, public_notice_at | no_notice_reason, retention_profile, eu_mode, ..."""
    with _acting(user) as (svc, me):
        dep = svc.deployments.create_deployment(me, name, **_parse_fields(set_, file))
    typer.echo(dep)


@dep_app.command("update")
@_errors
def dep_update(
    deployment: str,
    set_: list[str] = SetOpt,
    file: Path | None = FileOpt,
    user: str | None = UserOpt,
) -> None:
    """Change a draft (configuration is fixed once authorised)."""
    with _acting(user) as (svc, me):
        svc.deployments.update_deployment(me, deployment, **_parse_fields(set_, file))
    typer.echo("updated")


@dep_app.command("show")
@_errors
def dep_show(deployment: str) -> None:
    """A deployment's configuration, state and counters (no personal data)."""
    _show(_service().deployments.deployment(deployment))


@dep_app.command("list")
@_errors
def dep_list() -> None:
    """Every deployment: id, name, state, window."""
    _show(_service().deployments.deployments())


@dep_app.command("countersign")
@_errors
def dep_countersign(
    deployment: str,
    kind: str = typer.Argument(..., help="low_threshold | no_notice"),
    reason: str = typer.Option(..., "--reason"),
    user: str | None = UserOpt,
) -> None:
    """Second authorisation by another officer (threshold below the floor, no public notice)."""
    with _acting(user) as (svc, me):
        svc.deployments.countersign(me, deployment, kind, reason)
    typer.echo("countersigned")


@dep_app.command("authorise")
@_errors
def dep_authorise(deployment: str, user: str | None = UserOpt) -> None:
    """Authorise a draft: refuses listing every missing item; records expected false alerts."""
    with _acting(user) as (svc, me):
        efa = svc.deployments.authorise(me, deployment)
    typer.echo(f"authorised; expected false alerts at the size cap: {efa:.2f}")


@dep_app.command("start")
@_errors
def dep_start(deployment: str, user: str | None = UserOpt) -> None:
    """Go live: refuses outside the window, without a signed-off list or a master key."""
    with _acting(user) as (svc, me):
        svc.deployments.start(me, deployment)
    typer.echo("live")


@dep_app.command("end")
@_errors
def dep_end(
    deployment: str, reason: str = typer.Option("ended by operator"), user: str | None = UserOpt
) -> None:
    """End a live deployment (it also ends by itself at its end time)."""
    with _acting(user) as (svc, me):
        svc.deployments.end(me, deployment, reason)
    typer.echo("ended")


@dep_app.command("cancel")
@_errors
def dep_cancel(
    deployment: str, reason: str = typer.Option(..., "--reason"), user: str | None = UserOpt
) -> None:
    """Cancel a draft or authorised deployment."""
    with _acting(user) as (svc, me):
        svc.deployments.cancel(me, deployment, reason)
    typer.echo("cancelled")


@dep_app.command("judicial-authorisation")
@_errors
def dep_judicial(deployment: str, ref: str, user: str | None = UserOpt) -> None:
    """EU mode: record the authorisation an urgent start must obtain within 24 h."""
    with _acting(user) as (svc, me):
        svc.deployments.record_judicial_authorisation(me, deployment, ref)
    typer.echo("recorded")


@dep_app.command("run")
@_errors
def dep_run(
    deployment: str,
    source: str = typer.Option(
        ..., "--source", help="Video file, stream URL, camera index or folder."
    ),
    camera: str = typer.Option(
        ..., "--camera", help="Camera id: must be on the deployment's whitelist."
    ),
    max_frames: int | None = typer.Option(None, help="Stop after this many frames."),
    realtime: bool = typer.Option(False, help="Pace a file at its frame rate like a live camera."),
    user: str | None = UserOpt,
) -> None:
    """Run the live pipeline for a live deployment: its watchlist, threshold, cameras and window."""
    from openlfr.config.settings import get_settings
    from openlfr.pipeline.sources import open_source
    from openlfr.services.run import run_deployment
    from openlfr.vision import build_engine

    with _acting(user) as (svc, me):
        engine = build_engine(get_settings().vision)
        res = run_deployment(
            svc,
            me,
            deployment,
            open_source(source, realtime=realtime),
            camera_id=camera,
            engine=engine,
            max_frames=max_frames,
        )
    typer.echo(
        f"frames {res.frames_processed}, faces {res.faces_processed}, alerts {res.alerts_recorded}"
        + (f", refused {res.alerts_refused}" if res.alerts_refused else "")
    )


# -- watchlists ----------------------------------------------------------------------------------
@wl_app.command("add")
@_errors
def wl_add(
    deployment: str,
    photo: Path,
    category: str = typer.Option(
        ...,
        help="wanted_by_courts_or_police, suspected_of_offence, "
        "bail_or_court_conditions, missing_or_vulnerable, risk_of_harm_to_self_or_others",
    ),
    legal_basis: str = typer.Option(..., "--legal-basis"),
    source_system: str = typer.Option(..., "--source-system"),
    captured_on: str = typer.Option(..., "--captured-on", help="Image capture date, YYYY-MM-DD."),
    reason: str = typer.Option(..., "--reason"),
    subject_ref: str = typer.Option(..., "--subject-ref", help="Reference in the source system."),
    minor_justification: str | None = typer.Option(
        None, help="Required for under-18s; marks the entry as one."
    ),
    user: str | None = UserOpt,
) -> None:
    """Enrol one photo (exactly one face) onto a deployment's watchlist, encrypted."""
    from openlfr.config.settings import get_settings
    from openlfr.vision import build_engine

    with _acting(user) as (svc, me):
        engine = build_engine(get_settings().vision)
        eid, flags = svc.watchlists.add_entry_from_photo(
            me,
            deployment,
            engine,
            photo,
            category=category,
            legal_basis=legal_basis,
            source_system=source_system,
            image_captured_on=date.fromisoformat(captured_on),
            reason=reason,
            subject_ref=subject_ref,
            is_minor=minor_justification is not None,
            minor_justification=minor_justification,
        )
    typer.echo(eid + (f" flagged: {', '.join(flags)}" if flags else ""))


@wl_app.command("list")
@_errors
def wl_list(deployment: str, user: str | None = UserOpt) -> None:
    """Entries of a deployment's watchlist: category, quality, flags (no images)."""
    with _acting(user) as (svc, me):
        _show(svc.watchlists.entries(me, deployment))


@wl_app.command("projection")
@_errors
def wl_projection(deployment: str) -> None:
    """Projected false alerts for the list as it stands (shown before sign-off)."""
    p = _service().watchlists.projected_false_alerts(deployment)
    typer.echo("no model approval or expected faces recorded" if p is None else f"{p:.3g}")


@wl_app.command("sign-off")
@_errors
def wl_sign_off(deployment: str, user: str | None = UserOpt) -> None:
    with _acting(user) as (svc, me):
        proj = svc.watchlists.projected_false_alerts(deployment)
        typer.echo(f"projected false alerts: {'unknown' if proj is None else f'{proj:.3g}'}")
        svc.watchlists.sign_off(me, deployment)
    typer.echo("signed off")


@wl_app.command("was-on")
@_errors
def wl_was_on(deployment: str, entry_id: str, user: str | None = UserOpt) -> None:
    """Was this entry on the deployment's list? Answers from the stub after destruction."""
    with _acting(user) as (svc, me):
        r = svc.watchlists.was_on_list(me, deployment, entry_id)
    if r is None:
        typer.echo("no")
        raise typer.Exit(1)
    _show(r)


# -- alerts --------------------------------------------------------------------------------------
@alert_app.command("list")
@_errors
def alert_list(deployment: str, user: str | None = UserOpt) -> None:
    """Alerts of a deployment with status and outcome (operators, officers, auditors)."""
    with _acting(user) as (svc, me):
        _show(svc.alerts.alerts(me, deployment))


@alert_app.command("review")
@_errors
def alert_review(
    alert: str,
    decision: str = typer.Argument(..., help="confirm | reject | unsure"),
    reason: str = typer.Option(..., "--reason"),
    user: str | None = UserOpt,
) -> None:
    """Adjudicate: confirm, reject or unsure, with a reason (D.13)."""
    with _acting(user) as (svc, me):
        status = svc.alerts.review(me, alert, decision, reason)
    typer.echo(f"status: {status}")


@alert_app.command("outcome")
@_errors
def alert_outcome(
    alert: str,
    result: str = typer.Option(
        ..., help="arrest | condition_check | no_further_action | not_located"
    ),
    engaged: bool = typer.Option(False, "--engaged/--not-engaged"),
    duration: float | None = typer.Option(None, "--duration", help="Engagement duration, seconds."),
    user: str | None = UserOpt,
) -> None:
    """Record what happened after the review (D.14)."""
    with _acting(user) as (svc, me):
        svc.alerts.record_outcome(me, alert, engaged=engaged, duration_s=duration, result=result)
    typer.echo("recorded")


@alert_app.command("hold")
@_errors
def alert_hold(
    alert: str,
    reason: str | None = typer.Option(None, "--reason"),
    release: bool = typer.Option(False, "--release"),
    user: str | None = UserOpt,
) -> None:
    """Place a legal hold (suspends expiry; needs a reason) or --release it."""
    if not release and not reason:
        _fail("give --reason to place a hold, or --release")
    with _acting(user) as (svc, me):
        svc.alerts.legal_hold(me, alert, None if release else reason)
    typer.echo("released" if release else "held")


# -- retention / audit -----------------------------------------------------------------------------
@_errors
def purge() -> None:
    """Run the retention job once: end lapsed deployments, destroy lists, delete expired alerts."""
    rc = _service().retention.purge()
    _show(
        {
            "deployments_ended": rc.deployments_ended,
            "watchlists_destroyed": rc.watchlists_destroyed,
            "alerts_deleted": rc.alerts_deleted,
            "keys_destroyed": rc.keys_destroyed,
        }
    )


@audit_app.command("verify")
@_errors
def audit_verify() -> None:
    """Exit 0 if the chain is intact; 1 naming the first bad record otherwise."""
    rep = _service().audit.verify_audit()
    if not rep.ok:
        typer.secho(str(rep), fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(str(rep))


# -- transparency ---------------------------------------------------------------------------------
FormatOpt = typer.Option("json", "--format", help="json | csv | html")
OutOpt = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout.")


def _render(
    title: str, doc: dict[str, Any], fmt: str, rows: list[dict[str, Any]] | None = None
) -> str:
    from openlfr.governance import transparency as tr

    if fmt == "json":
        return tr.to_json(doc)
    if fmt == "csv":
        return tr.to_csv(rows if rows is not None else [doc])
    if fmt == "html":
        return tr.to_html(title, {title: doc})
    raise ValueError(f"format {fmt!r} is not one of json, csv, html")


@report_app.command("deployment")
@_errors
def report_deployment(deployment: str, fmt: str = FormatOpt, out: Path | None = OutOpt) -> None:
    """The post-deployment record (F.19)."""
    rec = _service().transparency.deployment_record(deployment).to_dict()
    _out(_render(f"Deployment record {deployment}", rec, fmt), out)


@report_app.command("notice")
@_errors
def report_notice(deployment: str, fmt: str = FormatOpt, out: Path | None = OutOpt) -> None:
    """The public pre-deployment notice and signage checklist (F.18)."""
    from dataclasses import asdict

    n = _service().transparency.public_notice(deployment)
    doc = {**asdict(n), "signage_complete": n.signage_complete}
    _out(_render(f"Public notice: facial recognition at {n.location}", doc, fmt), out)


@report_app.command("annual")
@_errors
def report_annual(year: int, fmt: str = FormatOpt, out: Path | None = OutOpt) -> None:
    """The annual summary over every deployment that started in YEAR."""
    doc = _service().transparency.annual_summary(year)
    records = doc.pop("deployment_records")
    if fmt == "html":
        from openlfr.governance import transparency as tr

        _out(
            tr.to_html(
                f"Annual LFR report {year}",
                {"Summary": doc, **{f"Deployment {r['deployment_id']}": r for r in records}},
            ),
            out,
        )
        return
    _out(
        _render(
            f"Annual LFR report {year}",
            {**doc, "deployments_detail": records},
            fmt,
            rows=records if fmt == "csv" else None,
        ),
        out,
    )


# -- subject rights --------------------------------------------------------------------------------
@sar_app.command("search")
@_errors
def sar_search(
    photo: Path,
    erase: bool = typer.Option(False, "--erase", help="Erase what was found (needs --reason)."),
    reason: str = typer.Option("", "--reason"),
    threshold: float | None = typer.Option(None, help="Default: each deployment's own threshold."),
    user: str | None = UserOpt,
) -> None:
    """Subject access: alerts and watchlist entries/stubs concerning the person in PHOTO."""
    from openlfr.config.settings import get_settings
    from openlfr.vision import build_engine

    with _acting(user) as (svc, me):
        engine = build_engine(get_settings().vision)
        probe = engine.face_from_file(photo, select="strict").template
        hits = svc.subject_rights.subject_access(me, probe, threshold)
        _show(
            [
                {
                    "kind": h.kind,
                    "id": h.id,
                    "deployment": h.deployment_id,
                    "score": h.score,
                    **h.detail,
                }
                for h in hits
            ]
        )
        if erase:
            _show({"erased": svc.subject_rights.erase(me, hits, reason)})


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")
    app.add_typer(user_app, name="user")
    app.add_typer(model_app, name="model")
    app.add_typer(dep_app, name="deployment")
    app.add_typer(wl_app, name="watchlist")
    app.add_typer(alert_app, name="alert")
    app.command("purge")(purge)
    app.add_typer(audit_app, name="audit")
    app.add_typer(report_app, name="report")
    app.add_typer(sar_app, name="sar")
