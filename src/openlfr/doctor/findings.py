"""What a check found: a level, a stable code (troubleshooting.md's headings), what is wrong and
how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Level(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"  # not applicable to this installation (e.g. no broker configured)


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # config, keys, database, broker, models, approval, clock
    level: Level
    code: str  # stable: docs/troubleshooting.md has a section per code
    message: str
    fix: str = ""

    def line(self) -> str:
        tag = {Level.OK: "ok  ", Level.WARN: "WARN", Level.FAIL: "FAIL", Level.SKIP: "skip"}
        out = f"[{tag[self.level]}] {self.check}: {self.message}"
        if self.fix and self.level in (Level.WARN, Level.FAIL):
            out += f"\n       fix: {self.fix}  (docs/troubleshooting.md#{self.code})"
        return out


def ok(check: str, message: str) -> Finding:
    return Finding(check, Level.OK, "ok", message)


def skip(check: str, message: str) -> Finding:
    return Finding(check, Level.SKIP, "skip", message)
