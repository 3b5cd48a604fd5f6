"""H.23: each controller profile refuses what its law forbids."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from openlfr.governance.profiles import (
    DeploymentContext,
    EntryContext,
    Profile,
    deployment_problems,
    destruction_problems,
    disclosure_problems,
    entry_problems,
    parse_profile,
)

GOOD = DeploymentContext(
    purpose="prevent_risk_of_harm",
    dpia_ref="DPIA-1",
    necessity="repeated assaults on staff",
    alternatives="door staff, CCTV review",
    eu_mode=False,
    covert=False,
    signage_complete=True,
    retention_days=1,
    threat_ref="INC-2026-14: 9 assaults in 3 months",
    art9_condition="substantial public interest: preventing or detecting unlawful acts",
    retention_schedule_url="https://venue.example/biometric-retention",
)
EU_GOOD = replace(GOOD, eu_mode=True, purpose="locate_suspects_serious_offence")


def joined(problems: list[str]) -> str:
    return " | ".join(problems)


@pytest.mark.parametrize("profile", list(Profile))
def test_a_compliant_deployment_passes_its_profile(profile: Profile) -> None:
    ctx = EU_GOOD if profile == Profile.EU_LAW_ENFORCEMENT else GOOD
    assert deployment_problems(profile, ctx) == []


def test_unknown_profile_is_refused_with_the_allowed_list() -> None:
    with pytest.raises(ValueError, match="police_uk, eu_law_enforcement"):
        parse_profile("anything_goes")


# -- police_uk -------------------------------------------------------------------------------
def test_police_uk_refuses_retention_beyond_31_days() -> None:
    p = deployment_problems(Profile.POLICE_UK, replace(GOOD, retention_days=90))
    assert "above the maximum of 31 days" in joined(p)


def test_police_uk_refuses_an_entry_shared_by_another_body_without_an_agreement() -> None:
    e = EntryContext("wanted_by_courts_or_police", source_organisation="Other Force")
    assert "watchlist-sharing agreement" in joined(entry_problems(Profile.POLICE_UK, e))
    ok = replace(e, sharing_agreement_ref="ISA-7")
    assert entry_problems(Profile.POLICE_UK, ok) == []


def test_police_uk_may_hold_police_categories() -> None:
    assert entry_problems(Profile.POLICE_UK, EntryContext("wanted_by_courts_or_police")) == []


# -- eu_law_enforcement ------------------------------------------------------------------------
def test_eu_profile_refuses_a_deployment_outside_eu_mode() -> None:
    p = deployment_problems(Profile.EU_LAW_ENFORCEMENT, replace(EU_GOOD, eu_mode=False))
    assert "must run in EU AI Act mode" in joined(p)


# -- private_venue_uk --------------------------------------------------------------------------
def test_private_venue_refuses_a_deployment_without_signage() -> None:
    p = deployment_problems(Profile.PRIVATE_VENUE_UK, replace(GOOD, signage_complete=False))
    assert "signage is mandatory" in joined(p)


def test_private_venue_refuses_covert_use() -> None:
    p = deployment_problems(Profile.PRIVATE_VENUE_UK, replace(GOOD, covert=True))
    assert "covert use is not allowed" in joined(p)


def test_private_venue_refuses_without_dpia_or_documented_threat_or_art9() -> None:
    p = joined(
        deployment_problems(
            Profile.PRIVATE_VENUE_UK,
            replace(GOOD, dpia_ref="", threat_ref=None, art9_condition=" "),
        )
    )
    assert "DPIA is mandatory" in p
    assert "specific, documented threat" in p
    assert "Art 9 condition" in p


def test_private_venue_refuses_retention_beyond_its_maximum() -> None:
    p = deployment_problems(Profile.PRIVATE_VENUE_UK, replace(GOOD, retention_days=31))
    assert "above the maximum of 1 days" in joined(p)


@pytest.mark.parametrize("purpose", ["locate_wanted_persons", "enforce_bail_or_court_conditions"])
def test_private_venue_refuses_police_only_purposes(purpose: str) -> None:
    p = deployment_problems(Profile.PRIVATE_VENUE_UK, replace(GOOD, purpose=purpose))
    assert "for law enforcement only" in joined(p)


def test_private_venue_refuses_eu_police_mode() -> None:
    p = deployment_problems(Profile.PRIVATE_VENUE_UK, replace(GOOD, eu_mode=True))
    assert "for police only" in joined(p)


@pytest.mark.parametrize(
    "category",
    ["wanted_by_courts_or_police", "bail_or_court_conditions", "missing_or_vulnerable"],
)
def test_private_venue_refuses_an_entry_in_a_police_only_category(category: str) -> None:
    e = EntryContext(category, venue_incident_ref="INC-1")
    assert "for law enforcement only" in joined(entry_problems(Profile.PRIVATE_VENUE_UK, e))


def test_private_venue_entry_needs_evidence_of_offending_at_the_venue() -> None:
    e = EntryContext("suspected_of_offence")
    assert "evidence of offending at this venue" in joined(
        entry_problems(Profile.PRIVATE_VENUE_UK, e)
    )
    assert entry_problems(Profile.PRIVATE_VENUE_UK, replace(e, venue_incident_ref="INC-9")) == []


def test_private_venue_shared_watchlist_needs_a_recorded_agreement() -> None:
    e = EntryContext(
        "suspected_of_offence", venue_incident_ref="INC-9", source_organisation="Mall B"
    )
    assert "sharing agreement" in joined(entry_problems(Profile.PRIVATE_VENUE_UK, e))


# -- us_illinois_bipa --------------------------------------------------------------------------
def test_bipa_refuses_enrolment_without_a_recorded_written_release() -> None:
    e = EntryContext("suspected_of_offence", written_notice_on=date(2026, 5, 1))
    p = joined(entry_problems(Profile.US_ILLINOIS_BIPA, e))
    assert "written release" in p
    ok = replace(e, written_release_ref="REL-22")
    assert entry_problems(Profile.US_ILLINOIS_BIPA, ok) == []


def test_bipa_refuses_enrolment_without_written_notice() -> None:
    e = EntryContext("suspected_of_offence", written_release_ref="REL-22")
    assert "told in writing" in joined(entry_problems(Profile.US_ILLINOIS_BIPA, e))


def test_bipa_refuses_a_deployment_without_a_public_retention_schedule() -> None:
    p = deployment_problems(Profile.US_ILLINOIS_BIPA, replace(GOOD, retention_schedule_url=None))
    assert "retention schedule" in joined(p)


def test_bipa_refuses_keeping_biometrics_past_the_statutory_limit() -> None:
    assert "statutory limit" in joined(destruction_problems(Profile.US_ILLINOIS_BIPA, 4 * 365))
    assert destruction_problems(Profile.US_ILLINOIS_BIPA, 365) == []


@pytest.mark.parametrize("action", ["sell", "lease", "trade", "profit"])
def test_bipa_refuses_any_sale_or_profit_even_with_consent(action: str) -> None:
    p = disclosure_problems(Profile.US_ILLINOIS_BIPA, action, consent_ref="CONSENT-1")
    assert "may never" in joined(p)


def test_bipa_disclosure_needs_consent() -> None:
    assert disclosure_problems(Profile.US_ILLINOIS_BIPA, "share", consent_ref=None)
    assert disclosure_problems(Profile.US_ILLINOIS_BIPA, "share", consent_ref="C-1") == []


def test_bipa_refuses_police_only_categories() -> None:
    e = EntryContext(
        "wanted_by_courts_or_police", written_notice_on=date(2026, 5, 1), written_release_ref="R"
    )
    assert "for law enforcement only" in joined(entry_problems(Profile.US_ILLINOIS_BIPA, e))
