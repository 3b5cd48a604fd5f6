"""Multi-photo entries in the service: who may add photos, their checks, storage, matching, and
the expected hit rate recorded at authorisation and sign-off."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import select, text

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import (
    ContractMismatchError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolation,
)
from openlfr.governance.watchlist import PhotoProposal
from openlfr.storage import models as m
from openlfr.vision.contract import EmbeddingContract, Template, l2_normalise
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.governance._support import (
    MARKER,
    TPIR_TABLE,
    World,
    add_entries,
    draft,
    make_world,
    template,
)

PHOTO_MARKER = b"OPENLFR-TEST-SECOND-PHOTO-"


def near(t: Template, seed: int, eps: float = 0.6) -> Template:
    """Another photo of the same person: the template moved a little."""
    rng = np.random.default_rng(seed)
    v = l2_normalise(t.vector + eps * rng.standard_normal(t.vector.shape).astype(np.float32) / 4)
    return Template(v, t.contract)


def add_photo(w: World, eid: str, t: Template, on: date = date(2024, 3, 1), q: float = 0.8) -> str:
    pid, _ = w.svc.entry_photos.add_photo(
        w.compiler, eid, PhotoProposal(on, q), t, PHOTO_MARKER + eid.encode()
    )
    return pid


def test_photos_counted_flagged_and_rated_per_entry(world: World) -> None:
    dep = draft(world)
    ids = add_entries(world, dep, 3)
    add_photo(world, ids[0], near(template(0), 100))
    rows = {e["id"]: e for e in world.svc.watchlists.entries(world.dpo, dep)}
    assert rows[ids[0]]["photos"] == 2 and "single_photo" not in rows[ids[0]]["flags"]
    assert rows[ids[1]]["photos"] == 1 and "single_photo" in rows[ids[1]]["flags"]
    # Threshold 0.5, one probe shot: the lower bounds of the (2, 1) and (1, 1) rows.
    assert rows[ids[0]]["expected_hit_rate"] == pytest.approx(TPIR_TABLE[(2, 1)][1][1])
    assert rows[ids[1]]["expected_hit_rate"] == pytest.approx(TPIR_TABLE[(1, 1)][1][1])
    photos = world.svc.entry_photos.photos(world.dpo, ids[0])
    assert [p["first"] for p in photos] == [True, False]
    exp = world.svc.entry_photos.expected_hits(world.compiler, dep)
    assert exp is not None and exp["photo_counts"] == {"1": 2, "2": 1}


def test_only_this_deployments_compiler_adds_photos(world: World) -> None:
    dep = draft(world)
    (eid,) = add_entries(world, dep, 1)
    # compiler2 compiles another deployment: not this list's compiler.
    other = draft(world, compiler="compiler2")
    add_entries(world, other, 1, by=world.compiler2)
    t = near(template(0), 1)
    with pytest.raises(PermissionDeniedError, match="compiler2 is not assigned"):
        world.svc.entry_photos.add_photo(
            world.compiler2, eid, PhotoProposal(date(2024, 1, 1), 0.8), t, b"x"
        )
    for who in (world.op1, world.ao2, world.dpo):
        with pytest.raises(RuleViolation, match="compiler"):
            world.svc.entry_photos.add_photo(
                who, eid, PhotoProposal(date(2024, 1, 1), 0.8), t, b"x"
            )
    with pytest.raises(NotFoundError):
        world.svc.entry_photos.add_photo(
            world.compiler, "nope", PhotoProposal(date(2024, 1, 1), 0.8), t, b"x"
        )
    pid = add_photo(world, eid, t)
    with pytest.raises(PermissionDeniedError, match="compiler2 is not assigned"):
        world.svc.entry_photos.remove_photo(world.compiler2, pid, "not mine")
    with pytest.raises(PermissionDeniedError):
        world.svc.entry_photos.photos(world.admin, eid)
    # Signed off: the list, photos included, is fixed.
    world.svc.deployments.authorise(world.ao1, dep)
    world.svc.watchlists.sign_off(world.ao2, dep)
    with pytest.raises(RuleViolation, match="signed off"):
        add_photo(world, eid, near(template(0), 2))
    with pytest.raises(RuleViolation, match="signed off"):
        world.svc.entry_photos.remove_photo(world.compiler, pid, "too late")
    recs = world.svc.audit.audit_records(actions=("watchlist.add_photo",))
    assert len(recs) == 1  # refusals change nothing and leave no record
    assert world.svc.audit.verify_audit().ok


def test_photo_checks(world: World) -> None:
    dep = draft(world)
    (eid,) = add_entries(world, dep, 1)
    svc = world.svc.entry_photos
    with pytest.raises(RuleViolation, match="repeats"):
        svc.add_photo(world.compiler, eid, PhotoProposal(date(2024, 1, 1), 0.8), template(0), b"x")
    with pytest.raises(RuleViolation, match="quality"):
        svc.add_photo(
            world.compiler, eid, PhotoProposal(date(2024, 1, 1), 0.1), near(template(0), 3), b"x"
        )
    with pytest.raises(RuleViolation, match="capture date"):
        svc.add_photo(world.compiler, eid, PhotoProposal(None, 0.8), near(template(0), 3), b"x")
    other = EmbeddingContract("other/model", "1", MOCK_CONTRACT.dim)
    with pytest.raises(ContractMismatchError):
        svc.add_photo(
            world.compiler,
            eid,
            PhotoProposal(date(2024, 1, 1), 0.8),
            Template(template(5).vector, other),
            b"x",
        )
    # Somebody else's face (a random template) is allowed but flagged for the reviewer; the
    # entry's first photo was taken on 2025-09-01, so the same date is flagged as one occasion.
    _, flags = svc.add_photo(
        world.compiler, eid, PhotoProposal(date(2025, 9, 1), 0.8), template(77), b"x"
    )
    assert flags == ["same_occasion", "unlike_other_photos"]


def test_photos_sealed_searched_by_rule_and_destroyed_with_the_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for rule, rows_expected in (("mean", 2), ("max", 3)):
        w = make_world(
            f"sqlite:///{tmp_path / rule}.sqlite3",
            settings=GovernanceSettings(template_rule=rule),  # type: ignore[arg-type]
        )
        dep = draft(w)
        w.svc.deployments.authorise(w.ao1, dep)
        ids = add_entries(w, dep, 2)
        second = near(template(0), 9)
        add_photo(w, ids[0], second)
        w.svc.watchlists.sign_off(w.ao2, dep)
        w.clock.advance(hours=1)
        w.svc.deployments.start(w.op1, dep)
        wl = w.svc.watchlists.load_watchlist(dep)
        assert (
            len(wl.entry_ids) == rows_expected and wl.entry_ids.count(ids[0]) == rows_expected - 1
        )
        # Subject access finds the person through either photo.
        hits = w.svc.subject_rights.subject_access(w.dpo, second, threshold=0.99)
        assert [h.id for h in hits if h.kind == "watchlist_entry"] == [ids[0]]
        with w.svc.ctx.tx() as s:
            raw = b"".join(
                bytes(r[0]) for r in s.execute(text("select image_enc from watchlist_entry_photos"))
            )
            assert raw and PHOTO_MARKER not in raw and MARKER not in raw
        w.svc.deployments.end(w.op1, dep)
        w.clock.advance(hours=13)
        w.svc.retention.purge()
        with w.svc.ctx.tx() as s:
            assert s.execute(select(m.WatchlistEntryPhoto)).first() is None


def test_expected_hits_recorded_at_authorisation_and_sign_off(world: World) -> None:
    dep = draft(world)
    world.svc.deployments.authorise(world.ao1, dep)
    d = world.svc.deployments.deployment(dep)
    # Empty list at authorisation: every entry to come is assumed single-photo.
    assert d["expected_hit_rate"] == pytest.approx(TPIR_TABLE[(1, 1)][1][1])
    assert d["expected_hits"]["authorisation"]["basis"] == "assumed_one_photo"
    ids = add_entries(world, dep, 4)
    for i in ids:
        add_photo(world, i, near(template(ids.index(i)), 50 + ids.index(i)))
    world.svc.watchlists.sign_off(world.ao2, dep)
    d = world.svc.deployments.deployment(dep)
    assert d["expected_hit_rate_signoff"] == pytest.approx(TPIR_TABLE[(2, 1)][1][1])
    assert d["expected_hits"]["sign_off"]["photo_counts"] == {"2": 4}
    rec = world.svc.transparency.deployment_record(dep).to_dict()
    assert rec["expected_hit_rate_at_authorisation"] == pytest.approx(0.34)
    assert rec["expected_hit_rate_at_sign_off"] == pytest.approx(0.59)
    assert rec["single_photo_entries"] == 0 and rec["listed_people_found"] == 0
