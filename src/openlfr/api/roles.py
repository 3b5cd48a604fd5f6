"""Role sets that more than one router requires, with the caller types routes declare.

One definition each, so the same set of roles means the same check in every router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from openlfr.api.deps import ALL_ROLES, require
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role

ADMIN = (Role.ADMINISTRATOR,)
AO = (Role.AUTHORISING_OFFICER,)
EDIT = (Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER)
COMPILER = (Role.WATCHLIST_COMPILER,)
OP = (Role.OPERATOR,)
# Who may see a deployment's alerts, and watch them arrive live (API and console).
ALERTS_VIEW = (Role.OPERATOR, Role.AUTHORISING_OFFICER, Role.AUDITOR)
AUDIT = (Role.AUDITOR, Role.ADMINISTRATOR)  # the audit log and its chain
WORKERS_VIEW = (Role.ADMINISTRATOR, Role.OPERATOR, Role.AUDITOR)
# Who may see a deployment's watchlist and its photos.
WATCHLIST_VIEW = (Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER, Role.OPERATOR, Role.AUDITOR)

AsAllRoles = Annotated[Actor, Depends(require(*ALL_ROLES))]
AsAdmin = Annotated[Actor, Depends(require(*ADMIN))]
AsAo = Annotated[Actor, Depends(require(*AO))]
AsEdit = Annotated[Actor, Depends(require(*EDIT))]
AsCompiler = Annotated[Actor, Depends(require(*COMPILER))]
AsOp = Annotated[Actor, Depends(require(*OP))]
AsAlertsView = Annotated[Actor, Depends(require(*ALERTS_VIEW))]
AsAudit = Annotated[Actor, Depends(require(*AUDIT))]
AsWatchlistView = Annotated[Actor, Depends(require(*WATCHLIST_VIEW))]
