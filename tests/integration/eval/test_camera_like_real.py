"""Camera-like probes with the real engine on the LFW subset test_eval_real.py embeds (same
subset and seed, so a full run embeds its images once): degraded shots of one photo go through
the detector and embedder, land at the configuration's own threshold, and come out the same on
every run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openlfr.eval.camera_like import attach, run_camera_like
from openlfr.eval.camera_probes import embed_pass
from openlfr.eval.runner import ConfigOptions, EvalContext, run_identification
from openlfr.vision.imageio import load_image

pytestmark = pytest.mark.data


def test_camera_like_section_on_real_lfw_subset(eval_ctx: EvalContext, lfw_dir: Path) -> None:
    ident = run_identification(
        eval_ctx,
        lfw_dir / "images",
        [20, 50],
        policy_fpir=5e-2,
        policy_size=50,
        max_identities=200,
        boot=50,
        seed=1,
        configurations=ConfigOptions(enrol_photos=(1, 2), probe_shots=(1, 2), znorm=False),
    )
    sec = run_camera_like(
        eval_ctx, lfw_dir / "images", ident, seed=1, max_identities=200, nonmated_people=15
    )
    assert sec is not None and ident.configurations is not None
    by = {
        (c["enrol_photos"], c["probe_shots"], c["watchlist_size"]): c
        for c in ident.configurations.items
    }
    items = {(c["enrol_photos"], c["probe_shots"], c["watchlist_size"]): c for c in sec["items"]}
    assert set(items) == set(by)
    for key, it in items.items():
        assert it["threshold"] == by[key]["threshold"]  # the same threshold as by_configuration
        # One pass per listed mated-capable person (a list of 20 holds only 20 of them).
        assert 0 < it["mated_searches"] == min(sec["mated_people"], key[2])
        if it["tpir"] is not None:
            assert it["tpir_ci"][0] <= it["tpir"] <= it["tpir_ci"][1]
            assert it["nonmated_passes"] <= 15
    # The detector finds the 40-90 px face in nearly every shot.
    assert items[(1, 2, 50)]["passes_without_a_face"] <= 0.1 * sec["mated_people"]
    rep: dict[str, object] = {"approval": {}}
    attach(rep, sec)
    curve = rep["approval"]["camera_tpir_curve"]  # type: ignore[index]
    assert {(p["enrol_photos"], p["probe_shots"]) for p in curve} == {
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    }


def test_degraded_shots_are_the_same_on_every_run(eval_ctx: EvalContext, lfw_dir: Path) -> None:
    path = lfw_dir / "images" / "Colin_Powell" / "Colin_Powell_0001.jpg"
    image = load_image(path)
    a = embed_pass(eval_ctx.engine, image, path.name, 3, seed=1)
    b = embed_pass(eval_ctx.engine, image, path.name, 3, seed=1)
    c = embed_pass(eval_ctx.engine, image, path.name, 3, seed=2)
    assert a is not None and b is not None and c is not None
    assert a.usable.all() and np.array_equal(a.vectors, b.vectors) and a.shots == b.shots
    assert a.shots != c.shots
    # Degraded, the photo still matches itself, less well than undegraded (1.0).
    own = eval_ctx.engine.face_from_image(image, select="central").template.vector
    fused = a.fused(3)
    assert fused is not None and 0.5 < float(fused @ own) < 0.99


def test_walkers_tracks_match_their_own_later_shots(sface_engine, video_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Real footage, first second only (seconds of CPU): tracks are the identities."""
    from openlfr.eval.track_probes import collect_tracks, evaluate_tracks, video_frames

    tracks = collect_tracks(sface_engine, video_frames(video_path, limit=20))
    out = evaluate_tracks(tracks, [(1, 1), (1, 3)], {(1, 1): 0.6, (1, 3): 0.6})
    assert out["tracks_used"] >= 3
    one, fused = out["items"]
    assert one["tracks"] == out["tracks_used"] and one["searches"] > fused["searches"] > 0
    # A person's later frames of one pass are mostly their own best match.
    assert one["rank1_share"] > 0.5 and one["genuine_score"]["median"] > 0.4
    assert "can_show" in out and "cannot_show" in out
