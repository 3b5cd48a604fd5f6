"""Demographic differentials for multi-photo templates and fused probes (K photos, M shots).

UTKFace has one image per person, so multi-photo templates and fused probes can only be built
from LFW, whose only complete label is gender (per image; a person's gender is the majority of
their images' labels). Impostor pairs: the K-photo template of one person against the M-shot
fused probe of another person of the same group. Genuine pairs: a person's template against
fused probes of their *other* images (disjoint groups of M, at most `cap` per person).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from openlfr.errors import DatasetError
from openlfr.eval.configurations import ConfigPlan, Rule, entry_scores, entry_templates, fuse_rows
from openlfr.eval.dataset import Dataset, Labels
from openlfr.eval.demographics import THRESHOLDS, DemographicResult, GroupScores, evaluate_groups
from openlfr.eval.fairness import DEFAULT_FACTOR
from openlfr.vision.contract import FloatArray


def person_groups(dataset: Dataset, labels: Labels, attribute: str) -> dict[str, str]:
    """identity -> the majority label of its images (identities without the label left out)."""
    out: dict[str, str] = {}
    for ident, rows in dataset.identities.items():
        votes = Counter(
            labels.by_image[dataset.records[r].path.name][attribute]
            for r in rows
            if attribute in labels.by_image.get(dataset.records[r].path.name, {})
        )
        if votes:
            out[ident] = votes.most_common(1)[0][0]
    return out


def config_group_scores(
    plan: ConfigPlan,
    vectors: FloatArray,
    groups_of: dict[str, str],
    k: int,
    m: int,
    rule: Rule,
    *,
    max_people: int = 1500,
    min_identities: int = 5,
    seed: int = 0,
) -> tuple[list[GroupScores], dict[str, int]]:
    rng = np.random.default_rng(seed)
    left_out = {"no_label": 0, "too_few_images": 0, "group_too_small": 0}
    members: dict[str, list[str]] = {}
    for ident, rows in plan.order.items():
        if ident not in groups_of:
            left_out["no_label"] += 1
        elif len(rows) < max(k, m):
            left_out["too_few_images"] += 1
        else:
            members.setdefault(groups_of[ident], []).append(ident)
    for g in list(members):
        if len(members[g]) < min_identities:
            left_out["group_too_small"] += len(members.pop(g))
    if not members:
        raise DatasetError(f"no labelled group has {min_identities} people with {max(k, m)} images")
    out: list[GroupScores] = []
    for g in sorted(members):
        people = members[g]
        if len(people) > max_people:
            people = [people[j] for j in sorted(rng.choice(len(people), max_people, False))]
        gal = entry_templates(vectors, [plan.order[i][:k] for i in people])
        # A person's own impostor-side probe: their first M images after the template, if they
        # have them, else their first M (they then contribute no genuine pair).
        probe_rows = [
            plan.order[i][k : k + m] if len(plan.order[i]) >= k + m else plan.order[i][:m]
            for i in people
        ]
        s = entry_scores(fuse_rows(vectors, probe_rows), gal, rule)
        imp = s[~np.eye(len(people), dtype=bool)]
        gen: list[float] = []
        for j, i in enumerate(people):
            rest = plan.order[i][k:]
            groups = [rest[q * m : (q + 1) * m] for q in range(min(plan.cap, len(rest) // m))]
            if groups:
                gen.extend(entry_scores(fuse_rows(vectors, groups), gal[j : j + 1], rule)[:, 0])
        images = sum(len(plan.order[i]) for i in people)
        out.append(
            GroupScores(
                g,
                images,
                len(people),
                np.sort(imp).astype(np.float32),
                np.sort(np.array(gen, np.float32)),
            )
        )
    return out, left_out


def evaluate_config_demographics(
    plan: ConfigPlan,
    vectors: FloatArray,
    dataset: Dataset,
    labels: Labels,
    k: int,
    m: int,
    rule: Rule,
    *,
    attribute: str = "gender",
    default_threshold: float,
    thresholds: Sequence[float] = THRESHOLDS,
    factor: float = DEFAULT_FACTOR,
    min_identities: int = 5,
    seed: int = 0,
) -> DemographicResult:
    groups, left_out = config_group_scores(
        plan,
        vectors,
        person_groups(dataset, labels, attribute),
        k,
        m,
        rule,
        min_identities=min_identities,
        seed=seed,
    )
    return evaluate_groups(
        groups,
        left_out,
        dataset=str(dataset.root),
        attributes=(attribute,),
        filters={"template_rule": rule, "min_group_identities": min_identities},
        default_threshold=default_threshold,
        thresholds=thresholds,
        factor=factor,
        label_problems=labels.problems,
        configuration=(k, m),
    )
