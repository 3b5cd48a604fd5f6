"""The model evaluation report: one self-contained HTML page (plots embedded) plus JSON.

The JSON is what the governance core reads: `kind` says what it is, `approval` carries the
validated threshold floor and the FPIR curve (see `approval.py`). A report that lacks either
the identification part or the demographic part is written with kind
`openlfr.evaluation-partial` and no approval, so it can never pass for a full evaluation.
"""

from __future__ import annotations

import base64
import io
import json
import math
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from openlfr import __version__
from openlfr.eval.approval import REPORT_KIND, FpirPoint, ModelApproval
from openlfr.eval.demographics import DemographicResult
from openlfr.eval.identification import SizeResult
from openlfr.eval.stats import rate

PARTIAL_KIND = "openlfr.evaluation-partial"


@dataclass
class IdentificationPart:
    dataset: str
    dataset_summary: dict[str, Any]
    extra_nonmated: str | None
    failures: dict[str, int]
    failure_examples: list[dict[str, str]]
    seed: int
    policy_fpir: float
    policy_size: int
    results: list[SizeResult]
    curves: dict[int, list[tuple[float, int, int]]]  # size -> (threshold, k, n) on THRESHOLD_GRID
    seconds: dict[str, float] = field(default_factory=dict)

    def calibrated_threshold(self) -> float | None:
        for r in self.results:
            if r.size == self.policy_size:
                return r.calibration.threshold
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "dataset_summary": self.dataset_summary,
            "extra_nonmated": self.extra_nonmated,
            "failed_images": self.failures,
            "failed_examples": self.failure_examples,
            "seed": self.seed,
            "protocol": (
                "one enrolment image per watchlist identity; mated searches = other images of "
                "enrolled identities, counted as hits at rank 1 with score >= T; non-mated "
                "searches = images of identities not enrolled at that size (plus extra non-mated "
                "images); intervals: exact Clopper-Pearson 95% unless marked bootstrap"
            ),
            "policy_fpir": self.policy_fpir,
            "policy_watchlist_size": self.policy_size,
            "calibrated_threshold": self.calibrated_threshold(),
            "sizes": [r.to_dict() for r in self.results],
            "seconds": self.seconds,
        }


