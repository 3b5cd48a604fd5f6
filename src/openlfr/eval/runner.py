"""End-to-end evaluation runs: dataset folder -> cached templates -> scores -> results.

Used by `openlfr eval ...` and by the integration tests; nothing here prints except the
progress bars, and nothing writes a face image anywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from openlfr.errors import DatasetError
from openlfr.eval.cache import (
    EmbeddedSet,
    TemplateCache,
    cache_namespace,
    default_cache_dir,
    embed_images,
)
from openlfr.eval.config_runner import DevPart, run_configurations
from openlfr.eval.configurations import Rule
from openlfr.eval.dataset import Dataset, Labels, lfw_labels, scan_any, scan_flat, utkface_labels
from openlfr.eval.demographics import DemographicResult, evaluate_demographics
from openlfr.eval.identification import (
    THRESHOLD_GRID,
    evaluate_size,
    plan_gallery,
    score_size,
)
from openlfr.eval.report import IdentificationPart
from openlfr.eval.review import IdentityReview, apply_review
from openlfr.eval.split import Part, PersonSplit
from openlfr.vision.contract import FloatArray
from openlfr.vision.engine import FaceEngine, Select

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfigOptions:
    """What the per-(K, M) part of an identification run measures (see config_runner.py)."""

    enrol_photos: tuple[int, ...] = (1,)
    probe_shots: tuple[int, ...] = (1,)
    labels: tuple[Path, ...] = ()  # LFW labels: per-configuration gender evaluation
    single_floors: dict[str, float | None] = field(default_factory=dict)
    rule: Rule | None = None  # None: measure mean / max / both and pick
    factor: float = 2.0
    znorm: bool = True


@dataclass
class EvalContext:
    engine: FaceEngine
    cache: TemplateCache | None
    select: Select = "central"
    progress: bool = True
    review: IdentityReview | None = None  # label fixes applied to every dataset scanned
    reviewed: dict[str, dict[str, object]] = field(default_factory=dict)
    # Off unless asked for (the CLI asks): choices on the dev part, figures on the test part.
    split: PersonSplit = field(default_factory=lambda: PersonSplit(dev_share=0.0))
    parts: dict[str, dict[str, Dataset]] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        engine: FaceEngine,
        cache_dir: Path | None = None,
        *,
        use_cache: bool = True,
        select: Select = "central",
        progress: bool = True,
        review: IdentityReview | None = None,
        split: PersonSplit | None = None,
    ) -> EvalContext:
        cache = None
        if use_cache:
            cache = TemplateCache(cache_dir or default_cache_dir(), cache_namespace(engine, select))
        return cls(engine, cache, select, progress, review, split=split or PersonSplit(0, 0.0))

    def scan(self, root: Path, *, flat: bool = False, part: Part = "test") -> Dataset:
        """A dataset folder with the identity review applied (LFW rows to folder-per-identity
        sets, UTKFace rows to flat ones), then the split's part of its people (the whole set
        when the split is off); what the review changed is kept for the report."""
        ds = scan_flat(root) if flat else scan_any(root)
        if self.review is not None:
            # scan_any reads a folder without subfolders as flat, one person per image.
            flat = flat or all(r.path.parent == ds.root for r in ds.records)
            ds, summary = apply_review(ds, self.review, "utkface" if flat else "lfw", flat=flat)
            if summary["images_left_out"] or summary["identities_merged"]:
                self.reviewed[str(root)] = summary
        if not self.split.active:
            return ds
        out = self.split.part(ds, part)
        self.parts.setdefault(str(root), {})[part] = out
        return out

    def embed(self, ds: Dataset, description: str) -> EmbeddedSet:
        emb = embed_images(
            self.engine,
            ds.paths,
            cache=self.cache,
            select=self.select,
            progress=self.progress,
            description=description,
        )
        log.info(
            "%s: %d images, %d usable, %d cached",
            ds.name,
            len(ds),
            int(emb.ok.sum()),
            emb.cache_hits,
        )
        return emb


def _subset(ds: Dataset, max_identities: int | None, seed: int) -> Dataset:
    """A seeded subset of identities for quick runs and tests (keeps all their images)."""
    if max_identities is None or len(ds.identities) <= max_identities:
        return ds
    rng = np.random.default_rng(seed)
    names = sorted(ds.identities)
    multi = [n for n in names if len(ds.identities[n]) >= 2]
    single = [n for n in names if len(ds.identities[n]) < 2]
    # Keep the dataset's mix of multi- and single-image identities.
    n_multi = max(1, round(max_identities * len(multi) / len(names)))
    pick = [multi[i] for i in rng.permutation(len(multi))[:n_multi]]
    pick += [single[i] for i in rng.permutation(len(single))[: max_identities - len(pick)]]
    keep = set(pick)
    return Dataset.from_records(ds.root, [r for r in ds.records if r.identity in keep], ds.name)


def run_identification(
    ctx: EvalContext,
    data: Path,
    sizes: Sequence[int],
    *,
    extra_nonmated: Path | None = None,
    policy_fpir: float = 1e-3,
    policy_size: int | None = None,
    seed: int = 0,
    max_identities: int | None = None,
    boot: int = 200,
    default_threshold: float = 0.5,
    configurations: ConfigOptions | None = None,
) -> IdentificationPart:
    t0 = time.perf_counter()
    if not sizes or any(s <= 0 for s in sizes):
        raise DatasetError(f"watchlist sizes must be positive integers, got {list(sizes)}")
    ds = _subset(ctx.scan(Path(data)), max_identities, seed)
    emb = ctx.embed(ds, f"embedding {ds.name}")
    extra_vecs = None
    extra_people: list[str] | None = None
    if extra_nonmated is not None:
        xds = ctx.scan(Path(extra_nonmated), flat=True)
        xemb = ctx.embed(xds, f"embedding {xds.name}")
        extra_vecs = xemb.vectors[xemb.ok]
    dev = _dev_part(ctx, Path(data), extra_nonmated, max_identities, seed)
    if dev is not None:
        # The development people are never on a test list, so they are passers-by to it:
        # more non-mated people make the calibration's person-level bound tighter, and no
        # choice ever saw their scores against a test list (choices use development lists).
        extra_vecs, extra_people = _passers_by(extra_vecs, dev)
    t_embed = time.perf_counter() - t0
    if not emb.ok.any():
        raise DatasetError("no image in the dataset gave a usable face", source=str(data))
    gallery = plan_gallery(ds, emb.ok, seed)
    results = []
    curves: dict[int, list[tuple[float, int, int]]] = {}
    thresholds = sorted({*THRESHOLD_GRID, default_threshold})
    from rich.console import Console
    from rich.progress import Progress

    with Progress(disable=not ctx.progress, console=Console(stderr=True)) as bar:
        for size in sorted(set(sizes)):
            # Every usable image is searched except the enrolment images themselves.
            n_extra = 0 if extra_vecs is None else extra_vecs.shape[0]
            sc_probe_count = int(emb.ok.sum()) - min(size, len(gallery.order)) + n_extra
            task = bar.add_task(f"searching, watchlist {size:,}", total=sc_probe_count)
            sc = score_size(
                size,
                gallery,
                emb.vectors,
                extra_vecs,
                seed=seed,
                progress=lambda n, task=task: bar.advance(task, n),
                extra_people=extra_people,
            )
            results.append(
                evaluate_size(
                    sc, thresholds=thresholds, policy_fpir=policy_fpir, boot=boot, seed=seed
                )
            )
            ks = sc.fpir_counts(THRESHOLD_GRID)
            curves[size] = [
                (t, int(k), sc.n_nonmated) for t, k in zip(THRESHOLD_GRID, ks, strict=True)
            ]
    pol_size = policy_size if policy_size in set(sizes) else sorted(sizes)[min(1, len(sizes) - 1)]
    config_part = None
    config_error = ""
    if configurations is not None:
        co = configurations
        try:
            config_part = run_configurations(
                ds,
                emb.vectors,
                emb.ok,
                co.enrol_photos,
                co.probe_shots,
                sizes,
                extra=extra_vecs,
                labels=lfw_labels(co.labels, ds) if co.labels else None,
                single_floors=co.single_floors,
                policy_fpir=policy_fpir,
                policy_size=pol_size,
                rule=co.rule,
                factor=co.factor,
                default_threshold=default_threshold,
                znorm=co.znorm,
                seed=seed,
                dev=dev,
                extra_people=extra_people,
            )
        except DatasetError as exc:
            # The single-image protocol above still stands; the report says what is missing.
            log.warning("per-configuration evaluation not possible: %s", exc)
            config_error = str(exc)
    failures = emb.failures
    summary = ds.summary()
    summary["usable_images"] = int(emb.ok.sum())
    summary["identities_with_a_usable_image"] = len(gallery.order)
    return IdentificationPart(
        dataset=str(data),
        dataset_summary=summary,
        extra_nonmated=str(extra_nonmated) if extra_nonmated else None,
        failures=emb.failure_counts(),
        failure_examples=[
            {"path": f.path, "code": f.code, "message": f.message} for f in failures[:20]
        ],
        seed=seed,
        policy_fpir=policy_fpir,
        policy_size=pol_size,
        results=results,
        curves=curves,
        seconds={"embed": round(t_embed, 1), "total": round(time.perf_counter() - t0, 1)},
        configurations=config_part,
        configurations_unavailable=config_error,
    )


def _dev_part(
    ctx: EvalContext,
    data: Path,
    extra_nonmated: Path | None,
    max_identities: int | None,
    seed: int,
) -> DevPart | None:
    """The development people's templates (None when the split is off)."""
    if not ctx.split.active:
        return None
    ds = _subset(ctx.scan(data, part="dev"), max_identities, seed)
    emb = ctx.embed(ds, f"embedding {ds.name} (development part)")
    extra = None
    if extra_nonmated is not None:
        xds = ctx.scan(extra_nonmated, flat=True, part="dev")
        xemb = ctx.embed(xds, f"embedding {xds.name} (development part)")
        extra = xemb.vectors[xemb.ok]
    return DevPart(ds, emb.vectors, emb.ok, extra)


