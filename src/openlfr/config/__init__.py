"""Settings, split by concern (pydantic-settings): each section reads OPENLFR_* variables."""

from openlfr.config.settings import Settings, VisionSettings, get_settings

__all__ = ["Settings", "VisionSettings", "get_settings"]
