"""Issue 22's routes: operators' training records (administrators record; administrators and
auditors read) and a deployment's impact-assessment draft (DPIA / FRIA) for its officers."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, Field

from openlfr.api.deps import Id32, get_ctx, require
from openlfr.api.roles import AUDIT, AsAdmin
from openlfr.api.routing import api_router
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role

router = api_router("/api/v1", "controls")
AsAudit = Annotated[Actor, Depends(require(*AUDIT))]
AsOfficerOrAudit = Annotated[Actor, Depends(require(Role.AUTHORISING_OFFICER, Role.AUDITOR))]


def _iso_date_only(v: object) -> object:
    # JSON has no date type: a date is an ISO string, never a number read as epoch seconds.
    if not isinstance(v, str | date):
        raise ValueError("a date is written YYYY-MM-DD")
    return v


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


class TrainingIn(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    course: str = Field(min_length=1, max_length=200)
    completed_on: IsoDate
    expires_on: IsoDate


class TrainingOut(BaseModel):
    id: str
    username: str
    course: str
    completed_on: date
    expires_on: date
    current: bool


class CreatedOut(BaseModel):
    id: str


@router.post("/training", status_code=201, summary="Record a user's completed training course")
def record_training(request: Request, body: TrainingIn, actor: AsAdmin) -> CreatedOut:
    rid = get_ctx(request).service.training.record(
        actor, body.username, body.course, body.completed_on, body.expires_on
    )
    return CreatedOut(id=rid)


@router.get("/training", summary="Training records (all users, or one), with whether current")
def list_training(
    request: Request,
    actor: AsAudit,
    username: Annotated[str | None, Query(max_length=80)] = None,
) -> list[TrainingOut]:
    recs = get_ctx(request).service.training.records(actor, username)
    return [TrainingOut.model_validate(r) for r in recs]


@router.get(
    "/deployments/{deployment_id}/assessment",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}}},
    summary="DPIA / FRIA draft (Markdown) filled from the deployment, for its officer to complete",
)
def assessment(request: Request, deployment_id: Id32, actor: AsOfficerOrAudit) -> Response:
    doc = get_ctx(request).service.assessments.draft(actor, deployment_id)
    return Response(
        doc.text,
        media_type="text/markdown; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="assessment-{deployment_id}.md"',
            "X-Content-SHA256": doc.digest,
        },
    )
