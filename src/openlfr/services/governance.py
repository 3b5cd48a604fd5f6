"""The governance service: one shared unit of work and a room per aggregate.

Every public method of a room is one transaction that either does its action and writes its
audit record, or refuses with a typed error and changes nothing. Actors are resolved by the
caller (`accounts.authenticate`), so the CLI and the API share the same checks.
"""

from __future__ import annotations

from typing import Unpack

from sqlalchemy.orm import Session, sessionmaker

from openlfr.services.access import DeploymentAccess
from openlfr.services.accounts import Accounts
from openlfr.services.alerts import Alerts
from openlfr.services.approvals import Approvals
from openlfr.services.assessments import Assessments
from openlfr.services.assurance import Assurance
from openlfr.services.audit_log import AuditLog
from openlfr.services.context import ContextOptions, ServiceContext
from openlfr.services.deployments import Deployments
from openlfr.services.entry_photos import EntryPhotos
from openlfr.services.retention import Retention
from openlfr.services.subject_rights import SubjectRights
from openlfr.services.training import TrainingRecords
from openlfr.services.transparency import Transparency
from openlfr.services.urgent import JudicialDecisions
from openlfr.services.watchlists import Watchlists


class GovernanceService:
    """Builds the shared context and hands each room the same one."""

    def __init__(self, factory: sessionmaker[Session], **options: Unpack[ContextOptions]) -> None:
        self.ctx = ctx = ServiceContext(factory, **options)
        self.accounts, self.approvals, self.audit = Accounts(ctx), Approvals(ctx), AuditLog(ctx)
        self.deployments, self.watchlists, self.alerts = (
            Deployments(ctx),
            Watchlists(ctx),
            Alerts(ctx),
        )
        self.retention, self.transparency = Retention(ctx), Transparency(ctx)
        self.subject_rights = SubjectRights(ctx)
        self.entry_photos = EntryPhotos(ctx)
        self.access = DeploymentAccess(ctx)
        self.judicial = JudicialDecisions(ctx)
        self.training = TrainingRecords(ctx)
        self.assessments = Assessments(ctx)
        self.assurance = Assurance(ctx, self.deployments.end)
