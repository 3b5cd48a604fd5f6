"""Issue 11 acceptance: a mostly single-photo list expects fewer hits at authorisation than the
same list with two photos per entry, and both numbers reach the deployment record (each backend).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from openlfr.governance import transparency
from openlfr.governance.watchlist import PhotoProposal
from openlfr.storage import models as m
from openlfr.vision.contract import Template, l2_normalise
from tests.unit.governance._support import (
    TPIR_TABLE,
    World,
    draft,
    make_world,
    proposal,
    template,
)

ENTRIES = 10


def _second_photo(t: Template, seed: int) -> Template:
    rng = np.random.default_rng(10_000 + seed)  # not a seed `template` uses
    v = t.vector + 0.5 * rng.standard_normal(t.vector.shape).astype(np.float32)
    return Template(l2_normalise(v), t.contract)


def _run(w: World, seed: int, two_photos: int) -> str:
    """Compile ENTRIES entries (the first `two_photos` with a second photo), then authorise,
    sign off, run and end the deployment."""
    dep = draft(w)
    for i in range(ENTRIES):
        t = template(seed + i)
        eid, _ = w.svc.watchlists.add_entry(
            w.compiler, dep, proposal(subject_ref=f"PND/{seed + i}"), t, b"img" * 30
        )
        if i < two_photos:
            w.svc.entry_photos.add_photo(
                w.compiler, eid, PhotoProposal(date(2024, 2, 1), 0.8), _second_photo(t, i), b"p"
            )
    w.svc.deployments.authorise(w.ao1, dep)
    w.svc.watchlists.sign_off(w.ao2, dep)
    return dep


def test_single_photo_list_expects_fewer_hits_and_the_record_says_so(db_url: str) -> None:
    w = make_world(db_url)
    mostly_single = _run(w, 0, two_photos=2)
    two_each = _run(w, 100, two_photos=ENTRIES)
    w.clock.advance(hours=1)
    for dep in (mostly_single, two_each):
        w.svc.deployments.start(w.op1, dep)
        w.svc.deployments.end(w.op1, dep)

    a = w.svc.deployments.deployment(mostly_single)
    b = w.svc.deployments.deployment(two_each)
    one, two = TPIR_TABLE[(1, 1)][1][1], TPIR_TABLE[(2, 1)][1][1]  # lower bounds at 0.5
    assert a["expected_hit_rate"] == pytest.approx(0.8 * one + 0.2 * two)
    assert b["expected_hit_rate"] == pytest.approx(two)
    assert a["expected_hit_rate"] < b["expected_hit_rate"]
    assert a["expected_hits"]["authorisation"]["single_photo_entries"] == 8
    # Expected false alerts sit beside them, unchanged by the photo count.
    assert a["expected_false_alerts"] == pytest.approx(b["expected_false_alerts"])

    ra = w.svc.transparency.deployment_record(mostly_single).to_dict()
    rb = w.svc.transparency.deployment_record(two_each).to_dict()
    assert ra["expected_hit_rate_at_authorisation"] == pytest.approx(a["expected_hit_rate"])
    assert rb["expected_hit_rate_at_authorisation"] == pytest.approx(b["expected_hit_rate"])
    assert ra["expected_hit_rate_at_sign_off"] == pytest.approx(a["expected_hit_rate"])
    assert ra["single_photo_entries"] == 8 and rb["single_photo_entries"] == 0
    assert ra["expected_false_alerts"] is not None and ra["false_alerts"] == 0
    # ... and in the published documents.
    html = transparency.to_html("Deployment record", {"record": ra})
    assert "expected hit rate at authorisation" in html
    assert f"{ra['expected_hit_rate_at_authorisation']:.6g}" in html
    year = w.svc.transparency.annual_summary(w.clock().year)
    assert year["deployments"] == 2
    assert year["expected_hit_rate"] == pytest.approx(
        (a["expected_hit_rate"] + b["expected_hit_rate"]) / 2
    )
    # The further photos go with the list: destroyed 24 h after the end on this backend too.
    w.clock.advance(hours=13)
    assert w.svc.retention.purge().watchlists_destroyed == {mostly_single: 10, two_each: 10}
    with w.svc.ctx.tx() as s:
        assert s.execute(select(m.WatchlistEntryPhoto)).first() is None
    # ... while the record keeps what was expected.
    after = w.svc.transparency.deployment_record(mostly_single).to_dict()
    assert after["expected_hit_rate_at_authorisation"] == ra["expected_hit_rate_at_authorisation"]
    assert w.svc.audit.verify_audit().ok
