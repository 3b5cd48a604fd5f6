"""Expected hits (issue 11): the share of listed people a deployment should find.

Expected false alerts (C.10) alone let a deployment look fine while it misses most of its
targets: at a fair threshold a single-photo entry and a single-shot probe find about a third of
the people who walk past. So authorisation and sign-off also record the expected share of
listed people found if they pass a camera, computed for the actual list (how many usable photos
each entry has) and the threshold, from the model approval's TPIR curve by (enrolment photos,
probe shots). Plain functions over the approval dataclass: no database, no web.

The lookup errs towards fewer expected hits, as the FPIR projection errs towards more false
alerts: the curve's lower confidence bound, the nearest measured configuration at or below the
entry's photo count and the pipeline's probe shots, and the smallest measured list at or above
the deployment's list size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from openlfr.eval.approval import ModelApproval

SINGLE_PHOTO_FLAG = "single_photo"


def expected_tpir(
    approval: ModelApproval,
    enrol_photos: int,
    probe_shots: int,
    threshold: float,
    watchlist_size: int | None = None,
) -> float | None:
    """TPIR for one entry of `enrol_photos` photos: the approval's lookup (`eval.approval`),
    at its lower confidence bound where the curve carries bounds; None where not measured.
    The camera-like curve (shots of one pass) where the approval has one: M different photos
    describe no camera, and would promise more hits than a deployment gets."""
    camera = approval.tpir_curve_used() == "camera_like"
    curve = approval.camera_tpir_curve if camera else approval.tpir_curve
    bounded = any(p.tpir_lower > 0 for p in curve)
    return approval.expected_tpir(
        enrol_photos, probe_shots, threshold, watchlist_size=watchlist_size, lower=bounded
    )


@dataclass(frozen=True, slots=True)
class HitProjection:
    """Expected share of listed people found, and what it was computed from."""

    rate: float | None  # None: the approval's curve does not cover this list or threshold
    threshold: float
    probe_shots: int
    entries: int
    # photos per entry -> number of entries with that many usable photos
    photo_counts: dict[int, int] = field(default_factory=dict)
    rate_by_photos: dict[int, float | None] = field(default_factory=dict)
    # "list": the actual entries; "assumed_one_photo": the list was still empty, so every entry
    # to come is assumed to have one photo (the lowest rate), as false alerts are projected at
    # the size cap.
    basis: str = "list"
    # The approval's curve it was read from: "camera_like" or "different_photos" (older).
    curve: str = "different_photos"

    @property
    def single_photo_entries(self) -> int:
        return self.photo_counts.get(1, 0)

    def to_dict(self) -> dict[str, Any]:
        # Every field, so a new one is never left out; JSON keys are strings.
        return {
            **asdict(self),
            "photo_counts": {str(k): v for k, v in sorted(self.photo_counts.items())},
            "rate_by_photos": {str(k): v for k, v in sorted(self.rate_by_photos.items())},
            "single_photo_entries": self.single_photo_entries,
        }


def expected_hit_rate(
    approval: ModelApproval,
    photo_counts: Sequence[int],
    *,
    probe_shots: int,
    threshold: float,
    watchlist_size: int | None = None,
) -> HitProjection:
    """The mean, over the list's entries, of the TPIR each one's photo count gives.

    A person on the list who passes a camera is found with the probability of their own
    entry's configuration, so the share of listed people found is the mean of those.
    """
    basis = "list" if photo_counts else "assumed_one_photo"
    counts = Counter(int(c) for c in photo_counts) if photo_counts else Counter({1: 1})
    size = watchlist_size if watchlist_size is not None else len(photo_counts) or None
    by_photos = {
        k: expected_tpir(approval, k, probe_shots, threshold, size) for k in sorted(counts)
    }
    known = [r for r in by_photos.values() if r is not None]
    rate = None
    if len(known) == len(by_photos):
        total = sum(counts.values())
        rate = sum(counts[k] * r for k, r in by_photos.items() if r is not None) / total
    return HitProjection(
        rate=rate,
        threshold=threshold,
        probe_shots=probe_shots,
        entries=len(photo_counts),
        photo_counts=dict(counts) if photo_counts else {},
        rate_by_photos=by_photos,
        basis=basis,
        curve=approval.tpir_curve_used(),
    )


def entry_flags(stored_flags: Sequence[str], usable_photos: int) -> list[str]:
    """An entry's flags as shown: those stored at enrolment plus the live photo-count flag."""
    out = [f for f in stored_flags if f != SINGLE_PHOTO_FLAG]
    if usable_photos <= 1:
        out.append(SINGLE_PHOTO_FLAG)
    return out
