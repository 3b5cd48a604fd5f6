"""The broker options `serve --broker` and `openlfr worker` share, defined once.

Each falls back to the settings (`OPENLFR_BROKER__*`, see config/broker.py). There is no option
for a secret's value: `ps` shows every process's command line, so the password comes from a
file or the environment, the nkey seed and JWT credentials from files.
"""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError

from openlfr.config.broker import BrokerSettings

URL = typer.Option(
    None,
    "--broker",
    help="NATS URL(s), comma-separated for a cluster: tls://HOST:4222 (else "
    "$OPENLFR_BROKER__URL). Put no password in it: `ps` shows it.",
)
CA = typer.Option(
    None, "--broker-ca", "--nats-ca", help="CA bundle that signed the broker's certificate."
)
CERT = typer.Option(None, "--broker-cert", help="This client's certificate (mutual TLS).")
KEY = typer.Option(None, "--broker-key", help="The key of --broker-cert.")
NKEY = typer.Option(
    None, "--broker-nkey-seed", help="File holding this client's nkey seed (SU...), mode 600."
)
CREDS = typer.Option(
    None, "--broker-creds", "--nats-creds", help="NATS JWT credentials file (.creds, from nsc)."
)
USER = typer.Option(None, "--broker-user", help="Broker user name (password: next option).")
PASSWORD_FILE = typer.Option(
    None,
    "--broker-password-file",
    help="File holding the broker password (else $OPENLFR_BROKER__PASSWORD).",
)


def broker_settings(
    url: str | None,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    nkey_seed: Path | None,
    creds: Path | None,
    user: str | None,
    password_file: Path | None,
) -> BrokerSettings:
    """The command line over the settings; a clear error (never a value) when inconsistent."""
    from openlfr.config.settings import get_settings

    given = dict(
        url=url, ca_file=ca, cert_file=cert, key_file=key, nkey_seed_file=nkey_seed,
        creds_file=creds, user=user, password_file=password_file,
    )  # fmt: skip
    base = get_settings().broker.model_dump(exclude_none=True)
    try:
        merged = BrokerSettings.model_validate(
            {**base, **{k: v for k, v in given.items() if v is not None}}
        )
    except ValidationError as e:
        # The messages only: pydantic's own text would repeat the input values.
        msgs = "; ".join(str(err["msg"]) for err in e.errors())
        raise typer.BadParameter(msgs, param_hint="broker options") from None
    if merged.problems():
        raise typer.BadParameter("; ".join(merged.problems()), param_hint="broker options")
    return merged


def warn_if_exposed(s: BrokerSettings) -> None:
    if s.url_has_password:
        typer.secho(
            "warning: the broker URL carries a password, which `ps` and shell history show; "
            "use --broker-user with --broker-password-file or $OPENLFR_BROKER__PASSWORD",
            fg=typer.colors.YELLOW,
            err=True,
        )
