"""Server-rendered console pages. Data comes from the same service calls as the API; actions
are posted by web/static/app.js to the API with the session's CSRF token."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from openlfr.api.auth import Grant
from openlfr.api.deps import ALL_ROLES, get_ctx, grant_of
from openlfr.api.roles import ALERTS_VIEW, AUDIT
from openlfr.api.routers.public import published
from openlfr.api.worker_auth import worker_service
from openlfr.errors import PermissionDeniedError
from openlfr.eval.approval import SUPPLIER
from openlfr.governance import transparency
from openlfr.governance import walkby as walkby_rules
from openlfr.governance.access import Access
from openlfr.governance.equality import PerceivedGroup
from openlfr.governance.vocab import (
    Category,
    Countersign,
    DeploymentState,
    OutcomeResult,
    Purpose,
    Role,
)
from openlfr.services import console
from openlfr.services.approvals import SUPPLIER_RECOMMENDATION
from openlfr.services.assurance_public import annual
from openlfr.services.audit_log import RECEIPT_ACTIONS
from openlfr.web import present
from openlfr.web.public_text import public_text

WEB = Path(__file__).resolve().parents[2] / "web"
templates = Jinja2Templates(directory=str(WEB / "templates"))


def _pct(rate: float | None) -> str:
    """An expected hit rate as officers read it; '—' where the model's evaluation has none."""
    return "—" if rate is None else f"{rate:.0%}"


templates.env.globals["pct"] = _pct
present.register(templates.env)
router = APIRouter(include_in_schema=False)

HOME = (
    (Role.OPERATOR, "/operator"),
    (Role.AUTHORISING_OFFICER, "/deployments"),
    (Role.WATCHLIST_COMPILER, "/deployments"),
    (Role.AUDITOR, "/audit"),
    (Role.ADMINISTRATOR, "/admin"),
)


def _page(request: Request, name: str, g: Grant | None, **kw: Any) -> HTMLResponse:
    roles = sorted(g.actor.roles) if g else []
    profile = get_ctx(request).service.assurance.profile
    return templates.TemplateResponse(
        request,
        name,
        {
            "me": g.actor if g else None,
            "roles": [r.value for r in roles],
            "csrf": g.csrf if g else "",
            "controller_profile": profile,
            "zone": zone(request),
            **kw,
        },
        headers={"Cache-Control": "no-store"},
    )


def zone(request: Request) -> str:
    """The console's time zone: configured, or the controller profile's."""
    svc = get_ctx(request).service
    return present.zone_for(svc.assurance.profile, svc.ctx.settings.time_zone)


class PageRefused(Exception):
    """A console page the caller may not see; `response` is what they get instead: the login
    page (or the password change) as a redirect, or the forbidden page."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _session(request: Request, *roles: Role) -> Grant:
    g = grant_of(request)
    if g is None or g.kind != "session":
        raise PageRefused(RedirectResponse(f"/login?next={request.url.path}", status_code=303))
    if g.must_change_password and request.url.path != "/account":
        raise PageRefused(RedirectResponse("/account", status_code=303))
    if roles and not any(g.actor.has(r) for r in roles):
        refused = _page(request, "forbidden.html", g, needed=[r.value for r in roles])
        refused.status_code = 403
        raise PageRefused(refused)
    return g


def session(*roles: Role) -> Any:
    """Dependency: the caller's console session, if it holds one of `roles` (any, if none)."""

    def dep(request: Request) -> Grant:
        return _session(request, *roles)

    return Depends(dep)


# The console pages' callers: any session; one holding any role; the operator console's.
Signed = Annotated[Grant, session()]
AnyRole = Annotated[Grant, session(*ALL_ROLES)]
Watching = Annotated[Grant, session(*ALERTS_VIEW)]


def safe_next(value: str | None) -> str:
    """The post-login target: a path on this site, or "/". Browsers read `\\` as `/` and
    percent-decode, so `/\\evil.example` and `/%5Cevil.example` would leave the site."""
    from urllib.parse import unquote, urlsplit

    if not value or len(value) > 500:
        return "/"
    v = value
    for _ in range(3):  # decode nested percent-encoding before judging
        v = unquote(v)
    if not v.startswith("/") or v.startswith("//") or "\\" in v or any(ord(c) < 32 for c in v):
        return "/"
    parts = urlsplit(v)
    if parts.scheme or parts.netloc:
        return "/"
    return v


@router.get("/login")
def login_page(request: Request) -> Response:
    return _page(
        request,
        "login.html",
        None,
        banner=get_ctx(request).banner,
        next_url=safe_next(request.query_params.get("next")),
    )


