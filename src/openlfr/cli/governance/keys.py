"""`openlfr keys`: the master key file (init, rotate)."""

from __future__ import annotations

from pathlib import Path

import typer

from openlfr.cli.governance._common import UserOpt, command, fail, login, open_service

app = typer.Typer(
    help="The master key that wraps every deployment's data keys.", no_args_is_help=True
)


@command(app, "init")
def keys_init(
    path: Path | None = typer.Option(None, help="Key file (default: KEY_DIR/master.key)."),
) -> None:
    """Create the master key file (owner-readable only). Back it up apart from the database."""
    from openlfr.config.settings import get_settings
    from openlfr.storage.crypto import generate_key_file

    st = get_settings()
    target = path or st.resolved_key_file
    try:
        generate_key_file(target)
    except FileExistsError:
        fail(
            f"{target} exists; refusing to overwrite a master key "
            "(that would shred every deployment)"
        )
    typer.echo(f"master key written to {target}")


@command(app, "rotate")
def keys_rotate(
    out: Path | None = typer.Option(
        None, help="Where to write the new key when the current one comes from OPENLFR_MASTER_KEY."
    ),
    user: str | None = UserOpt,
) -> None:
    """Re-wrap every data key under a new master key, then replace the key file.

    Stop the server first (it caches the old key). Afterwards destroy every copy of the old
    key: database backups taken before then become unreadable where they hold biometric data.
    """
    from openlfr.config.settings import get_settings
    from openlfr.governance.vocab import Role
    from openlfr.services.keys import rotate_master_key

    svc = open_service()
    me = login(svc, user)
    if not me.has(Role.ADMINISTRATOR):
        fail(f"{me.username} needs the administrator role to rotate the master key")
    st = get_settings()
    rot = rotate_master_key(
        svc.ctx.factory,
        st.resolved_key_file,
        svc.ctx.settings.audit_key_file or st.resolved_audit_key_file,
        actor=me.username,
        out=out,
    )
    typer.echo(f"re-wrapped {rot.data_keys} data keys; new master key in {rot.key_file}")
    if out is not None:
        typer.echo("set OPENLFR_MASTER_KEY to the new key's contents, then delete that file")
