"""The evaluation report as one self-contained HTML page (plots embedded), and its files."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openlfr.eval.demographics import DemographicResult
from openlfr.eval.report import IdentificationPart, _clean, report_json
from openlfr.eval.report_plots import det_plot, fpir_plot, group_bar_plot, group_fmr_plot

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
<h3>Calibration (policy FPIR {{ ident.policy_fpir }}; upper 95% bound over all non-mated searches; cross-check: each half of the people calibrated alone, measured on the other, the higher shown)</h3>
<table><tr><th>watchlist</th><th>threshold</th><th>calibration FPIR [95%]</th><th>cross-check held-out FPIR [95%]</th><th>held-out within interval</th></tr>
{% for s in ident.sizes %}{% set c = s.calibration %}<tr><td>{{ '{:,}'.format(s.watchlist_size) }}</td>
{% if c.threshold is not none %}<td>{{ c.threshold }}</td><td>{{ c.calibration_fpir.k }}/{{ c.calibration_fpir.n }} = {{ '%.2e'|format(c.calibration_fpir.rate) }} [{{ '%.1e'|format(c.calibration_fpir.lower) }}, {{ '%.1e'|format(c.calibration_fpir.upper) }}]</td>
{% if c.heldout_fpir %}<td>{{ c.heldout_fpir.k }}/{{ c.heldout_fpir.n }} = {{ '%.2e'|format(c.heldout_fpir.rate) }} [{{ '%.1e'|format(c.heldout_fpir.lower) }}, {{ '%.1e'|format(c.heldout_fpir.upper) }}]</td>{% else %}<td>n/a: a half alone is too small to certify</td>{% endif %}<td>{{ c.heldout_within_interval }}</td>
{% else %}<td colspan=4 class=warn>cannot certify: needs at least {{ c.min_searches_needed }} calibration searches</td>{% endif %}</tr>{% endfor %}</table>
{% set cp = ident.configurations %}{% if cp %}
<h3>By configuration: K enrolment photos, M fused probe shots, at the certified fair floor</h3>
<p>{{ cp.protocol }}. Template rule <b>{{ cp.template_rule }}</b> ({{ cp.template_rule_choice.criterion }}; TPIR at the policy FPIR: {{ cp.template_rule_summary }}).</p>
<table><tr><th>K</th><th>M</th><th>watchlist</th><th>floor</th><th class=l>bound by</th><th>TPIR at floor [95% people bootstrap]</th><th>FPIR at floor (k/n) [upper 95%]</th><th>TPIR @ FPIR {{ cp.policy_fpir }}</th><th>mated (people)</th><th>non-mated (people)</th><th class=l>note</th></tr>
{% for c in cp.by_configuration %}<tr><td>{{ c.enrol_photos }}</td><td>{{ c.probe_shots }}</td><td>{{ '{:,}'.format(c.watchlist_size) }}</td>
{% if c.threshold is not none %}<td>{{ '%.4f'|format(c.threshold) }}</td><td class=l>{{ c.bound_by }}</td><td>{{ '%.1f'|format(100*c.tpir) }}% [{{ '%.1f'|format(100*c.tpir_ci[0]) }}, {{ '%.1f'|format(100*c.tpir_ci[1]) }}]</td>
<td>{{ c.fpir_counts[0] }}/{{ c.fpir_counts[1] }} = {{ '%.1e'|format(c.fpir) }} [{{ '%.1e'|format(c.fpir_upper) }}]</td>{% else %}<td colspan=4 class=warn>{{ c.bound_by }}</td>{% endif %}
<td>{% if c.tpir_at_policy_fpir %}{{ '%.1f'|format(100*c.tpir_at_policy_fpir.tpir) }}%{% else %}n/a{% endif %}</td><td>{{ c.mated_searches }} ({{ c.mated_people }})</td><td>{{ c.nonmated_searches }} ({{ c.nonmated_people }})</td><td class=l>{{ c.fpir_policy_note }}{% set q = c.fused_vs_single_fpir %}{% if q %} At {{ '%.3f'|format(q.threshold) }} (single-shot FPIR 1e-2): single {{ q.single_shot_fpir[0] }}/{{ q.single_shot_fpir[1] }}, fused {{ q.fused_fpir[0] }}/{{ q.fused_fpir[1] }}.{% endif %}</td></tr>{% endfor %}</table>
{% if r.configuration_demographics %}<h3>Demographics per configuration (LFW gender; multi-photo templates and fused probes)</h3>
<table><tr><th>K</th><th>M</th><th>fair floor</th><th class=l>bound by</th><th class=l>at the floor: FMR (ratio to pooled [95%]) and FNMR per group</th></tr>
{% for d in r.configuration_demographics %}{% set row = (d.by_threshold|selectattr('threshold', 'equalto', d.floor_threshold)|list or [d.at_default_threshold])[0] %}<tr><td>{{ d.enrol_photos }}</td><td>{{ d.probe_shots }}</td><td>{{ d.floor_threshold }}</td><td class=l>{{ d.floor.bound_by if d.floor else '' }}</td>
<td class=l>{% for g, f in row.fmr.items() %}{{ g }}: FMR {{ '%.1e'|format(f.rate) }}{% set q = row.fmr_ratio_to_pooled.get(g) %}{% if q and q.upper is not none %} ({{ '%.2f'|format(q.ratio or 0) }} [{{ '%.2f'|format(q.lower) }}, {{ '%.2f'|format(q.upper) }}]){% endif %}{% if g in row.fnmr %}, FNMR {{ '%.3f'|format(row.fnmr[g].rate) }}{% endif %}{% if not loop.last %}; {% endif %}{% endfor %} (threshold {{ row.threshold }})</td></tr>{% endfor %}</table>{% endif %}
{% if cp.skipped %}<p class=warn>Not measurable: {{ cp.skipped|join('; ') }}.</p>{% endif %}
<p><b>Z-norm</b> ({{ cp.znorm.rule or '' }}): adopted = <b>{{ cp.znorm.adopted }}</b>. {{ cp.znorm.why or '' }}
{% for z in cp.znorm.by_configuration or [] %}K={{ z.enrol_photos }}, M={{ z.probe_shots }}: raw {% if z.raw %}{{ '%.3f'|format(z.raw.tpir) }}{% else %}n/a{% endif %}, Z-norm {% if z.znorm %}{{ '%.3f'|format(z.znorm.tpir) }}{% else %}n/a{% endif %}{% if not loop.last %}; {% endif %}{% endfor %}</p>
{% endif %}
<img alt="DET curves" src="data:image/png;base64,{{ figs.det }}">
<img alt="FPIR by threshold" src="data:image/png;base64,{{ figs.fpir }}">
{% endif %}
{% set fr = r.fairness %}{% if fr and fr.threshold is not none %}
<h2>Fairness at the deployed threshold {{ '%.4f'|format(fr.threshold) }} (K=1, M=1, list of {{ '{:,}'.format(fr.configuration.watchlist_size) }})</h2>
<p>Criterion: <b>effect size</b>, factor {{ fr.factor }}: the fair floor ({{ fr.floor }}) is the lowest threshold at which no group's false-match rate is shown (95% lower bound) to exceed {{ fr.factor }} x the pooled rate; significance tests are reported in each evaluation and never bind. {{ fr.reading }}</p>
<table><tr><th class=l>group</th><th>FMR</th><th>FMR / pooled [95%]</th><th>TPIR [95% people bootstrap]</th><th>FNIR / pooled [95%]</th><th class=l>evidence</th></tr>
{% for g in fr.groups %}<tr><td class=l>{{ g.group }}</td><td>{% if g.fmr is not none %}{{ '%.1e'|format(g.fmr) }}{% else %}&ndash;{% endif %}</td>
<td>{% if g.fmr_ratio_upper is not none %}{{ '%.2f'|format(g.fmr_ratio or 0) }} [{{ '%.2f'|format(g.fmr_ratio_lower or 0) }}, {{ '%.2f'|format(g.fmr_ratio_upper) }}]{% else %}&ndash;{% endif %}</td>
<td>{% if g.tpir is not none %}{{ '%.1f'|format(100*g.tpir) }}% [{{ '%.1f'|format(100*g.tpir_ci[0]) }}, {{ '%.1f'|format(100*g.tpir_ci[1]) }}]{% else %}&ndash;{% endif %}</td>
<td>{% if g.fnir_ratio_ci %}{{ '%.2f'|format(g.fnir_ratio or 0) }} [{{ '%.2f'|format(g.fnir_ratio_ci[0] or 0) }}, {{ '%.2f'|format(g.fnir_ratio_ci[1] or 0) }}]{% else %}&ndash;{% endif %}</td>
<td class=l {% if g.shown_above_factor or g.fnir_shown_above_factor %}class=warn{% endif %}>{% if g.shown_above_factor %}FMR shown above {{ fr.factor }}x{% elif g.fnir_shown_above_factor %}misses shown above {{ fr.factor }}x{% elif g.thin %}thin: cannot exclude {{ fr.factor }}x{% else %}excludes {{ fr.factor }}x{% endif %}</td></tr>{% endfor %}</table>{% endif %}
{% if r.split %}<p>Split: {{ r.split.choices_on }} for choices, {{ r.split.figures_on }} for figures (person-disjoint, seed {{ r.split.seed }}, development share {{ r.split.dev_share }}).</p>{% endif %}
{% for d in r.demographics %}{% set i = loop.index0 %}
<h2>Demographics: {{ d.grouped_by|join(' x ') }} ({{ d.dataset }})</h2>
<p>Filters: {{ d.filters }}. Left out: {{ d.left_out }}. {% if d.label_problems %}Label problems: {{ d.label_problems|join('; ') }}.{% endif %}
Test: {{ d.test }}; effect size: each group's FMR as a ratio to the pooled FMR. <b>Fair floor: {{ d.floor_threshold }}</b>{% if d.floor %} (bound by {{ d.floor.bound_by }}; {{ d.floor.effect_size_rule }}; significance test, reported and not binding: it would put the floor at {{ d.floor.significance_floor }}){% endif %}. Configuration: K={{ d.enrol_photos }}, M={{ d.probe_shots }}.</p>
{% for key, title in (('at_default_threshold', 'default threshold'), ('at_pooled_threshold', 'threshold for pooled FMR ' ~ d.pooled_fmr_target)) %}{% set row = d[key] %}
<h3>At the {{ title }} {{ '%.4f'|format(row.threshold) }}: worst/best FMR ratio
{% if row.worst_to_best_fmr_ratio %}{{ '%.1f'|format(row.worst_to_best_fmr_ratio.ratio) }} [{{ '%.1f'|format(row.worst_to_best_fmr_ratio.lower) }}, {{ '%.1f'|format(row.worst_to_best_fmr_ratio.upper) }}]{% endif %} ({{ row.worst_group }} / {{ row.best_group }})</h3>
<table><tr><th class=l>group</th><th>images</th><th>impostor pairs</th><th>FMR [95%]</th><th>genuine pairs</th><th>FNMR [95%]</th><th>Holm p</th><th>FMR / pooled [95%]</th><th>FNMR / pooled [95%]</th></tr>
{% for g in d.groups %}{% set f = row.fmr[g.group] %}<tr><td class=l>{{ g.group }}</td><td>{{ g.images }}</td><td>{{ g.impostor_pairs }}</td>
<td>{% if f.n %}{{ '%.2e'|format(f.rate) }} [{{ '%.1e'|format(f.lower) }}, {{ '%.1e'|format(f.upper) }}]{% else %}no pairs{% endif %}</td><td>{{ g.genuine_pairs }}</td>
<td>{% if g.group in row.fnmr %}{% set n = row.fnmr[g.group] %}{% if n.n %}{{ '%.4f'|format(n.rate) }} [{{ '%.4f'|format(n.lower) }}, {{ '%.4f'|format(n.upper) }}]{% else %}no pairs{% endif %}{% else %}&ndash;{% endif %}</td>
<td {% if g.group in row.significant_groups %}class=warn{% endif %}>{{ '%.2g'|format(row.fisher_holm_p.get(g.group, 1.0)) }}</td>
<td>{% set q = row.fmr_ratio_to_pooled.get(g.group) %}{% if q and q.lower is not none %}{{ '%.2f'|format(q.ratio or 0) }} [{{ '%.2f'|format(q.lower) }}, {{ '%.2f'|format(q.upper) }}]{% else %}&ndash;{% endif %}</td>
<td>{% set q = row.fnmr_ratio_to_pooled.get(g.group) %}{% if q and q.lower is not none %}{{ '%.2f'|format(q.ratio or 0) }} [{{ '%.2f'|format(q.lower) }}, {{ '%.2f'|format(q.upper) }}]{% else %}&ndash;{% endif %}</td></tr>{% endfor %}</table>{% endfor %}
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
