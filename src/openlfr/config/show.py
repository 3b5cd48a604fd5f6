"""The effective settings of every settings class, secrets masked, written as TOML."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

import openlfr.config
from openlfr.config.file import FileSettings, section_of

MASK = "********"
# A value under such a name is a secret unless it is a path to one (a path is not the secret).
SECRET_NAME = re.compile(r"password|passwd|secret|key|token|seed|creds|credential", re.I)


def load_all() -> list[type[FileSettings]]:
    """Every settings class of the package (importing openlfr.config's modules registers them)."""
    for mod in pkgutil.iter_modules(openlfr.config.__path__):
        importlib.import_module(f"openlfr.config.{mod.name}")
    return sorted(FileSettings.registry.values(), key=lambda c: section_of(c))


def masked(name: str, value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, BaseModel):
        return {k: masked(k, getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, dict):
        return {k: masked(str(k), v) for k, v in value.items()}
    if isinstance(value, Path | type(None) | bool):
        return value
    if isinstance(value, str) and SECRET_NAME.search(name) and value:
        return MASK
    if isinstance(value, str) and "://" in value and "@" in value:
        from openlfr.safelog import redact_url

        return redact_url(value)
    return value


def effective() -> dict[str, Any]:
    """{section tuple joined by '.': {field: masked value}} for every settings class."""
    out: dict[str, Any] = {}
    for cls in load_all():
        st = cls()
        out[".".join(section_of(cls))] = {k: masked(k, getattr(st, k)) for k in cls.model_fields}
    return out


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, Enum):
        v = v.value
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def to_toml(sections: dict[str, Any]) -> str:
    lines: list[str] = []

    def table(name: str, body: dict[str, Any]) -> None:
        if name:
            lines.append(f"\n[{name}]")
        subs = []
        for k, v in body.items():
            if isinstance(v, dict):
                subs.append((k, v))
            elif v is None:
                lines.append(f"# {_key(k)} = (unset)")
            else:
                lines.append(f"{_key(k)} = {_value(v)}")
        for k, v in subs:
            table(f"{name}.{k}" if name else k, v)

    for name in sorted(sections):
        table(name, sections[name])
    return "\n".join(lines).lstrip("\n")
