"""The base of the governance service's rooms (accounts, deployments, watchlists, ...)."""

from __future__ import annotations

from openlfr.services.context import ServiceContext


class Room:
    """One part of the governance service; every room is handed the same ServiceContext."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
