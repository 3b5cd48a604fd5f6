"""The reference pages cannot drift: every code `openlfr doctor` can print has its section in
docs/troubleshooting.md, and every setting has its row in docs/configuration.md."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[3]


def test_every_doctor_code_has_a_troubleshooting_section() -> None:
    src = "".join(p.read_text() for p in (ROOT / "src/openlfr/doctor").glob("*.py"))
    codes = set(re.findall(r'Level\.(?:WARN|FAIL),\s*"([a-z]+-[a-z-]+)"', src))
    assert {"key-permissions", "database-behind", "broker-unreachable", "broker-credentials",
            "approval-expired"} <= codes  # fmt: skip
    headings = set(
        re.findall(r"^### ([a-z-]+)$", (ROOT / "docs/troubleshooting.md").read_text(), re.M)
    )
    assert codes <= headings, sorted(codes - headings)


def test_every_setting_is_in_the_configuration_reference() -> None:
    from openlfr.config.file import section_of
    from openlfr.config.show import load_all

    page = (ROOT / "docs/configuration.md").read_text()
    missing = []
    for cls in load_all():
        table = ".".join(section_of(cls))
        for name, f in cls.model_fields.items():
            sub = f.annotation
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                assert f"## `[{name}]`" in page, name
                missing += [f"{name}.{k}" for k in sub.model_fields if f"`{k}`" not in page]
            elif name == "cameras":
                assert f"`[{table}.cameras]`" in page
            elif f"`{name}`" not in page:
                missing.append(f"{table}.{name}")
        if table:
            assert f"## `[{table}]`" in page, table
    assert not missing, missing
