"""Genuine pairs from real footage: enrol from the start of a face track, probe with later shots.

The walkers clip has no identities labelled, so each face track is taken as one person. For
every track with enough shots, the best-quality K shots of its first third are its enrolment
template (what a compiler would have had, had this person been photographed at that moment),
and its later shots, alone or fused M at a time, search a list of every such track (plus, if
given, distractor templates: other people's photos that fill the list to a size). A search is
a hit when its own track is the top candidate at or above the threshold.

What it can show: how far a real camera (optics, compression, motion, a face turning as it
walks) moves a person's template between moments of ONE pass, at the deployed threshold.
What it cannot show: matching against a photo from another day (enrolment from the same pass
is easier: same light, clothes, camera; so this is an upper bound for that), false alerts
(a handful of strangers is no FPIR), or identity truth (two tracks may be one person, and a
tracker may switch people within a track; the output counts tracks, not people).

Privacy: frames, crops and templates stay in memory for the run; the output holds track ids,
frame indices and scores only. Nothing is enrolled anywhere: the in-memory "list" is the
measurement, not a watchlist.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.eval.configurations import entry_templates, fuse_rows, mate_scores, search
from openlfr.vision.contract import FloatArray
from openlfr.vision.engine import FaceEngine
from openlfr.vision.quality import assess
from openlfr.vision.types import Image

CAN_SHOW = (
    "how far a real camera moves one person's template between moments of one walk-past "
    "(optics, compression, motion, pose), at the deployed threshold"
)
CANNOT_SHOW = (
    "matching against a photo from another day (same-pass enrolment is easier: an upper bound "
    "for that), false alerts (too few strangers), or identity truth (tracks stand in for "
    "people: two tracks may be one person, a track may switch people)"
)


@dataclass
class Track:
    """One face track's shots: frame index, quality score and template, in time order."""

    track_id: int
    frames: list[int] = field(default_factory=list)
    quality: list[float] = field(default_factory=list)
    vectors: list[FloatArray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)


def collect_tracks(
    engine: FaceEngine, frames: Iterable[tuple[int, Image]], *, min_face_px: float | None = None
) -> list[Track]:
    """Detect, track (the pipeline's ByteTrack adapter) and embed every face of every frame."""
    from openlfr.pipeline.tracking import FaceTracker

    tracker = FaceTracker()
    least = engine.min_face_px if min_face_px is None else min_face_px
    tracks: dict[int, Track] = {}
    for index, image in frames:
        tracked, _ = tracker.update(engine.detect(image))
        faces = [t for t in tracked if t.detection.width >= least]
        if not faces:
            continue
        chips = engine.align(image, [t.detection for t in faces])
        vecs = engine.embed_chips(chips)
        for t, chip, v in zip(faces, chips, vecs, strict=True):
            tr = tracks.setdefault(t.track_id, Track(t.track_id))
            tr.frames.append(index)
            tr.quality.append(assess(t.detection, chip).score)
            tr.vectors.append(np.asarray(v, np.float32))
    return [tracks[k] for k in sorted(tracks)]


def video_frames(
    path: Path, *, stride: int = 1, limit: int | None = None
) -> Iterable[tuple[int, Image]]:
    """(index, BGR image) of a video file, every `stride`-th frame, at most `limit` of them."""
    from openlfr.pipeline.sources import PyAVSource

    src = PyAVSource(str(path), lazy=False)
    try:
        n = 0
        for i, fr in enumerate(src.frames()):
            if i % stride:
                continue
            yield i, fr.image
            n += 1
            if limit is not None and n >= limit:
                break
    finally:
        src.close()


@dataclass(frozen=True, slots=True)
class TrackSplit:
    track_id: int
    enrol: tuple[int, ...]  # positions in the track's shots
    probes: tuple[tuple[int, ...], ...]  # groups of M positions, all after the enrolment part


def split_track(tr: Track, k: int, m: int, *, enrol_share: float = 1 / 3) -> TrackSplit | None:
    """Enrol from the best-quality `k` of the first `enrol_share` of the shots; probe with the
    later shots in disjoint time-ordered groups of `m`. None if the track is too short."""
    cut = max(k, round(len(tr) * enrol_share))
    later = list(range(cut, len(tr)))
    if len(later) < m:
        return None
    first = sorted(range(cut), key=lambda j: (-tr.quality[j], j))[:k]
    groups = tuple(tuple(later[g * m : (g + 1) * m]) for g in range(len(later) // m))
    return TrackSplit(tr.track_id, tuple(sorted(first)), groups)


def evaluate_tracks(
    tracks: Sequence[Track],
    configs: Sequence[tuple[int, int]],
    thresholds: dict[tuple[int, int], float | None],
    *,
    distractors: FloatArray | None = None,
    list_size: int | None = None,
    min_shots: int = 6,
) -> dict[str, Any]:
    """The `track_probes` figures: per (K, M), hits at that configuration's threshold, with
    searches counted per track (a track's searches are one person's, not independent).
    `distractors` (other people's templates) fill the list up to `list_size` (default: all)."""
    usable = [t for t in tracks if len(t) >= min_shots]
    items: list[dict[str, Any]] = []
    for k, m in configs:
        splits = [s for t in usable if (s := split_track(t, k, m)) is not None]
        t_of = {t.track_id: t for t in usable}
        if len(splits) < 1:
            items.append({"enrol_photos": k, "probe_shots": m, "tracks": 0})
            continue
        vecs = [np.stack(t_of[s.track_id].vectors) for s in splits]
        gallery = np.stack([vecs[i][list(s.enrol)] for i, s in enumerate(splits)])
        room = len(distractors) if distractors is not None else 0
        if list_size is not None:
            room = min(room, max(0, list_size - len(splits)))
        if distractors is not None and room:
            pad = entry_templates(distractors, [[j] * k for j in range(room)])
            gallery = np.concatenate([gallery, pad]).astype(np.float32)
        probes, mate, per_track = [], [], []
        for i, s in enumerate(splits):
            fused = fuse_rows(vecs[i], list(s.probes))
            probes.append(fused)
            mate.extend([i] * len(s.probes))
            per_track.append(len(s.probes))
        p = np.concatenate(probes).astype(np.float32)
        mp = np.array(mate, np.int64)
        top, arg = search(p, gallery, "mean")
        ms = mate_scores(p, gallery, mp, "mean")
        rank1 = (arg == mp) | (ms >= top)
        t = thresholds.get((k, m))
        hit = rank1 & (ms >= np.float32(t)) if t is not None else None
        tracks_found = (
            None if hit is None else sum(bool(hit[mp == i].any()) for i in range(len(splits)))
        )
        items.append(
            {
                "enrol_photos": k,
                "probe_shots": m,
                "threshold": t,
                "tracks": len(splits),
                "list_size": int(gallery.shape[0]),
                "searches": int(p.shape[0]),
                "searches_per_track": per_track,
                "genuine_score": {
                    "min": float(ms.min()),
                    "median": float(np.median(ms)),
                    "max": float(ms.max()),
                },
                "rank1_share": float(rank1.mean()),
                "hit_share": None if hit is None else float(hit.mean()),
                "tracks_with_a_hit": tracks_found,
            }
        )
    return {
        "protocol": (
            "tracks as identities: enrol from the best-quality K shots of a track's first third, "
            "probe with its later shots (alone or fused M at a time); mean template rule"
        ),
        "can_show": CAN_SHOW,
        "cannot_show": CANNOT_SHOW,
        "tracks_seen": len(tracks),
        "tracks_used": len(usable),
        "min_shots": min_shots,
        "items": items,
    }
