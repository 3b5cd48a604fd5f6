"""Walk-by rates by self-declared group (issue 18 item 2): the subject's own answer, sealed;
shown only as totals of MIN_GROUP_SUBJECTS or more people; never inferred, never in the log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from openlfr.errors import PermissionDeniedError, RuleViolation
from openlfr.governance import walkby as rules
from openlfr.governance.deployment import Actor
from openlfr.governance.walkby import WalkbyHit
from openlfr.storage import assurance_models as am
from openlfr.storage import models as m
from tests.unit.governance._support import (
    T0,
    World,
    add_entries,
    draft,
    full_fields,
    template,
)


def test_declared_groups_take_only_the_vocabulary_and_nothing_when_unanswered() -> None:
    assert rules.declared_groups(None, None) == ()
    assert rules.declared_groups("", "") == ()
    assert rules.declared_groups("female", "white") == ("sex:female", "ethnicity:white")
    with pytest.raises(ValueError, match="declared sex"):
        rules.declared_groups("f", None)


def test_group_tally_counts_each_walked_person_once_per_run() -> None:
    groups = {"a": ["sex:female"], "b": ["sex:female", "ethnicity:white"], "c": []}
    hits = [WalkbyHit("a", "cam", 0.8, None), WalkbyHit("a", "cam", 0.9, None)]
    tally = rules.group_tally(["a", "b", "c", "a"], hits, groups)
    assert tally == {"sex:female": [2, 1], "ethnicity:white": [1, 0]}


def test_group_rates_sum_runs_and_leave_out_small_groups() -> None:
    runs = [
        {"sex:female": [3, 1], "sex:male": [2, 2]},
        {"sex:female": [3, 2], "sex:male": [2, 2]},
    ]
    rates = rules.group_rates(runs, totals=(12, 9))  # two undeclared walks, both alerted
    assert [g.group for g in rates] == ["sex:female"]  # two men only: not shown
    (f,) = rates
    assert (f.subjects, f.walks, f.alerted) == (3, 6, 3)
    assert f.tpir == 0.5 and f.tpir_lower < 0.5 < f.tpir_upper
    assert f.rest_tpir == 1.0 and f.below_rest  # 3 of 6 against 6 of 6: upper bound 0.88


def test_a_shortfall_needs_the_interval_not_the_point() -> None:
    (g,) = rules.group_rates([{"sex:male": [3, 2]}], totals=(6, 3))
    assert g.tpir == pytest.approx(2 / 3) and g.rest_tpir == pytest.approx(1 / 3)
    assert not g.below_rest


def _live_with_declared(w: World) -> tuple[str, list[str]]:
    dep = draft(w)
    w.svc.deployments.authorise(w.ao1, dep)
    add_entries(w, dep)
    w.svc.watchlists.sign_off(w.ao2, dep)
    w.clock.advance(hours=1)
    w.svc.deployments.start(w.op1, dep)
    declared: list[tuple[str | None, str | None]] = [("female", "white"), ("female", None)]
    declared += [("female", "asian_or_asian_british")]
    declared += [("male", None), (None, None)]
    return dep, [
        _add(w, w.op1, dep, 200 + i, declared_sex=sex, declared_ethnicity=eth)
        for i, (sex, eth) in enumerate(declared)
    ]


def _add(w: World, by: Actor, dep: str, seed: int, **declared: str | None) -> str:
    return w.svc.assurance.walkbys.add_test_subject(
        by,
        dep,
        template(seed),
        subject_ref=f"PC {seed}",
        consent_ref=f"CF-{seed}",
        consented_on=T0.date(),
        **declared,
    )


def test_walkby_rates_by_declared_group_through_the_service(world: World) -> None:
    w = world
    dep, ids = _live_with_declared(w)
    hits = [WalkbyHit(s, "cam-1", 0.8, 100.0) for s in ids[:1] + ids[3:]]
    run = w.svc.assurance.walkbys.record_walkby(w.op1, dep, "cam-1", ids, hits)
    assert "by_group" not in w.svc.assurance.record(dep)["walkby_runs"][0]
    assert run["walked"] == 5
    (female,) = w.svc.assurance.record(dep)["walkby_groups"]  # one man, one white, one asian
    assert female["group"] == "sex:female"
    assert (female["subjects"], female["walks"], female["alerted"]) == (3, 3, 1)
    assert female["rest_tpir"] == 1.0
    # Sealed at rest, and the audit log says only that a declaration was made.
    with w.svc.ctx.tx() as s:
        rows = list(s.execute(select(am.TestSubject)).scalars())
        assert sum(r.groups_enc is not None for r in rows) == 4
        assert all(b"female" not in (r.groups_enc or b"") for r in rows)
        logged = " ".join(e.after_json for e in s.execute(select(m.AuditRecord)).scalars())
    assert "female" not in logged and "asian" not in logged and '"declared_group":true' in logged


def test_a_declaration_outside_the_vocabulary_is_refused_and_nothing_is_added(
    world: World,
) -> None:
    w = world
    dep, ids = _live_with_declared(w)
    with pytest.raises(RuleViolation, match="declared ethnic group"):
        _add(w, w.op1, dep, 300, declared_ethnicity="caucasian")
    assert len(w.svc.assurance.walkbys.test_list(w.op1, dep)) == len(ids)


def test_group_rates_are_refused_to_other_deployments_and_wrong_roles(world: World) -> None:
    w = world
    dep, _ = _live_with_declared(w)
    solo = w.svc.deployments.create_deployment(w.ao1, "Solo", **full_fields(operators=["op1"]))
    with pytest.raises(PermissionDeniedError):
        w.svc.assurance.view(w.op2, solo)
    with pytest.raises(PermissionDeniedError):
        _add(w, w.ao2, dep, 301, declared_sex="male")
