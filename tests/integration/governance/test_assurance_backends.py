"""The assurance service on each backend (SQLite and PostgreSQL): walk-by flag, monitor pause
and officer decision, equality records."""

from __future__ import annotations

import pytest

from tests.unit.governance import test_assurance_service as t
from tests.unit.governance._support import make_world


@pytest.mark.parametrize(
    "scenario",
    [
        t.test_walkby_records_tpir_and_flags_until_the_officer_acknowledges,
        t.test_false_alerts_above_expectation_pause_alerts_and_the_officer_decides,
        t.test_perceived_group_only_after_review_by_the_deployments_operator,
        t.test_test_list_is_destroyed_with_the_watchlist,
    ],
    ids=lambda f: f.__name__.removeprefix("test_")[:40],
)
def test_assurance_on_backend(db_url: str, scenario: object) -> None:
    scenario(make_world(db_url))  # type: ignore[operator]
