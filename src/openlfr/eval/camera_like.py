"""Camera-like probes in the per-configuration protocol: M shots of one pass, not M photos.

The watchlists, enrolment photos and template rule are exactly those of `by_configuration`
(configurations.plan_configurations with the same seed and K/M grid). What changes is the
probe: each listed mated-capable person gets ONE search, from the photo `by_configuration`
would use first for them (the first after the enrolment photos), turned into M degraded shots
(camera_probes.py) and fused. A pass whose shots all lose the face is a miss, as on a camera.

TPIR is reported at the threshold `by_configuration` certified for the same (K, M, list size),
beside that item's own TPIR, so the two protocols are compared at one threshold. A bounded set
of people off the list get degraded passes too: their false alerts at that threshold, against
the same people's undegraded photo, show whether degradation raises scores of strangers. That
set is far too small to certify an FPIR: the FPIR bound stays the one `by_configuration`
states. Cost is bounded: one pass of `shots` images per mated-capable person plus
`nonmated_people` passes, embedded once and scored for every K, M and size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from openlfr.eval.camera_probes import CameraPass, ranges
from openlfr.eval.configurations import (
    ConfigPlan,
    ConfigScores,
    Rule,
    entry_templates,
    mate_scores,
    person_bootstrap_tpir,
    search,
)
from openlfr.eval.identification import SizeScores
from openlfr.eval.stats import rate
from openlfr.vision.contract import FloatArray

PROTOCOL = (
    "M shots of one pass: one photo per listed person (the first after the enrolment photos), "
    "degraded M times as a camera would (seeded; see degradations) and embedded by the engine, "
    "fused as by_configuration fuses photos; one search per person; same lists, enrolment "
    "photos, template rule and thresholds as by_configuration"
)
CAN_SHOW = (
    "how much of the M-photos TPIR survives when the M shots are near-identical, small, "
    "blurred and compressed frames of one moment, at the deployed threshold"
)
CANNOT_SHOW = (
    "real camera optics, pose and occlusion, or a real walk-past (see track_probes for real "
    "footage); the FPIR of degraded probes at 1e-3 (too few non-mated passes: the FPIR bound "
    "is by_configuration's)"
)


@dataclass(frozen=True, slots=True)
class Passes:
    """Embedded passes: mated ones keyed by identity, non-mated ones with the identity's own
    undegraded photo vector (for the paired comparison)."""

    mated: dict[str, CameraPass]
    nonmated: dict[str, tuple[CameraPass, FloatArray]]
    shots: int


def mated_sources(plan: ConfigPlan) -> list[tuple[str, int]]:
    """(identity, dataset row) of the photo each mated-capable person is probed from."""
    return [(i, plan.order[i][plan.k_max]) for i in plan.mated_capable]


def nonmated_sources(plan: ConfigPlan, listed: set[str], people: int) -> list[tuple[str, int]]:
    """Up to `people` identities neither in `listed` nor mated-capable, each with its first
    photo, in an order fixed by their names (a hash), so every run picks the same people."""
    out: list[tuple[str, int]] = []
    capable = set(plan.mated_capable)
    for ident in sorted(plan.order, key=_order_key):
        if ident not in listed and ident not in capable:
            out.append((ident, plan.order[ident][0]))
            if len(out) >= people:
                break
    return out


def _order_key(ident: str) -> bytes:
    import hashlib

    return hashlib.sha256(f"camera:{ident}".encode()).digest()


def score_camera(
    plan: ConfigPlan,
    vectors: FloatArray,
    passes: Passes,
    k: int,
    m: int,
    size: int,
    rule: Rule,
) -> ConfigScores | None:
    """Mated scores of the camera-like searches for one configuration (non-mated part: the
    degraded strangers, for the paired check only); None if the list cannot be filled."""
    listed = plan.watchlist(k, size)
    if listed is None or m > passes.shots:
        return None
    gallery = entry_templates(vectors, [plan.order[i][:k] for i in listed])
    pos = {ident: p for p, ident in enumerate(listed)}
    probes, mate, lost = [], [], []
    for ident, cp in passes.mated.items():
        if ident not in pos:
            continue
        f = cp.fused(m)
        probes.append(np.zeros(vectors.shape[1], np.float32) if f is None else f)
        mate.append(pos[ident])
        lost.append(f is None)
    if not probes:
        return None
    p = np.stack(probes).astype(np.float32)
    mp = np.array(mate, np.int64)
    top, arg = search(p, gallery, rule)
    ms = mate_scores(p, gallery, mp, rule)
    gone = np.array(lost, bool)
    ms[gone] = -1.0  # no face in any shot: never a hit at any threshold
    rank1 = ((arg == mp) | (ms >= top)) & ~gone
    non = [cp.fused(m) for ident, (cp, _) in passes.nonmated.items() if ident not in pos]
    nvec = [v for v in non if v is not None]
    ntop = search(np.stack(nvec), gallery, rule)[0] if nvec else np.zeros(0, np.float32)
    sc = SizeScores(size, ms, rank1, ntop, np.zeros(ntop.size, bool))
    return ConfigScores(k, m, size, rule, sc, mp, len(mp), len(nvec))


def _undegraded_top(
    plan: ConfigPlan, vectors: FloatArray, passes: Passes, k: int, size: int, rule: Rule
) -> FloatArray:
    listed = plan.watchlist(k, size) or ()
    gallery = entry_templates(vectors, [plan.order[i][:k] for i in listed])
    own = [v for ident, (_, v) in passes.nonmated.items() if ident not in set(listed)]
    if not own:
        return np.zeros(0, np.float32)
    return search(np.stack(own), gallery, rule)[0]


def pass_widths(plan: ConfigPlan, passes: Passes, k: int, size: int) -> FloatArray:
    """Face width (px) of each mated search's pass, in score_camera's order."""
    listed = set(plan.watchlist(k, size) or ())
    return np.array(
        [cp.shots[0].face_px for ident, cp in passes.mated.items() if ident in listed], np.float32
    )


def by_width(
    cs: ConfigScores, widths: FloatArray, threshold: float, edges: Sequence[float] = (40, 60, 90)
) -> list[dict[str, Any]]:
    """TPIR at `threshold` for passes whose face was in each width band: small faces are
    where a camera loses people, so the figure depends on where it is mounted."""
    sc = cs.scores
    hit = sc.mated_rank1 & (sc.mated_score >= np.float32(threshold))
    out = []
    for lo, hi in pairwise(edges):
        band = (widths >= lo) & ((widths < hi) | (hi == edges[-1]))
        r = rate(int(hit[band].sum()), int(band.sum()))
        out.append(
            {
                "face_width_px": [lo, hi],
                "searches": r.n,
                "tpir": r.value,
                "tpir_ci": [r.lower, r.upper],
            }
        )
    return out


def camera_item(
    cs: ConfigScores,
    threshold: float | None,
    photos_tpir: float | None,
    undegraded_top: FloatArray,
    *,
    widths: FloatArray | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """One configuration's camera-like figures at `threshold` (by_configuration's)."""
    sc = cs.scores
    item: dict[str, Any] = {
        "enrol_photos": cs.enrol_photos,
        "probe_shots": cs.probe_shots,
        "watchlist_size": cs.size,
        "template_rule": cs.rule,
        "threshold": threshold,
        "mated_searches": sc.n_mated,
        "passes_without_a_face": int((sc.mated_score <= -1.0).sum()),
        "different_photos_tpir": photos_tpir,
    }
    if threshold is None:
        return item | {"tpir": None, "tpir_ci": None, "note": "no certified threshold"}
    hk = int(sc.hit_counts([threshold])[0])
    lo, hi = person_bootstrap_tpir(cs, threshold, boot=500, seed=seed)
    fk = int(sc.fpir_counts([threshold])[0])
    f = rate(fk, sc.n_nonmated)
    uk = int((undegraded_top >= np.float32(threshold)).sum())
    item |= {
        "tpir": hk / sc.n_mated,
        "tpir_ci": [lo, hi],
        "nonmated_passes": sc.n_nonmated,
        "nonmated_alerts": fk,
        "nonmated_alert_interval": [f.lower, f.upper],
        "same_people_undegraded_alerts": [uk, int(undegraded_top.size)],
        "highest_nonmated": float(sc.nonmated_top.max()) if sc.n_nonmated else None,
    }
    if widths is not None and widths.size == sc.n_mated:
        item["by_face_width"] = by_width(cs, widths, threshold)
    return item


def camera_curve(cs: ConfigScores, grid: Sequence[float], *, seed: int = 0) -> list[dict[str, Any]]:
    """TPIR (and its lower bound) over `grid`, in the approval's TpirPoint shape."""
    out = []
    hits = cs.scores.hit_counts(grid)
    for t, hk in zip(grid, hits, strict=True):
        lo, _ = person_bootstrap_tpir(cs, t, boot=200, seed=seed)
        out.append(
            {
                "enrol_photos": cs.enrol_photos,
                "probe_shots": cs.probe_shots,
                "watchlist_size": cs.size,
                "threshold": t,
                "tpir": int(hk) / cs.scores.n_mated,
                "tpir_lower": lo,
            }
        )
    return out


