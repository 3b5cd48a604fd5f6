"""Settings of the long-running processes: `openlfr serve` ([serve]), `openlfr worker`
([worker]) and logging ([log]). Every flag of those commands has its key here, so a unit file
needs only `--config`; a flag given on the command line still wins (config/file.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from openlfr.config.file import FileSettings


class LogSettings(FileSettings):
    model_config = SettingsConfigDict(env_prefix="OPENLFR_LOG_", extra="ignore")

    # INFO: lifecycle events (cameras started and stopped, alerts by id, watchlists fetched,
    # reconnections). DEBUG adds per-poll detail; never images, templates or secrets.
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "text" for people, "json" (one object a line) for log shippers.
    format: Literal["text", "json"] = "text"


class ServeSettings(FileSettings):
    model_config = SettingsConfigDict(env_prefix="OPENLFR_SERVE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # NATS URL: cameras run on workers; unset: cameras (below) run in this process.
    broker: str | None = None
    # Camera id -> source (file, stream URL or camera index), for in-process cameras.
    cameras: dict[str, str] = Field(default_factory=dict)
    # File cameras start again at their end (rehearsals).
    loop: bool = False


class WorkerSettings(FileSettings):
    model_config = SettingsConfigDict(env_prefix="OPENLFR_WORKER_", extra="ignore")

    centre: str | None = None
    broker: str | None = None
    cameras: dict[str, str] = Field(default_factory=dict)
    # The worker token; in the file give `token_file = "/path"` rather than the token itself.
    token: SecretStr | None = None
    lease_s: float = Field(default=30.0, gt=0)
    poll_s: float = Field(default=1.0, gt=0)
    realtime: bool = True
    loop: bool = False
    detect_stride: int | None = Field(default=None, ge=1)
    nats_creds: Path | None = None
    nats_ca: Path | None = None
    centre_ca: Path | None = None
    # This worker's Ed25519 signing key (made at first start; default under XDG_STATE_HOME).
    key_file: Path | None = None


def flags(**given: object) -> dict[str, object]:
    """The flags actually given (None: not given), as init arguments that override the rest."""
    return {k: v for k, v in given.items() if v is not None}