def _fig_png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def det_plot(results: Sequence[SizeResult]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for r in results:
        # Log axes cannot show a zero rate: zeros are drawn at half a count (0.5 / n), the
        # floor the measurement can resolve, and the axis labels say so.
        f = np.maximum(r.det_fpir, 0.5 / max(r.n_nonmated, 1))
        n = np.maximum(r.det_fnir, 0.5 / max(r.n_mated, 1))
        keep = (r.det_fpir < 1) | (r.det_fnir > 0)
        ax.plot(f[keep], n[keep], label=f"watchlist {r.size:,}", lw=1.8)
        for tp in r.tpir_at_fpir:
            if tp.achievable and tp.tpir.n:
                fp = max(tp.fpir.value, 0.5 / max(r.n_nonmated, 1))
                ax.plot([fp], [max(1 - tp.tpir.value, 0.5 / r.n_mated)], "k.", ms=5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("FPIR (non-mated searches with an alert; 0 drawn at 0.5/n)")
    ax.set_ylabel("FNIR (mated searches missed at rank 1; 0 at 0.5/n)")
    ax.set_title("Open-set identification DET (dots: FPIR 1e-1 ... 1e-4)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _fig_png(fig)


def fpir_plot(results: Sequence[SizeResult], marks: dict[str, float]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for r in results:
        ts = np.array([t for t, _, _ in r.fpir_table])
        pt = np.array([f.value for _, f, _ in r.fpir_table])
        up = np.array([f.upper for _, f, _ in r.fpir_table])
        lo = np.array([f.lower for _, f, _ in r.fpir_table])
        (line,) = ax.plot(ts, np.where(pt > 0, pt, np.nan), lw=1.8, label=f"watchlist {r.size:,}")
        ax.fill_between(ts, np.maximum(lo, 1e-6), up, color=line.get_color(), alpha=0.15)
    for name, t in marks.items():
        if t is not None and not math.isnan(t):
            ax.axvline(t, ls="--", lw=1, color="grey")
            ax.text(
                t,
                0.02,
                f" {name} {t:.3f}",
                rotation=90,
                va="bottom",
                fontsize=8,
                transform=ax.get_xaxis_transform(),
            )
    if any(f.k for r in results for _, f, _ in r.fpir_table):
        ax.set_ylim(1e-5, 1.0)
        ax.set_yscale("log")
    ax.set_xlabel("threshold (cosine similarity)")
    ax.set_ylabel("FPIR (95% exact interval shaded)")
    ax.set_title("False positive identification rate by threshold")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _fig_png(fig)


def group_fmr_plot(res: DemographicResult) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    ts = np.array([r.threshold for r in res.rows])
    for g in res.groups:
        vals = np.array([r.fmr[g.group].value for r in res.rows])
        ax.plot(ts, np.where(vals > 0, vals, np.nan), lw=1.4, label=g.group)
    for name, t in (
        ("default", res.default_threshold),
        ("no-difference floor", res.floor_threshold),
    ):
        if t is not None:
            ax.axvline(t, ls="--", lw=1, color="grey")
            ax.text(
                t,
                0.02,
                f" {name} {t:.2f}",
                rotation=90,
                va="bottom",
                fontsize=8,
                transform=ax.get_xaxis_transform(),
            )
    if any(r.fmr[g.group].k for r in res.rows for g in res.groups):
        ax.set_yscale("log")
    ax.set_xlabel("threshold (cosine similarity)")
    ax.set_ylabel("FMR within group")
    ax.set_title(f"False match rate per {' x '.join(res.attributes)} group")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _fig_png(fig)


def group_bar_plot(res: DemographicResult, t: float, title: str) -> str:
    plt = _plt()
    row = res.row_at(t)
    names = [g.group for g in res.groups]
    vals = np.array([row.fmr[n].value for n in names])
    lo = np.array([row.fmr[n].lower for n in names])
    hi = np.array([row.fmr[n].upper for n in names])
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    ax.bar(range(len(names)), vals, yerr=[vals - lo, hi - vals], capsize=3, color="#4c72b0")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("FMR (95% exact interval)")
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    return _fig_png(fig)


def build_approval(
    contract_id: str,
    ident: IdentificationPart,
    demo: Sequence[DemographicResult],
    engine_default: float,
    created_at: str,
    provenance: str,
) -> tuple[ModelApproval | None, str]:
    cal = ident.calibrated_threshold()
    if cal is None:
        return None, (
            f"the policy FPIR {ident.policy_fpir:g} could not be certified at watchlist size "
            f"{ident.policy_size} with the non-mated searches available (see calibration)"
        )
    floors = [d.floor_threshold for d in demo]
    if any(f is None for f in floors):
        return None, "a demographic group differs significantly at every candidate threshold"
    validated = max([cal, *[f for f in floors if f is not None]])
    points: list[FpirPoint] = []
    for size, pts in sorted(ident.curves.items()):
        for t, k, n in pts:
            r = rate(k, n)
            points.append(FpirPoint(size, t, r.value, r.upper))
    approval = ModelApproval(
        contract_id=contract_id,
        created_at=created_at,
        validated_min_threshold=round(validated, 4),
        default_threshold=round(max(engine_default, validated), 4),
        policy_fpir=ident.policy_fpir,
        fpir_curve=tuple(points),
        dataset=provenance,
    )
    return approval, ""


def build_report(
    *,
    contract: dict[str, Any],
    engine_name: str,
    engine_default: float,
    ident: IdentificationPart | None,
    demo: Sequence[DemographicResult],
    provenance: dict[str, str],
) -> dict[str, Any]:
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    report: dict[str, Any] = {
        "kind": PARTIAL_KIND,
        "created_at": created,
        "openlfr_version": __version__,
        "platform": platform.platform(),
        "engine": engine_name,
        "contract": contract,
        "engine_default_threshold": engine_default,
        "provenance": provenance,
        "identification": ident.to_dict() if ident else None,
        "demographics": [d.to_dict() for d in demo],
    }
    if ident is None or not demo:
        report["approval_withheld"] = (
            "a model approval needs both the identification and the demographic evaluation"
        )
        return report
    prov = "; ".join(f"{k}: {v}" for k, v in provenance.items())
    approval, why = build_approval(contract["id"], ident, demo, engine_default, created, prov)
    if approval is None:
        report["approval_withheld"] = why
        return report
    report["kind"] = REPORT_KIND
    report["approval"] = approval.to_dict()
    # Projections use the FPIR upper bound, so they err towards more false alerts, not fewer.
    report["expected_false_alerts_per_100k_faces"] = [
        {
            "watchlist_size": size,
            "threshold": approval.validated_min_threshold,
            "expected": approval.expected_false_alerts(
                100_000, size, approval.validated_min_threshold
            ),
        }
        for size in sorted(ident.curves)
    ]
    report["validated_min_threshold_basis"] = {
        "calibrated_threshold": ident.calibrated_threshold(),
        "policy_fpir": ident.policy_fpir,
        "policy_watchlist_size": ident.policy_size,
        "demographic_floors": {
            " x ".join(d.attributes) + f" ({Path(d.dataset).name})": d.floor_threshold for d in demo
        },
    }
    return report


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and math.isnan(o):
        return None
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(o: Any) -> Any:
    # JSON has no NaN/inf; governance must never parse a non-standard token.
    if isinstance(o, float):
        return None if (math.isnan(o) or math.isinf(o)) else o
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        return _clean(o.item())
    return o


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(_clean(report), indent=2, default=_json_default, allow_nan=False)


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OpenLFR model evaluation: {{ r.engine }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0;font-size:.86em}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.warn{color:#a00}.ok{color:#070}code{background:#f5f5f5}
img{max-width:100%}h2{border-bottom:1px solid #ddd;margin-top:1.6em}
</style></head><body>
<h1>Model evaluation report</h1>
<p><b>Kind:</b> <code>{{ r.kind }}</code> &middot; <b>created</b> {{ r.created_at }} &middot; OpenLFR {{ r.openlfr_version }}</p>
<h2>Model contract</h2>
<table>{% for k, v in r.contract.items() if k != 'preprocessing' %}<tr><th class=l>{{ k }}</th><td class=l>{{ v }}</td></tr>{% endfor %}
<tr><th class=l>engine default threshold</th><td class=l>{{ r.engine_default_threshold }}</td></tr></table>
<h2>Approval</h2>
{% if r.approval %}
<p class=ok>Validated minimum threshold <b>{{ '%.4f'|format(r.approval.validated_min_threshold) }}</b>
= max(calibrated threshold {{ r.validated_min_threshold_basis.calibrated_threshold }} for policy FPIR
{{ r.approval.policy_fpir }} at watchlist size {{ r.validated_min_threshold_basis.policy_watchlist_size }},
lowest thresholds without significant group differences {{ r.validated_min_threshold_basis.demographic_floors }}).
Recommended operating threshold {{ '%.4f'|format(r.approval.default_threshold) }}.</p>
<p>Expected false alerts per 100,000 faces at the validated threshold (FPIR upper bound x faces):
{% for e in r.expected_false_alerts_per_100k_faces %}watchlist {{ '{:,}'.format(e.watchlist_size) }}: {{ '%.1f'|format(e.expected) }}{% if not loop.last %}; {% endif %}{% endfor %}.
<code>openlfr eval expected-alerts --report OUT.json --faces N --watchlist-size M</code> projects a deployment.</p>
{% else %}<p class=warn>No approval: {{ r.approval_withheld }}</p>{% endif %}
<h2>Provenance</h2><table>{% for k, v in r.provenance.items() %}<tr><th class=l>{{ k }}</th><td class=l>{{ v }}</td></tr>{% endfor %}</table>
{% if r.identification %}{% set ident = r.identification %}
<h2>Open-set identification ({{ ident.dataset }})</h2>
<p>{{ ident.protocol }}.</p>
<p>Dataset: {{ ident.dataset_summary }}. Extra non-mated: {{ ident.extra_nonmated }}. Images without a usable face or unreadable (excluded, by error):
{{ ident.failed_images }}.</p>
<h3>TPIR at fixed FPIR</h3>
<table><tr><th>watchlist</th><th>mated</th><th>non-mated</th><th>rank-1</th>{% for t in ident.sizes[0].tpir_at_fpir %}<th>TPIR @ FPIR {{ t.fpir_target }}<br>(threshold; 95% bootstrap)</th>{% endfor %}</tr>
{% for s in ident.sizes %}<tr><td>{{ '{:,}'.format(s.watchlist_size) }}</td><td>{{ s.mated_searches }}</td><td>{{ s.nonmated_searches }}</td>
<td>{{ '%.4f'|format(s.rank1_identification_rate.rate) }}</td>
{% for t in s.tpir_at_fpir %}<td>{% if t.achievable %}{{ '%.4f'|format(t.tpir.rate) }} ({{ '%.3f'|format(t.threshold) }}; {{ '%.4f'|format(t.tpir_bootstrap_ci[0]) }}&ndash;{{ '%.4f'|format(t.tpir_bootstrap_ci[1]) }}){% else %}n/a: too few non-mated{% endif %}</td>{% endfor %}</tr>{% endfor %}</table>
<h3>FPIR and FNIR at fixed thresholds (95% exact intervals)</h3>
<table><tr><th>threshold</th>{% for s in ident.sizes %}<th>FPIR N={{ '{:,}'.format(s.watchlist_size) }}</th><th>FNIR N={{ '{:,}'.format(s.watchlist_size) }}</th>{% endfor %}</tr>
{% for i in range(ident.sizes[0].by_threshold|length) %}{% if ident.sizes[0].by_threshold[i].threshold in shown %}<tr><td>{{ ident.sizes[0].by_threshold[i].threshold }}</td>
{% for s in ident.sizes %}{% set b = s.by_threshold[i] %}<td>{{ '%.2e'|format(b.fpir.rate) }} [{{ '%.1e'|format(b.fpir.lower) }}, {{ '%.1e'|format(b.fpir.upper) }}]</td><td>{{ '%.4f'|format(b.fnir.rate) }} [{{ '%.4f'|format(b.fnir.lower) }}, {{ '%.4f'|format(b.fnir.upper) }}]</td>{% endfor %}</tr>{% endif %}{% endfor %}</table>
<h3>Calibration (policy FPIR {{ ident.policy_fpir }}; upper 95% bound, re-measured on held-out identities)</h3>
<table><tr><th>watchlist</th><th>threshold</th><th>calibration FPIR [95%]</th><th>held-out FPIR [95%]</th><th>held-out within interval</th></tr>
{% for s in ident.sizes %}{% set c = s.calibration %}<tr><td>{{ '{:,}'.format(s.watchlist_size) }}</td>
{% if c.threshold is not none %}<td>{{ c.threshold }}</td><td>{{ c.calibration_fpir.k }}/{{ c.calibration_fpir.n }} = {{ '%.2e'|format(c.calibration_fpir.rate) }} [{{ '%.1e'|format(c.calibration_fpir.lower) }}, {{ '%.1e'|format(c.calibration_fpir.upper) }}]</td>
<td>{{ c.heldout_fpir.k }}/{{ c.heldout_fpir.n }} = {{ '%.2e'|format(c.heldout_fpir.rate) }} [{{ '%.1e'|format(c.heldout_fpir.lower) }}, {{ '%.1e'|format(c.heldout_fpir.upper) }}]</td><td>{{ c.heldout_within_interval }}</td>
{% else %}<td colspan=4 class=warn>cannot certify: needs at least {{ c.min_searches_needed }} calibration searches</td>{% endif %}</tr>{% endfor %}</table>
<img alt="DET curves" src="data:image/png;base64,{{ figs.det }}">
<img alt="FPIR by threshold" src="data:image/png;base64,{{ figs.fpir }}">
{% endif %}
{% for d in r.demographics %}{% set i = loop.index0 %}
<h2>Demographics: {{ d.grouped_by|join(' x ') }} ({{ d.dataset }})</h2>
<p>Filters: {{ d.filters }}. Left out: {{ d.left_out }}. {% if d.label_problems %}Label problems: {{ d.label_problems|join('; ') }}.{% endif %}
Test: {{ d.test }}. <b>Lowest threshold without significant group differences: {{ d.floor_threshold }}</b>.</p>
{% for key, title in (('at_default_threshold', 'default threshold'), ('at_pooled_threshold', 'threshold for pooled FMR ' ~ d.pooled_fmr_target)) %}{% set row = d[key] %}
<h3>At the {{ title }} {{ '%.4f'|format(row.threshold) }}: worst/best FMR ratio
{% if row.worst_to_best_fmr_ratio %}{{ '%.1f'|format(row.worst_to_best_fmr_ratio.ratio) }} [{{ '%.1f'|format(row.worst_to_best_fmr_ratio.lower) }}, {{ '%.1f'|format(row.worst_to_best_fmr_ratio.upper) }}]{% endif %} ({{ row.worst_group }} / {{ row.best_group }})</h3>
<table><tr><th class=l>group</th><th>images</th><th>impostor pairs</th><th>FMR [95%]</th><th>genuine pairs</th><th>FNMR [95%]</th><th>Holm p</th></tr>
{% for g in d.groups %}{% set f = row.fmr[g.group] %}<tr><td class=l>{{ g.group }}</td><td>{{ g.images }}</td><td>{{ g.impostor_pairs }}</td>
<td>{% if f.n %}{{ '%.2e'|format(f.rate) }} [{{ '%.1e'|format(f.lower) }}, {{ '%.1e'|format(f.upper) }}]{% else %}no pairs{% endif %}</td><td>{{ g.genuine_pairs }}</td>
<td>{% if g.group in row.fnmr %}{% set n = row.fnmr[g.group] %}{% if n.n %}{{ '%.4f'|format(n.rate) }} [{{ '%.4f'|format(n.lower) }}, {{ '%.4f'|format(n.upper) }}]{% else %}no pairs{% endif %}{% else %}&ndash;{% endif %}</td>
<td {% if g.group in row.significant_groups %}class=warn{% endif %}>{{ '%.2g'|format(row.fisher_holm_p.get(g.group, 1.0)) }}</td></tr>{% endfor %}</table>{% endfor %}
<img alt="FMR per group" src="data:image/png;base64,{{ figs.demo[i][0] }}">
<img alt="FMR at default" src="data:image/png;base64,{{ figs.demo[i][1] }}">
{% endfor %}
</body></html>
"""  # noqa: E501


def render_html(
    report: dict[str, Any],
    ident: IdentificationPart | None,
    demo: Sequence[DemographicResult],
) -> str:
    from jinja2 import Environment

    figs: dict[str, Any] = {"demo": []}
    if ident is not None:
        marks = {
            "default": report["engine_default_threshold"],
            "calibrated": ident.calibrated_threshold(),
        }
        figs["det"] = det_plot(ident.results)
        figs["fpir"] = fpir_plot(ident.results, {k: v for k, v in marks.items() if v is not None})
    for d in demo:
        figs["demo"].append(
            (
                group_fmr_plot(d),
                group_bar_plot(
                    d, d.default_threshold, f"FMR per group at threshold {d.default_threshold}"
                ),
            )
        )
    shown = {round(0.25 + 0.05 * i, 2) for i in range(12)} | {report["engine_default_threshold"]}
    env = Environment(autoescape=True)
    return env.from_string(_TEMPLATE).render(r=_clean(report), figs=figs, shown=shown)


def write_report(
    out: Path,
    report: dict[str, Any],
    ident: IdentificationPart | None,
    demo: Sequence[DemographicResult],
) -> tuple[Path, Path]:
    """Write OUT.json, OUT.html and OUT_det.png (OUT may be given with either suffix or none)."""
    out = Path(out)
    base = out.with_suffix("") if out.suffix in {".json", ".html"} else out
    base.parent.mkdir(parents=True, exist_ok=True)
    jpath, hpath = base.with_suffix(".json"), base.with_suffix(".html")
    jpath.write_text(report_json(report), encoding="utf-8")
    hpath.write_text(render_html(report, ident, demo), encoding="utf-8")
    if ident is not None:
        # The DET plot also as a file of its own, for slides and tickets.
        det = base.with_name(base.name + "_det.png")
        det.write_bytes(base64.b64decode(det_plot(ident.results)))
    return jpath, hpath