def evaluate_camera_like(
    plan: ConfigPlan,
    vectors: FloatArray,
    passes: Passes,
    configs: Sequence[tuple[int, int, int]],
    rule: Rule,
    by_configuration: Sequence[dict[str, Any]],
    *,
    grid: Sequence[float],
    seed: int = 0,
) -> dict[str, Any]:
    """The report's `camera_like` section for the (K, M, size) `configs`."""
    ref = {
        (it["enrol_photos"], it["probe_shots"], it["watchlist_size"]): it for it in by_configuration
    }
    items, curve, skipped = [], [], []
    for k, m, n in configs:
        cs = score_camera(plan, vectors, passes, k, m, n, rule)
        if cs is None:
            skipped.append(f"K={k}, M={m}, watchlist {n:,}: list cannot be filled")
            continue
        it = ref.get((k, m, n), {})
        und = _undegraded_top(plan, vectors, passes, k, n, rule)
        w = pass_widths(plan, passes, k, n)
        items.append(camera_item(cs, it.get("threshold"), it.get("tpir"), und, widths=w, seed=seed))
        curve.extend(camera_curve(cs, grid, seed=seed))
    return {
        "protocol": PROTOCOL,
        "can_show": CAN_SHOW,
        "cannot_show": CANNOT_SHOW,
        "degradations": ranges(),
        "shots_per_pass": passes.shots,
        "seed": seed,
        "items": items,
        "tpir_curve": curve,
        "skipped": skipped,
    }


