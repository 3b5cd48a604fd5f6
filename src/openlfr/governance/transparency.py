"""Transparency documents (F.18-F.19): public notice, post-deployment record, annual summary.

Built from counts only: nothing here can carry an image, a template or a non-matched person.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import jinja2

SIGNAGE_CHECKLIST = (
    "signs_at_every_approach",
    "signs_readable_before_camera_range",
    "leaflets_available_to_public",
    "notice_published_online",
    "officers_briefed_to_explain_use",
)


@dataclass(frozen=True, slots=True)
class PublicNotice:
    deployment_id: str
    name: str
    date: str
    window_start: str
    window_end: str
    location: str
    purpose: str
    notice_published_at: str | None
    signage: dict[str, bool]

    @property
    def signage_complete(self) -> bool:
        return all(self.signage.get(k, False) for k in SIGNAGE_CHECKLIST)


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """The fields of F.19 for one deployment."""

    deployment_id: str
    name: str
    date: str
    start: str
    end: str
    location: str
    purpose: str
    authorising_role: str
    camera_count: int
    watchlist_size: int
    watchlist_by_category: dict[str, int]
    model_version: str
    threshold: float
    faces_processed: int
    alerts: int
    true_alerts: int
    false_alerts: int
    unresolved_alerts: int
    engagements: int
    arrests: int
    other_outcomes: dict[str, int] = field(default_factory=dict)
    # What was expected beside what was measured (C.10, issue 11): false alerts projected for
    # the signed-off list, and the expected share of listed people found if they pass a camera
    # at authorisation and at sign-off; the measured side is false_alerts and
    # listed_people_found (distinct entries with a confirmed alert).
    expected_false_alerts: float | None = None
    expected_hit_rate_at_authorisation: float | None = None
    expected_hit_rate_at_sign_off: float | None = None
    single_photo_entries: int | None = None
    listed_people_found: int = 0
    # The audit chain's head when this record was produced ("records:hash"): a public copy
    # proves later truncation of the log (`openlfr audit verify --head ...`).
    audit_head: str = ""

    @property
    def false_alert_rate_per_faces(self) -> float | None:
        return self.false_alerts / self.faces_processed if self.faces_processed else None

    @property
    def false_alert_rate_per_alerts(self) -> float | None:
        return self.false_alerts / self.alerts if self.alerts else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["false_alert_rate_per_faces"] = self.false_alert_rate_per_faces
        d["false_alert_rate_per_alerts"] = self.false_alert_rate_per_alerts
        return d


def _expected_hit_rate(records: list[DeploymentRecord]) -> float | None:
    """Mean sign-off expected hit rate over the year's lists, weighted by list size."""
    rated = [
        (r.expected_hit_rate_at_sign_off, r.watchlist_size)
        for r in records
        if r.expected_hit_rate_at_sign_off is not None and r.watchlist_size
    ]
    n = sum(size for _, size in rated)
    return sum(rate * size for rate, size in rated) / n if n else None


def annual_summary(year: int, records: list[DeploymentRecord]) -> dict[str, Any]:
    faces = sum(r.faces_processed for r in records)
    false = sum(r.false_alerts for r in records)
    alerts = sum(r.alerts for r in records)
    by_cat: dict[str, int] = {}
    for r in records:
        for k, v in r.watchlist_by_category.items():
            by_cat[k] = by_cat.get(k, 0) + v
    return {
        "year": year,
        "deployments": len(records),
        "faces_processed": faces,
        "alerts": alerts,
        "true_alerts": sum(r.true_alerts for r in records),
        "false_alerts": false,
        "engagements": sum(r.engagements for r in records),
        "arrests": sum(r.arrests for r in records),
        "watchlist_entries_by_category": by_cat,
        "expected_false_alerts": sum(r.expected_false_alerts or 0.0 for r in records),
        "listed_people_found": sum(r.listed_people_found for r in records),
        "expected_hit_rate": _expected_hit_rate(records),
        "false_alert_rate_per_faces": false / faces if faces else None,
        "false_alert_rate_per_alerts": false / alerts if alerts else None,
    }


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, default=str)


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One row per document; nested maps (watchlist by category) become dotted columns."""
    flat = [_flat(r) for r in rows]
    cols: list[str] = []
    for r in flat:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in flat:
        w.writerow({k: neutralise(v) for k, v in r.items()})
    return buf.getvalue()


# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection"):
# staff-entered text (location, purpose, reasons) must arrive as text, never run.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(v: Any) -> Any:
    """Text that a spreadsheet would read as a formula, prefixed with ' (numbers untouched).
    A carriage return becomes a newline: the writer quotes fields with its line terminator
    ("\n") but not a bare CR, which would split the row in a reader."""
    if not isinstance(v, str):
        return v
    if v.startswith(FORMULA_PREFIXES):
        v = "'" + v
    return v.replace("\r\n", "\n").replace("\r", "\n")


_HTML = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;color:#111}
table{border-collapse:collapse;width:100%}
td,th{border:1px solid #999;padding:.3rem .5rem;text-align:left}
th{width:45%;background:#f2f2f2}@media print{body{margin:0}}
</style></head><body>
<h1>{{ title }}</h1>
{% for section, rows in sections %}<h2>{{ section }}</h2><table>
{% for k, v in rows %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>
{% endfor %}</table>
{% endfor %}
<p><small>Published by OpenLFR. Counts only: no images or biometric data of anyone.</small></p>
</body></html>
"""
)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def to_html(title: str, docs: dict[str, dict[str, Any]]) -> str:
    sections = [
        (name, [(k.replace("_", " "), _fmt(v)) for k, v in _flat(doc).items()])
        for name, doc in docs.items()
    ]
    return _HTML.render(title=title, sections=sections)