def _passers_by(extra: FloatArray | None, dev: DevPart) -> tuple[FloatArray, list[str]]:
    """The test part's extra non-mated images followed by every development image, each
    named by its person (UTKFace singles one each, development LFW people by identity)."""
    parts: list[FloatArray] = []
    names: list[str] = []
    if extra is not None and extra.shape[0]:
        parts.append(extra)
        names += [f"extra {j}" for j in range(extra.shape[0])]
    if dev.extra is not None and dev.extra.shape[0]:
        parts.append(dev.extra)
        names += [f"dev extra {j}" for j in range(dev.extra.shape[0])]
    rows = np.flatnonzero(dev.ok)
    parts.append(dev.vectors[rows])
    names += [f"dev {dev.dataset.records[int(r)].identity}" for r in rows]
    return np.concatenate(parts, axis=0).astype(np.float32), names


def load_labels(ds: Dataset, labels: Sequence[Path]) -> Labels:
    if not labels:
        return utkface_labels(ds)
    return lfw_labels(labels, ds)


def run_demographics(
    ctx: EvalContext,
    data: Path,
    labels: Sequence[Path],
    *,
    by: Sequence[Sequence[str]] | None = None,
    default_threshold: float = 0.5,
    min_age: int | None = 18,
    max_age: int | None = None,
    exclude: Sequence[str] = ("Other",),
    pooled_fmr_target: float = 1e-3,
    max_identities: int | None = None,
    min_group_identities: int = 5,
    factor: float = 2.0,
    seed: int = 0,
) -> list[DemographicResult]:
    """FMR/FNMR per group. Without labels files the images must carry UTKFace names."""
    ds = _subset(ctx.scan(Path(data)), max_identities, seed)
    lab = load_labels(ds, labels)
    emb = ctx.embed(ds, f"embedding {ds.name}")
    has_age = any("age" in a for a in lab.by_image.values())
    groupings = by or ([("gender", "race")] if has_age else [(a,) for a in lab.attribute_names()])
    out = []
    for attrs in groupings:
        out.append(
            evaluate_demographics(
                ds,
                emb.vectors,
                emb.ok,
                lab,
                attrs,
                default_threshold=default_threshold,
                pooled_fmr_target=pooled_fmr_target,
                min_age=min_age if has_age else None,
                max_age=max_age if has_age else None,
                exclude=exclude,
                min_identities=min_group_identities,
                factor=factor,
                seed=seed,
            )
        )
    return out