@router.get("/")
def home(g: Signed) -> Response:
    for role, url in HOME:
        if g.actor.has(role):
            return RedirectResponse(url, status_code=303)
    return RedirectResponse("/transparency", status_code=303)


@router.get("/operator")
def operator(request: Request, g: Watching) -> Response:
    svc = get_ctx(request).service
    deps = svc.deployments.visible(g.actor)
    live = [d for d in deps if d["state"] == DeploymentState.LIVE.value]
    ready = [d for d in deps if d["state"] == DeploymentState.AUTHORISED.value]
    return _page(
        request,
        "operator.html",
        g,
        live=live,
        ready=ready,
        # Alerts of a deployment can be held (monitor paused, walk-by flagged): say so here.
        held={d["id"]: svc.assurance.held(d["id"]) for d in live},
        # Deployments whose faces this user may see: the page fetches evidence for those only.
        mine=svc.access.ids(g.actor, Access.FACES),
        results=[r.value for r in OutcomeResult],
        actions=present.ACTIONS,
    )


@router.get("/deployments")
def deployments(request: Request, g: AnyRole) -> Response:
    svc = get_ctx(request).service
    return _page(
        request,
        "deployments.html",
        g,
        deployments=svc.deployments.visible(g.actor),
        purposes=[p.value for p in Purpose],
        users=_names(request, g),
        models=console.approved_models(svc),
    )


def _names(request: Request, g: Grant) -> dict[str, list[str]]:
    """Usernames by role for the draft form (only officers who may draft see them)."""
    if not (g.actor.has(Role.AUTHORISING_OFFICER) or g.actor.has(Role.ADMINISTRATOR)):
        return {}
    out: dict[str, list[str]] = {}
    for u in get_ctx(request).service.accounts.users():
        for r in u["roles"]:
            out.setdefault(r, []).append(u["username"])
    return out


@router.get("/deployments/{deployment_id}")
def deployment(request: Request, deployment_id: str, g: AnyRole) -> Response:
    ctx = get_ctx(request)
    svc = ctx.service
    from openlfr.errors import NotFoundError

    try:
        d = svc.deployments.view(g.actor, deployment_id)
    except (NotFoundError, PermissionDeniedError):
        return _page(request, "forbidden.html", g, needed=[], missing=deployment_id)
    ready = None
    if svc.access.allowed(g.actor, deployment_id, Access.EDIT):
        ready = console.readiness(svc, g.actor, deployment_id)
    can_see_list = svc.access.allowed(g.actor, deployment_id, Access.WATCHLIST)
    sees_alerts = svc.access.allowed(g.actor, deployment_id, Access.ALERTS)
    names = {u["id"]: u["username"] for u in svc.accounts.users()}
    me = g.actor.id
    ws = worker_service(request)
    workers = ws.deployment_workers(g.actor, deployment_id)
    is_officer = svc.access.allowed(g.actor, deployment_id, Access.OFFICER)
    assignable = ws.assignable_workers(g.actor, deployment_id) if is_officer else []
    try:
        assurance = svc.assurance.view(g.actor, deployment_id)
        test_list = svc.assurance.walkbys.test_list(g.actor, deployment_id)
    except PermissionDeniedError:  # no part in this deployment: no test list or walk-bys
        assurance, test_list = None, []
    return _page(
        request,
        "deployment.html",
        g,
        assurance=assurance,
        test_list=test_list,
        workers=workers,
        is_officer=is_officer,
        assignable=assignable,
        min_group_subjects=walkby_rules.MIN_GROUP_SUBJECTS,
        declared_sexes=[v.value for v in walkby_rules.DeclaredSex],
        declared_ethnicities=[v.value for v in PerceivedGroup],
        is_operator=g.actor.has(Role.OPERATOR) and me in d["operator_ids"],
        is_authoriser=g.actor.has(Role.AUTHORISING_OFFICER) and me == d["authoriser_id"],
        can_enrol_test=me in d["operator_ids"] or me == d["compiler_id"],
        d=d,
        ready=ready,
        entries=svc.watchlists.entries(g.actor, deployment_id) if can_see_list else [],
        can_see_list=can_see_list,
        # The officers and compiler see each entry's photo (each view audited) beside its basis.
        show_photos=can_see_list
        and svc.access.allowed(g.actor, deployment_id, Access.FACES)
        and (g.actor.has(Role.AUTHORISING_OFFICER) or g.actor.has(Role.WATCHLIST_COMPILER)),
        names=names,
        categories=[c.value for c in Category],
        purposes=[p.value for p in Purpose],
        users=_names(request, g),
        models=console.approved_models(svc) if ready else [],
        false_alert_warn=svc.ctx.settings.false_alert_policy,
        countersigns=[c.value for c in Countersign],
        signage=list(transparency.SIGNAGE_CHECKLIST),
        live=ctx.live.status(deployment_id),
        supplier_evidence=svc.approvals.evidence(d["model_contract_id"] or "") == SUPPLIER,
        supplier_recommendation=SUPPLIER_RECOMMENDATION,
        alerts=svc.alerts.alerts(g.actor, deployment_id) if sees_alerts else [],
        sees_alerts=sees_alerts,
    )


