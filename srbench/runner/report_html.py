"""``report.html``: one self-contained page (inline CSS, SVG plots, base64 images) from a run folder.

Sections: the perception-distortion plane (first figure); the leaderboard tables, each with its
paired comparison to the reference row; notes from methods; metrics against hr_fraction when
several fractions ran; an image grid per test image (LR, every row's SR, HR, a zoom where they
differ most, and each row's G(HR), the "ultra-resolution" column of the SRGAN report); training
loss curves.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..published import published_html
from ..result_record import TrialResult
from ..results import KEY_PARAMS, STATUS_OK
from .board_rows import GROUP_KEYS, method_variants
from .board_settings import BoardSettings
from .leaderboard import (
    ABLATION_NOTE,
    ablation_rows,
    compared_rows,
    paired_cell,
    paired_metrics,
    paired_note,
    shown_metrics,
    train_seconds_cell,
)
from .numfmt import fmt_number
from .paired import ABLATION_SUFFIXES, PAIRED_SUFFIXES
from .report_images import image_grid
from .report_plots import Panel, fraction_panels, loss_curves, perception_distortion

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1400px}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
.scroll{overflow-x:auto;max-width:100%;margin:.5em 0 1.5em}
table{border-collapse:collapse;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right;white-space:nowrap}th{background:#f4f4f4}
td.l,th.l{text-align:left;white-space:normal;min-width:8em}tr.bad td{color:#999}.warn{color:#b35c00;font-weight:600}
.better{color:#1a7f37;font-weight:600}.worse{color:#cf222e;font-weight:600}.tied{color:#666}
figure{display:inline-block;margin:.3em;text-align:center;vertical-align:top}
figure img{image-rendering:pixelated;width:160px;height:160px;object-fit:contain;border:1px solid #ccc}
figcaption{font-size:.8em;max-width:160px;overflow-wrap:anywhere}.note{color:#666;font-size:.9em}
svg{background:#fff;border:1px solid #eee;margin:.5em 1em .5em 0}
"""


def _scroll(table: str) -> str:
    """Wide tables scroll inside their box instead of widening the page."""
    return f'<div class="scroll">{table}</div>'


def _main_table(g: pd.DataFrame, shown: list[str], settings: BoardSettings) -> str:
    texts = settings.flag_texts()
    # flag name -> the metric whose check raised it, to mark that cell too
    owner = {c.name.format(floor=f): m for m in shown for c in settings.metric(m).checks
             for f in (*settings.floors, "floor")}
    head = "".join(f'<th{" class=l" if c in ("method", "status") else ""}>{html.escape(c)}</th>'
                   for c in ["rank", "method", "seeds", "status", *shown, "train s", "params"])
    rows = []
    for _, r in g.iterrows():
        flags = [f for f in str(r.get("flags") or "").split(";") if f]
        status = html.escape(str(r["status"]))
        if r["status"] != STATUS_OK and r.get("reason"):
            status += f'<br><span class="note">{html.escape(str(r["reason"]))}</span>'
        for flag in flags:
            status += f'<br><span class="warn">⚠ {html.escape(texts.get(flag, flag))}</span>'
        cells = [f"<td>{fmt_number(r['rank'])}</td>", f'<td class="l">{html.escape(str(r["method"]))}</td>',
                 f"<td>{r['seeds']}</td>", f'<td class="l">{status}</td>']
        for c in shown:
            text = fmt_number(r[c])
            if not pd.isna(r.get(f"{c}_ci95")):
                text += f" ± {fmt_number(r[f'{c}_ci95'], 2)}"
            failed = [texts.get(f, f) for f in flags if owner.get(f) == c]
            if failed:
                text = f'<span class="warn" title="{html.escape("; ".join(failed))}">{text} ⚠</span>'
            cells.append(f"<td>{text}</td>")
        cells += [f"<td>{train_seconds_cell(r)}</td>", f"<td>{fmt_number(r.get(KEY_PARAMS))}</td>"]
        cls = "" if r["status"] == STATUS_OK else ' class="bad"'
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return _scroll(f"<table><tr>{head}</tr>{''.join(rows)}</table>")


