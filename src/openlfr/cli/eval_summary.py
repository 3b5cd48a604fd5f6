"""Console summary of an evaluation report (`openlfr eval ...` without --json)."""

from __future__ import annotations

from typing import Any


def print_summary(rep: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    ident = rep.get("identification")
    if ident:
        t = Table(title=f"Open-set identification: {ident['dataset']}")
        for col in (
            "watchlist",
            "mated",
            "non-mated",
            "TPIR@FPIR 1e-2",
            "TPIR@FPIR 1e-3",
            "FPIR@default [95%]",
            "calibrated T",
        ):
            t.add_column(col, justify="right")
        dflt = rep["engine_default_threshold"]
        for s in ident["sizes"]:
            tp = {x["fpir_target"]: x for x in s["tpir_at_fpir"]}

            def fmt(level: float, tp: dict[float, Any] = tp) -> str:
                x = tp.get(level)
                if not x or not x["achievable"]:
                    return "n/a"
                lo, hi = x["tpir_bootstrap_ci"]
                return f"{x['tpir']['rate']:.3f} ({lo:.3f}-{hi:.3f}) @{x['threshold']:.3f}"

            at = next((b for b in s["by_threshold"] if abs(b["threshold"] - dflt) < 1e-9), None)
            fp = (
                f"{at['fpir']['rate']:.2e} [{at['fpir']['lower']:.1e}, {at['fpir']['upper']:.1e}]"
                if at
                else "-"
            )
            cal = s["calibration"]
            t.add_row(
                f"{s['watchlist_size']:,}",
                str(s["mated_searches"]),
                str(s["nonmated_searches"]),
                fmt(1e-2),
                fmt(1e-3),
                fp,
                "n/a"
                if cal["threshold"] is None
                else f"{cal['threshold']} (held-out ok: {cal['heldout_within_interval']})",
            )
        con.print(t)
        ds = ident["dataset_summary"]
        con.print(
            f"{ds['images']} images of {ds['identities']} identities; "
            f"{ds['identities_with_1_image']} have a single image and serve only as non-mated "
            "searches unless a watchlist is larger than the identities with mates "
            f"({ds['identities_with_2plus_images']})"
        )
        if ident["failed_images"]:
            con.print(f"images left out (typed errors): {ident['failed_images']}")
    for d in rep.get("demographics", []):
        row = d["at_default_threshold"]
        t = Table(
            title=f"FMR per {' x '.join(d['grouped_by'])} at threshold {row['threshold']}: "
            f"{d['dataset']}"
        )
        for col in ("group", "impostor pairs", "FMR [95%]", "FNMR [95%]", "Holm p"):
            t.add_column(col, justify="right")
        for g in d["groups"]:
            f = row["fmr"][g["group"]]
            n = row["fnmr"].get(g["group"])
            t.add_row(
                g["group"],
                str(g["impostor_pairs"]),
                f"{f['rate']:.2e} [{f['lower']:.1e}, {f['upper']:.1e}]",
                f"{n['rate']:.4f} [{n['lower']:.4f}, {n['upper']:.4f}]" if n else "-",
                f"{row['fisher_holm_p'].get(g['group'], 1.0):.2g}",
            )
        con.print(t)
        pr = d["at_pooled_threshold"]["worst_to_best_fmr_ratio"]
        if pr:
            con.print(
                f"at pooled FMR {d['pooled_fmr_target']:g} "
                f"(threshold {d['pooled_threshold']:.4f}): "
                f"worst/best {d['at_pooled_threshold']['worst_group']}/"
                f"{d['at_pooled_threshold']['best_group']} = "
                f"{pr['ratio']:.1f} [{pr['lower']:.1f}, {pr['upper']:.1f}]"
            )
        fl = d.get("floor") or {}
        con.print(
            f"fair floor: {d['floor_threshold']} (effect size {fl.get('effect_size_floor')}: "
            f"{fl.get('bound_by')}; significance test, reported only: "
            f"{fl.get('significance_floor')})"
        )
        con.print(f"left out: {d['left_out']}")
    _print_configurations(con, rep)
    _print_fairness(con, rep)
    if rep.get("approval"):
        a = rep["approval"]
        con.print(
            f"[green]validated minimum threshold {a['validated_min_threshold']}[/green] "
            f"(policy FPIR {a['policy_fpir']})"
        )
    else:
        con.print(f"[yellow]no approval: {rep.get('approval_withheld')}[/yellow]")


def _print_configurations(con: Any, rep: dict[str, Any]) -> None:
    from rich.table import Table

    cp = (rep.get("identification") or {}).get("configurations")
    if not cp:
        return
    t = Table(
        title=f"By configuration at the certified fair floor (template rule {cp['template_rule']})"
    )
    for col in ("K", "M", "watchlist", "floor", "TPIR [95%]", "FPIR k/n [upper]", "bound by"):
        t.add_column(col, justify="right")
    for c in cp["by_configuration"]:
        if c["threshold"] is None:
            t.add_row(
                str(c["enrol_photos"]),
                str(c["probe_shots"]),
                f"{c['watchlist_size']:,}",
                "-",
                "-",
                "-",
                c["bound_by"],
            )
            continue
        lo, hi = c["tpir_ci"]
        k, n = c["fpir_counts"]
        t.add_row(
            str(c["enrol_photos"]),
            str(c["probe_shots"]),
            f"{c['watchlist_size']:,}",
            f"{c['threshold']:.4f}",
            f"{100 * c['tpir']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]",
            f"{k}/{n} [{c['fpir_upper']:.1e}]",
            c["bound_by"],
        )
    con.print(t)
    for c in cp["by_configuration"]:
        if c["fpir_policy_note"]:
            con.print(f"K={c['enrol_photos']}, M={c['probe_shots']}: {c['fpir_policy_note']}")
        if q := c.get("fused_vs_single_fpir"):
            con.print(
                f"  fused vs single-shot FPIR at {q['threshold']:.3f}: "
                f"{q['fused_fpir'][0]}/{q['fused_fpir'][1]} vs "
                f"{q['single_shot_fpir'][0]}/{q['single_shot_fpir'][1]}"
            )
    for s in cp["skipped"]:
        con.print(f"[yellow]not measured: {s}[/yellow]")
    con.print(f"template rule {cp['template_rule']}: {cp['template_rule_summary']}")
    z = cp["znorm"]
    con.print(f"Z-norm adopted: {z.get('adopted')} ({z.get('why') or z.get('rule')})")


def _print_fairness(con: Any, rep: dict[str, Any]) -> None:
    from rich.table import Table

    f = rep.get("fairness")
    if not f or f.get("threshold") is None:
        return
    t = Table(
        title=f"Per group at the deployed threshold {f['threshold']:.4f} (K=1, M=1, list "
        f"{f['configuration']['watchlist_size']:,}); fair floor {f['floor']} by effect size, "
        f"factor {f['factor']:g}"
    )
    for col in ("group", "FMR", "ratio to pooled [95%]", "TPIR [95%]", "evidence"):
        t.add_column(col, justify="right")

    def pct(v: float | None, ci: list[float] | None) -> str:
        if v is None or ci is None:
            return "-"
        return f"{100 * v:.1f}% [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"

    for g in f["groups"]:
        ratio = "-"
        if g.get("fmr_ratio") is not None:
            ratio = f"{g['fmr_ratio']:.2f} [{g['fmr_ratio_lower']:.2f}, {g['fmr_ratio_upper']:.2f}]"
        evidence = "shown above" if g.get("shown_above_factor") else ("thin" if g["thin"] else "ok")
        t.add_row(
            g["group"],
            "-" if g["fmr"] is None else f"{g['fmr']:.2e}",
            ratio,
            pct(g["tpir"], g["tpir_ci"]),
            evidence,
        )
    con.print(t)