AUDIT_FILTERS = ("actor", "action", "deployment", "since", "until")


def _audit_rows(request: Request) -> tuple[dict[str, str], list[dict[str, Any]], dict[str, str]]:
    """The audit search as asked in the query string: the filters, the records, and names for
    the subjects (deployments and users by name, not id)."""
    svc = get_ctx(request).service
    f = {k: request.query_params.get(k, "").strip()[:200] for k in AUDIT_FILTERS}
    records = svc.audit.search(
        actor=f["actor"] or None,
        action=f["action"] or None,
        deployment_id=f["deployment"] or None,
        since=present.utc_iso(f["since"], zone(request)),
        until=present.utc_iso(f["until"], zone(request)),
    )
    names = {d["id"]: d["name"] for d in svc.deployments.deployments()}
    names |= {u["id"]: u["username"] for u in svc.accounts.users()}
    return f, records, names


@router.get("/audit")
def audit(request: Request, g: Annotated[Grant, session(*AUDIT)]) -> Response:
    svc = get_ctx(request).service
    filters, records, names = _audit_rows(request)
    return _page(
        request,
        "audit.html",
        g,
        chain=svc.audit.verify_audit(),
        records=records,
        filters=filters,
        names=names,
        actions=svc.audit.actions(),
        people=sorted(u["username"] for u in svc.accounts.users()),
        deployments=svc.deployments.deployments(),
        receipts=svc.audit.audit_records(limit=100, actions=RECEIPT_ACTIONS),
        published=published(svc),
        erase_pending=_erase_pending(svc),
    )


def _erase_pending(svc: Any) -> list[dict[str, Any]]:
    """Erasure requests no second auditor has carried out yet (both steps are audit records)."""
    done = {r["subject"] for r in svc.audit.search(action="subject.erase_approved")}
    asked = svc.audit.search(action="subject.erase_request")
    return [r for r in asked if f"erase_request:{r['seq']}" not in done]


@router.get("/audit.csv")
def audit_csv(request: Request, g: Annotated[Grant, session(*AUDIT)]) -> Response:
    """The audit search as CSV, in words and local time; no cell can run as a formula."""
    _, records, names = _audit_rows(request)
    tz = zone(request)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["#", "time", "person", "action", "subject", "details"])
    for r in records:
        detail = json.dumps({"before": r["before"], "after": r["after"]}, default=str)
        row = [r["seq"], present.when(r["at"], tz, seconds=True), r["actor"]]
        row += [present.label(r["action"]), present.subject(r["subject"], names), detail]
        w.writerow([present.csv_cell(c) for c in row])
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="openlfr-audit.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/admin")
def admin(request: Request, g: Annotated[Grant, session(Role.ADMINISTRATOR)]) -> Response:
    return _page(
        request,
        "admin.html",
        g,
        users=get_ctx(request).service.accounts.users(),
        all_roles=[r.value for r in Role],
        training=get_ctx(request).service.training.records(g.actor),
    )


@router.get("/account")
def account(request: Request, g: Signed) -> Response:
    return _page(request, "account.html", g, must=g.must_change_password)


@router.get("/transparency")
def public(request: Request) -> Response:
    g = grant_of(request)
    svc = get_ctx(request).service
    year = svc.ctx.now().year
    pub = published(svc)
    # When each ran, not only the authorised window.
    actual = {}
    for p in pub:
        d = svc.deployments.deployment(p.notice.deployment_id)
        actual[p.notice.deployment_id] = {k: d.get(k) for k in ("started_at", "ended_at")}
    pt = public_text(
        svc.ctx.settings, svc.assurance.profile.profile.value, request.query_params.get("lang")
    )
    return _page(
        request,
        "transparency.html",
        g if g and g.kind == "session" else None,
        published=pub,
        actual=actual,
        year=year,
        annual=annual(svc, year),
        pt=pt,
        lang=pt.lang,
    )
