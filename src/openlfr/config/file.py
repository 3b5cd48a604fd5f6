"""The configuration file (TOML), read by every settings class that derives from `FileSettings`.

Precedence, highest first: command-line flags (passed as init arguments), environment variables
(OPENLFR_*), the `.env` file in the working directory, the configuration file, the defaults.

Which file: `openlfr --config PATH` (which sets OPENLFR_CONFIG for the process and its
children), else the environment variable OPENLFR_CONFIG, else none. A file that is named but
missing or not valid TOML is an error, never silently skipped.

Each settings class reads one table of the file, named after its environment prefix:
OPENLFR_ -> the top level, OPENLFR_WORKER_ -> [worker], OPENLFR_BROKER_ -> [broker]. So a new
settings class gets its own table by deriving from `FileSettings`, with no more code.

Secrets may be given as files: a key `NAME_file = "/path"` where the class has a field NAME (and
no field NAME_file) reads NAME from that file (surrounding whitespace stripped), at any depth.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
)

from openlfr.errors import ConfigError

CONFIG_ENV = "OPENLFR_CONFIG"
ROOT_PREFIX = "OPENLFR_"


def config_path() -> Path | None:
    p = os.environ.get(CONFIG_ENV, "").strip()
    return Path(p).expanduser() if p else None


def load_config_file(path: Path | None = None) -> dict[str, Any]:
    """The whole configuration file as a dict ({} when none is configured)."""
    path = path if path is not None else config_path()
    if path is None:
        return {}
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError("configuration file not found", source=str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML ({e})", source=str(path)) from None
    except OSError as e:
        raise ConfigError(f"cannot read ({e.strerror})", source=str(path)) from None


def section_of(cls: type[BaseSettings]) -> tuple[str, ...]:
    """The table a settings class reads: its env prefix after OPENLFR_, lowercased."""
    explicit: tuple[str, ...] | None = getattr(cls, "config_section", None)
    if explicit is not None:
        return explicit
    prefix = str(cls.model_config.get("env_prefix") or ROOT_PREFIX).upper()
    rest = prefix.removeprefix(ROOT_PREFIX).strip("_")
    return tuple(p.lower() for p in rest.split("__") if p) if rest else ()


def _read_secret_files(model: type[BaseModel], data: dict[str, Any], where: str) -> dict[str, Any]:
    out = dict(data)
    fields = model.model_fields
    for key, value in data.items():
        name = key.removesuffix("_file")
        if key.endswith("_file") and key not in fields and name in fields:
            path = Path(str(value)).expanduser()
            try:
                out[name] = path.read_text().strip()
            except OSError as e:
                raise ConfigError(
                    f"{where}{key}: cannot read the secret file ({e.strerror})", source=str(path)
                ) from None
            del out[key]
        elif key in fields and isinstance(value, dict):
            sub = fields[key].annotation
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                out[key] = _read_secret_files(sub, value, f"{where}{key}.")
    return out


class TomlFileSource(InitSettingsSource):
    """The table of the configuration file that belongs to `settings_cls`."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        data: Any = load_config_file()
        section = section_of(settings_cls)
        for part in section:
            data = data.get(part, {}) if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            raise ConfigError(f"[{'.'.join(section)}] must be a table", source=str(config_path()))
        if not section:
            # The top level also holds the other classes' tables; leave those to them.
            data = {
                k: v
                for k, v in data.items()
                if k in settings_cls.model_fields or k.endswith("_file")
            }
        where = ".".join(section) + "." if section else ""
        super().__init__(settings_cls, _read_secret_files(settings_cls, data, where))


class FileSettings(BaseSettings):
    """Base of the process's settings classes: adds the configuration file below the
    environment. Subclasses set `model_config` (env_prefix) as usual."""

    # The table this class reads; None: derived from env_prefix (see `section_of`).
    config_section: ClassVar[tuple[str, ...] | None] = None
    registry: ClassVar[dict[str, type[FileSettings]]] = {}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        FileSettings.registry[f"{cls.__module__}.{cls.__qualname__}"] = cls

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlFileSource(settings_cls),
            file_secret_settings,
        )
