"""`openlfr sar`: subject access and erasure."""

from __future__ import annotations

from pathlib import Path

import typer

from openlfr.cli.governance._common import UserOpt, acting, command, show

app = typer.Typer(help="Subject rights: access and erasure.", no_args_is_help=True)


@command(app, "search")
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

    with acting(user) as (svc, me):
        engine = build_engine(get_settings().vision)
        probe = engine.face_from_file(photo, select="strict").template
        hits = svc.subject_rights.subject_access(me, probe, threshold)
        show(
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
            show({"erased": svc.subject_rights.erase(me, hits, reason)})
