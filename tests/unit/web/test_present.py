"""The console's presentation layer: words, local times, score bands, safe CSV cells."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openlfr.config.governance import GovernanceSettings
from openlfr.governance.vocab import Category, DeploymentState, OutcomeResult, Purpose, Role
from openlfr.web import present
from openlfr.web.public_text import public_text


@pytest.mark.parametrize("cell", ["=1+1", "+SUM(A1)", "-2", "@cmd", "\t=x", '=HYPERLINK("x")'])
def test_csv_cells_never_start_a_formula(cell: str) -> None:
    out = present.csv_cell(cell)
    assert out.startswith("'") and out[1:] == cell


def test_csv_cells_otherwise_unchanged() -> None:
    assert present.csv_cell("op1") == "op1"
    assert present.csv_cell(None) == ""
    assert present.csv_cell(3) == "3"


def test_every_closed_list_value_has_words() -> None:
    for enum in (Role, Purpose, Category, DeploymentState, OutcomeResult):
        for v in enum:
            assert v.value in present.LABELS, v
            assert "_" not in present.label(v.value)
    assert present.label(None) == "—"
    assert present.label("alert.review") == "Alert: review"


def test_times_are_local_to_the_deployment_zone() -> None:
    summer = datetime(2026, 7, 1, 12, 0, 5, 123456, tzinfo=UTC)
    assert present.when(summer) == "Wed 1 Jul 2026, 13:00 BST"
    assert present.when(summer.isoformat(), seconds=True) == "Wed 1 Jul 2026, 13:00:05 BST"
    assert present.when(summer, "America/Chicago") == "Wed 1 Jul 2026, 07:00 CDT"
    assert present.when(None) == "—"
    assert present.utc_iso("2026-07-01T13:00", "Europe/London") == "2026-07-01T12:00:00+00:00"
    assert present.utc_iso("not a time") is None


def test_zone_configured_or_by_profile() -> None:
    assert present.zone_for("us_illinois_bipa") == "America/Chicago"
    assert present.zone_for("police_uk", "Europe/Dublin") == "Europe/Dublin"
    assert present.zone_for("police_uk", "Not/AZone") == "Europe/London"


def test_score_band_in_words() -> None:
    assert "weak" in present.band(0.52, 0.5)
    assert "fair" in present.band(0.6, 0.5)
    assert "strong" in present.band(0.9, 0.5)
    assert "below" in present.band(0.4, 0.5)


def test_public_text_in_welsh_only_where_published() -> None:
    en_only = GovernanceSettings(public_controller="Heddlu Dyfed-Powys")
    assert public_text(en_only, "police_uk", "cy").lang == "en"
    both = GovernanceSettings(public_controller="Heddlu Dyfed-Powys", public_languages=["en", "cy"])
    cy = public_text(both, "police_uk", "cy")
    assert cy.lang == "cy" and "Swyddfa'r Comisiynydd Gwybodaeth" in cy.complaints
    assert "Heddlu Dyfed-Powys" in cy.complaints
    record = dict(
        faces_processed=1000,
        alerts=3,
        true_alerts=2,
        false_alerts=1,
        unresolved_alerts=0,
        engagements=2,
        arrests=1,
    )
    assert "1000 faces were checked" in public_text(both, "police_uk", "en").results(record)
