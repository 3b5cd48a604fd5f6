"""The person-disjoint development / test split, and choices made on the development part."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.errors import DatasetError
from openlfr.eval.choices import DevPart
from openlfr.eval.config_runner import run_configurations
from openlfr.eval.configurations import plan_configurations, score_configuration
from openlfr.eval.dataset import Labels
from openlfr.eval.group_rates import group_identification
from openlfr.eval.split import PersonSplit

from ._synth import synthetic

SIZES = [8] * 60 + [2] * 150 + [3] * 120 + [1] * 900


def test_split_is_person_disjoint_seeded_and_stable() -> None:
    ds, _, _ = synthetic([3] * 200 + [1] * 300)
    sp = PersonSplit(seed=4, dev_share=0.3)
    dev, test = sp.part(ds, "dev"), sp.part(ds, "test")
    assert not set(dev.identities) & set(test.identities)
    assert len(dev) + len(test) == len(ds)
    assert 0.2 < len(dev.identities) / len(ds.identities) < 0.4
    # The same people land in the same part on every run; another seed moves them.
    assert set(PersonSplit(seed=4, dev_share=0.3).part(ds, "dev").identities) == set(dev.identities)
    assert set(PersonSplit(seed=5, dev_share=0.3).part(ds, "dev").identities) != set(dev.identities)
    off = PersonSplit(seed=4, dev_share=0.0)
    assert off.part(ds, "test") is ds
    with pytest.raises(DatasetError, match="no development part"):
        off.part(ds, "dev")
    with pytest.raises(DatasetError, match="development share"):
        PersonSplit(dev_share=1.0)


def test_choices_are_made_on_the_development_people_only() -> None:
    ds, vec, ok = synthetic(SIZES, noise=0.9, seed=2)
    _, extra, _ = synthetic([1] * 1500, seed=5, noise=0.9)
    sp = PersonSplit(seed=0, dev_share=0.3)
    dev_ds, test_ds = sp.part(ds, "dev"), sp.part(ds, "test")
    rows = {r.path: i for i, r in enumerate(ds.records)}
    tv = vec[[rows[r.path] for r in test_ds.records]]
    dv = vec[[rows[r.path] for r in dev_ds.records]]
    part = run_configurations(
        test_ds,
        tv,
        np.ones(len(test_ds), bool),
        [1, 2],
        [1],
        [50, 200],
        extra=extra[:1000],
        labels=None,
        single_floors={"utk": 0.3},
        policy_fpir=1e-2,
        policy_size=200,
        dev=DevPart(dev_ds, dv, np.ones(len(dev_ds), bool), extra[1000:]),
    )
    d = part.to_dict()
    choice = d["template_rule_choice"]
    assert choice["people"].startswith("development part")
    # The development part is smaller: the rule was measured at a list it can fill.
    assert all(n <= 200 for _, _, n, _ in choice["measured_on"])
    assert d["znorm"].get("people", "").startswith("development part") or not d["znorm"]["adopted"]
    dev_people = set(dev_ds.identities)
    for c in d["by_configuration"]:
        # No figure searches for a development person or uses one as a non-mated search.
        for h in c["highest_nonmated"]:
            assert h["search"] not in dev_people


def test_group_identification_rates_with_person_intervals() -> None:
    ds, vec, ok = synthetic([8] * 80 + [1] * 400, noise=0.6, seed=3)
    plan = plan_configurations(ds, ok, [1], [1], seed=0, cap=5)
    cs = score_configuration(plan, vec, 1, 1, 80, "mean")
    assert cs is not None
    listed = plan.watchlist(1, 80)
    assert listed is not None
    groups = {ident: ("a" if int(ident[2:]) % 2 else "b") for ident in listed}
    rows = group_identification(cs, listed, groups, 0.3, factor=2.0, boot=200)
    assert [r["group"] for r in rows] == ["a", "b"]
    for r in rows:
        assert r["people"] == 40 and r["tpir_ci"][0] <= r["tpir"] <= r["tpir_ci"][1]
        assert r["fnir_ratio_ci"][0] <= r["fnir_ratio_ci"][1]
    # Groups of fewer than five people are left out rather than given meaningless rates.
    few = {listed[0]: "c", listed[1]: "c"}
    assert group_identification(cs, listed, few, 0.3, factor=2.0) == []
    assert Labels({}, "x").attribute_names() == []