def summary_lines(section: dict[str, Any]) -> list[str]:
    """What the console summary says of the camera-like figures, beside the photo ones."""
    out = [f"camera-like ({section['shots_per_pass']} degraded shots of one photo per pass):"]
    for it in section.get("items", []):
        if it.get("tpir") is None:
            continue
        lo, hi = it["tpir_ci"]
        photos = it.get("different_photos_tpir")
        out.append(
            f"  K={it['enrol_photos']} x M={it['probe_shots']}, list {it['watchlist_size']:,}, "
            f"T={it['threshold']:.3f}: TPIR {100 * it['tpir']:.1f}% [{100 * lo:.1f}, "
            f"{100 * hi:.1f}]"
            + ("" if photos is None else f" (M different photos: {100 * photos:.1f}%)")
        )
    for it in (section.get("track_probes") or {}).get("items", []):
        if it.get("hit_share") is not None:
            out.append(
                f"  walk-past tracks K={it['enrol_photos']} x M={it['probe_shots']}: "
                f"{it['tracks_with_a_hit']}/{it['tracks']} tracks found their own later shots"
            )
    return out


def attach(report: dict[str, Any], section: dict[str, Any]) -> None:
    """Put the section in the report and its curve in the approval (if there is one), so
    expected hits at authorisation use the camera-like figure (approval.camera_tpir_curve)."""
    report["camera_like"] = {k: v for k, v in section.items() if k != "tpir_curve"}
    if "approval" in report:
        report["approval"]["camera_tpir_curve"] = section["tpir_curve"]