def _comparison_table(rows: pd.DataFrame, label_columns: dict[str, str], metrics: list[str],
                      suffixes: tuple[str, ...]) -> str:
    """A table of paired comparisons: the ``label_columns`` (heading -> column), then one cell per metric."""
    heads = [*label_columns, *metrics]
    head = "".join(f'<th{" class=l" if i < len(label_columns) else ""}>{html.escape(c)}</th>'
                   for i, c in enumerate(heads))
    body = []
    for _, r in rows.iterrows():
        cells = [f'<td class="l">{html.escape(str(r[c]))}</td>' for c in label_columns.values()]
        for m in metrics:
            verdict = str(r.get(f"{m}{suffixes[2]}") or "")
            cells.append(f'<td class="{html.escape(verdict.split()[0]) if verdict else ""}">'
                         f"{html.escape(paired_cell(r, m, suffixes))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return _scroll(f"<table><tr>{head}</tr>{''.join(body)}</table>")


def _paired_table(g: pd.DataFrame, settings: BoardSettings) -> str:
    note = paired_note(g, settings)
    parts = [f'<p class="note">{html.escape(note).replace("**", "")}</p>'] if note else []
    with_diff, _ = paired_metrics(g)
    others = compared_rows(g)
    if with_diff and len(others):
        labels = {f"vs {g['reference'].iloc[0]}": "method", "basis": "paired_basis"}
        parts.append(_comparison_table(others, labels, with_diff, PAIRED_SUFFIXES))
    return "".join(parts)


def _ablation_table(g: pd.DataFrame) -> str:
    rows, metrics = ablation_rows(g)
    if rows.empty or not metrics:
        return ""
    labels = {"row": "method", "vs its ablation": "ablation", "basis": "ablation_basis"}
    note = html.escape(ABLATION_NOTE).replace("`", "")
    return f'<p class="note">{note}</p>' + _comparison_table(rows, labels, metrics, ABLATION_SUFFIXES)


def _tables(agg: pd.DataFrame, settings: BoardSettings) -> str:
    if agg.empty:
        return "<p>No results yet.</p>"
    shown = shown_metrics(agg)
    parts = []
    for keys, g in agg.groupby(GROUP_KEYS, sort=True, dropna=False):
        test, scale, deg, frac = keys
        parts.append(f"<h3>{html.escape(str(test))}, x{scale}, {html.escape(str(deg))}, hr_fraction {frac:g}</h3>")
        parts.append(_main_table(g, shown, settings) + _paired_table(g, settings) + _ablation_table(g)
                     + published_html(g, str(test), int(scale), str(deg)))  # "published, not run here" rows
    return "".join(parts)


def _notes(results: Sequence[TrialResult]) -> str:
    items = [f"<li><code>{html.escape(r.trial_id)}</code>: {html.escape(n)}</li>"
             for r in results for n in r.notes]
    return f"<h2>Notes from methods</h2><ul>{''.join(items)}</ul>" if items else ""


def render_report(out: Path, agg: pd.DataFrame, results: Sequence[TrialResult],
                  settings: BoardSettings, variants: Mapping[str, str] | None = None,
                  panels: Sequence[Panel] | None = None) -> str:
    """The whole page as a string; ``variants`` (:func:`~.board_rows.method_variants` of ``results``) and
    ``panels`` (:func:`~.report_plots.fraction_panels`) when the caller has them already."""
    variants = method_variants(results) if variants is None else variants
    panels = fraction_panels(agg, settings, variants) if panels is None else panels
    n_ok = sum(r.status == STATUS_OK for r in results)
    rank = settings.metric(settings.rank_by)
    flags = "; ".join(sorted(set(settings.flag_texts().values())))
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>srbench report</title>"
        f"<style>{_CSS}</style></head><body><h1>srbench report</h1>"
        f"<p class=\"note\">{len(results)} trials ({n_ok} ok) from <code>{html.escape(str(out))}</code>. "
        f"Mean over seeds ± 95% confidence half-width (Student t); rank by {html.escape(settings.rank_by)} "
        f"({rank.direction_text}). ⚠ marks a failed check: {html.escape(flags)}.</p>"
        f"<h2>Perception-distortion plane</h2>{perception_distortion(agg, results, settings)}"
        f"<h2>Leaderboard</h2>{_tables(agg, settings)}"
        f"{_notes(results)}"
        f"{''.join(p.svg for p in panels)}"
        f"<h2>Images</h2><p class=\"note\">Central crops. LR shown enlarged without interpolation. "
        "G(HR): the network applied to the HR image (the SRGAN report's ultra-resolution).</p>"
        f"{image_grid(out, results)}"
        f"{loss_curves(out, results)}</body></html>"
    )
