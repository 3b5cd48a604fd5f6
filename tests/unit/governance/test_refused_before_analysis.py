"""Whoever may not add to a list is refused before anyone's face in their photo is analysed:
analysing a face is itself processing biometric data, and an unauthorised caller should not be
able to make the server do it (or spend its CPU)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from openlfr.errors import PermissionDeniedError
from tests.unit.governance._support import T0, World, add_entries, draft


class UntouchableEngine:
    """Any use of the engine fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the face engine was used ({name}) before the caller was checked")


PHOTO = b"\xff\xd8 a photo of someone"


def test_another_lists_compiler_is_refused_before_analysis(world: World) -> None:
    w = world
    dep = draft(w)
    (entry,) = add_entries(w, dep, n=1)
    outsider = w.compiler2
    with pytest.raises(PermissionDeniedError):
        w.svc.watchlists.add_entry_from_photo(
            outsider, dep, UntouchableEngine(), PHOTO, subject_ref="X", category="wanted"
        )
    with pytest.raises(PermissionDeniedError):
        w.svc.entry_photos.add_photo_from_file(
            outsider, entry, UntouchableEngine(), PHOTO, date(2026, 1, 1)
        )


def test_someone_without_a_part_in_the_deployment_cannot_enrol_a_test_subject(
    world: World,
) -> None:
    w = world
    dep = draft(w, operators=["op1"])
    for who in (w.op2, w.ao2):
        with pytest.raises(PermissionDeniedError):
            w.svc.assurance.walkbys.add_test_subject_from_photo(
                who,
                dep,
                UntouchableEngine(),
                PHOTO,
                subject_ref="PC 1",
                consent_ref="CF-1",
                consented_on=T0.date(),
            )