def run_camera_like(
    ctx: Any,
    data: Any,
    ident: Any,
    *,
    seed: int = 0,
    max_identities: int | None = None,
    nonmated_people: int = 300,
    cap: int = 5,
    video: Any = None,
    plan: ConfigPlan | None = None,
) -> dict[str, Any] | None:
    """Camera-like figures for an identification run's configurations (`ident`: the report's
    IdentificationPart, whose `by_configuration` thresholds they are measured at). Rebuilds
    the same plan from the same (reviewed, cached) dataset; embeds only the degraded shots.
    `video`: also the real-footage protocol (track_probes.py) on that clip, its tracks listed
    among the policy-size list's other people. None where no configurations were measured."""
    from pathlib import Path

    from openlfr.eval.camera_probes import embed_pass
    from openlfr.eval.config_runner import CURVE_GRID
    from openlfr.eval.configurations import plan_configurations
    from openlfr.eval.runner import _subset
    from openlfr.vision.imageio import load_image

    cp = ident.configurations
    if cp is None:
        return None
    ds = _subset(ctx.scan(Path(data)), max_identities, seed)
    emb = ctx.embed(ds, f"embedding {ds.name}")
    # The plan run_configurations built (same data, seed and grid give the same one); a run
    # that plans differently (a person split) passes its own, over the same dataset's rows.
    plan = plan or plan_configurations(
        ds, emb.ok, cp.enrol_photos, cp.probe_shots, seed=seed, cap=cap
    )
    shots = plan.m_max
    eng = ctx.engine

    def one(ident_row: tuple[str, int]) -> CameraPass | None:
        path = ds.records[ident_row[1]].path
        image = load_image(path, limits=eng.limits, name=str(path))
        return embed_pass(eng, image, path.name, shots, seed=seed, select=ctx.select)

    mated = {i: p for i, r in mated_sources(plan) if (p := one((i, r))) is not None}
    big = max(cp.sizes)
    listed = set(plan.watchlist(min(plan.enrol_photos), big) or ())
    non = {
        i: (p, emb.vectors[r])
        for i, r in nonmated_sources(plan, listed, nonmated_people)
        if (p := one((i, r))) is not None
    }
    configs = [(k, m, n) for k in plan.enrol_photos for m in plan.probe_shots for n in cp.sizes]
    section = evaluate_camera_like(
        plan,
        emb.vectors,
        Passes(mated, non, shots),
        configs,
        cp.rule,
        cp.items,
        grid=CURVE_GRID,
        seed=seed,
    )
    section["mated_people"] = len(mated)
    section["nonmated_people"] = len(non)
    if video is not None:
        section["track_probes"] = _tracks(eng, Path(video), plan, emb.vectors, cp, ident)
    return section


def _tracks(
    eng: Any, video: Any, plan: ConfigPlan, vectors: FloatArray, cp: Any, ident: Any
) -> Any:
    from openlfr.eval.track_probes import collect_tracks, evaluate_tracks, video_frames

    size = ident.policy_size
    tracks = collect_tracks(eng, video_frames(video))
    listed = plan.watchlist(1, size) or ()
    # The list's other people: enrolment photos of the K=1 list, as many as leave room.
    distractors = vectors[[plan.order[i][0] for i in listed]]
    configs = [(k, m) for k in plan.enrol_photos for m in plan.probe_shots]
    at = {
        (it["enrol_photos"], it["probe_shots"]): it["threshold"]
        for it in cp.items
        if it["watchlist_size"] == size
    }
    out = evaluate_tracks(tracks, configs, at, distractors=distractors, list_size=size)
    out["video"] = video.name
    return out
