"""Settings of the link to NATS, shared by the centre (`serve --broker`) and `openlfr worker`.

One class for both sides, so the two processes take the same options and the same
environment (`OPENLFR_BROKER__CA_FILE`, ...; the nested section of `Settings`). Secrets are
never values on a command line, where `ps` shows them: the password comes from a file or from
the environment, the nkey seed and the JWT credentials from files. A URL may still carry
`user:password@`; `redact` is what every start-up line and error shows of it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, SecretStr


class BrokerSettings(BaseModel):
    # A validation error must not repeat what it was given: that may be the password.
    model_config = ConfigDict(hide_input_in_errors=True)

    # One URL, or several comma-separated (a cluster: any of them). nats:// or tls://.
    url: str | None = None
    # TLS: the CA that signed the broker's certificate, and this client's own certificate and
    # key when the broker asks for them (mutual TLS, `verify: true` in nats-server.conf).
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    # Expected name in the broker's certificate when it differs from the URL's host.
    tls_hostname: str | None = None
    # Authentication, one of: a static nkey user (a file holding the seed, "SU..."), a JWT
    # credentials file (operator mode, made with `nsc`), or a user and password.
    nkey_seed_file: Path | None = None
    creds_file: Path | None = None
    user: str | None = None
    password_file: Path | None = None
    password: SecretStr | None = None  # from the environment only (OPENLFR_BROKER__PASSWORD)

    def problems(self) -> list[str]:
        """What does not fit together. Checked once the command line is laid over the
        environment (a user on the command line, its password in the environment), not
        per source."""
        out = []
        if (self.cert_file is None) != (self.key_file is None):
            out.append("a client certificate needs its key, and a key its certificate")
        ways = [self.nkey_seed_file, self.creds_file, self.user]
        if sum(x is not None for x in ways) > 1:
            out.append("give one of: nkey seed file, credentials file, user and password")
        if (self.password_file is not None or self.password is not None) and not self.user:
            out.append("a broker password needs a broker user")
        if self.password_file is not None and self.password is not None:
            out.append("give the broker password by file or by environment, not both")
        return out

    @property
    def urls(self) -> list[str]:
        return [u.strip() for u in (self.url or "").split(",") if u.strip()]

    @property
    def url_has_password(self) -> bool:
        return any(urlsplit(u).password for u in self.urls)

    def password_value(self) -> str | None:
        if self.password_file is not None:
            return self.password_file.read_text().strip()
        return self.password.get_secret_value() if self.password is not None else None

    @property
    def tls(self) -> bool:
        return (
            self.ca_file is not None
            or self.cert_file is not None
            or any(u.startswith("tls://") for u in self.urls)
        )

    def describe(self) -> str:
        """What a start-up line may say about the link: where, and how it authenticates."""
        auth = (
            "nkey" if self.nkey_seed_file else
            "credentials file" if self.creds_file else
            f"user {self.user}" if self.user else
            "password in URL" if self.url_has_password else
            "no authentication"
        )  # fmt: skip
        tls = "mutual TLS" if self.cert_file else "TLS" if self.tls else "no TLS"
        return f"{redact(self.url or '')} ({tls}, {auth})"


def redact(url: str) -> str:
    """The URL(s) with any password replaced: for start-up lines, logs and errors."""
    out = []
    for u in url.split(","):
        u = u.strip()
        parts = urlsplit(u)
        if parts.password is None and "@" not in parts.netloc:
            out.append(u)
            continue
        host = parts.netloc.rsplit("@", 1)[-1]
        user = parts.username or ""
        # A token alone (nats://TOKEN@host) is a secret too.
        shown = f"{user}:***@" if parts.password is not None else "***@"
        out.append(urlunsplit((parts.scheme, shown + host, parts.path, parts.query, "")))
    return ",".join(out)
