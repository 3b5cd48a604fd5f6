"""The evaluation report's plots (PNG, base64, for embedding in the HTML page)."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from openlfr.eval.demographics import DemographicResult
from openlfr.eval.identification import SizeResult


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
