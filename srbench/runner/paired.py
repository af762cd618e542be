"""Paired comparisons: every row of a leaderboard table against the table's reference row.

Both rows are scored on the same test images, and trials of the same seed share their training
split, so differences taken image by image and seed by seed cancel what the two rows share (an
image is hard for every method; a seed's split is lucky for both). Columns added per metric with
per-image values: ``<metric>_diff`` (mean of row minus reference; for a metric with a ``target``,
of the distances to it), ``<metric>_diff_ci95`` and ``<metric>_verdict``; per row: ``reference``
and ``paired_basis`` (images x seeds the difference is over, and any seeds left out).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .board_rows import GROUP_KEYS
from .board_settings import BoardSettings
from .statistics import paired_difference

#: What ``<metric>_verdict`` says for a metric with means but no per-image values (FID, older results).
NO_PER_IMAGE = "no per-image values"
PAIRED_SUFFIXES = ("_diff", "_diff_ci95", "_verdict")
#: Per metric, the comparison of a row with its own ablation (:func:`add_ablation_comparisons`).
ABLATION_SUFFIXES = ("_vs_ablation", "_vs_ablation_ci95", "_vs_ablation_verdict")
#: Per row: the ablation row's label and the basis of that comparison.
ABLATION_COLUMNS = ("ablation", "ablation_basis")


def _scored(row: pd.Series, metrics: list[str]) -> bool:
    return any(isinstance(row.get(m), float) and math.isfinite(row.get(m)) for m in metrics)


def reference_label(table: pd.DataFrame, settings: BoardSettings, metrics: list[str]) -> str | None:
    """The label of ``table``'s reference row, among rows with scores: ``settings.reference`` (a
    label, or a method name: its first row) when given, else the row whose method has the
    highest ``Method.leaderboard_reference_priority``; ``None`` when no row qualifies."""
    rows = [r for _, r in table.sort_values("method").iterrows() if _scored(r, metrics)]
    if settings.reference:
        exact = [r["method"] for r in rows if r["method"] == settings.reference]
        named = [r["method"] for r in rows if r.get("method_name", r["method"]) == settings.reference]
        return (exact or named or [None])[0]
    ranked = [(settings.reference_priority[name], r["method"]) for r in rows
              if (name := r.get("method_name", r["method"])) in settings.reference_priority]
    if not ranked:
        return None
    top = max(p for p, _ in ranked)
    return next(label for p, label in ranked if p == top)


def _grid(images: pd.DataFrame, label: str, metric: str, seeds: list[int]) -> pd.DataFrame:
    rows = images[images["method"] == label]
    return rows.pivot_table(index="id", columns="seed", values=metric, aggfunc="mean").reindex(columns=seeds)


def _seed_text(seeds: set[int]) -> str:
    return ",".join(str(int(s)) for s in sorted(seeds))


def add_paired_comparisons(agg: pd.DataFrame, images: pd.DataFrame, settings: BoardSettings,
                           metrics: list[str]) -> pd.DataFrame:
    """``agg`` with the paired-comparison columns (module docstring) for ``metrics``."""
    agg = agg.copy()
    agg["reference"] = ""
    agg["paired_basis"] = ""
    for m in metrics:
        agg[f"{m}_diff"] = float("nan")
        agg[f"{m}_diff_ci95"] = float("nan")
        agg[f"{m}_verdict"] = ""
    image_tables = _image_tables(images)
    for keys, g in agg.groupby(GROUP_KEYS, dropna=False):
        ref = reference_label(g, settings, metrics)
        if ref is None:
            continue
        agg.loc[g.index, "reference"] = ref
        ref_row = g[g["method"] == ref].iloc[0]
        table_images = image_tables.get(keys, _NO_IMAGES)
        for i, r in g.iterrows():
            if r["method"] == ref:
                agg.loc[i, "paired_basis"] = "reference"
                continue
            if not _scored(r, metrics):
                continue
            basis, columns = compare_rows(table_images, r, ref_row, settings, metrics)
            agg.loc[i, "paired_basis"] = basis
            for m, (diff, half, verdict) in columns.items():
                agg.loc[i, [f"{m}_diff", f"{m}_diff_ci95", f"{m}_verdict"]] = [diff, half, verdict]
    return agg


def add_ablation_comparisons(agg: pd.DataFrame, images: pd.DataFrame, settings: BoardSettings, metrics: list[str],
                             row_settings: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """``agg`` with every row compared with its own ablation, where the table has one.

    The ablation row of a row is the row of the same method, in the same table, whose settings
    (:func:`~.board_rows.label_settings`) are the row's with the method's ``Method.ablation``
    options applied: its distinctive term switched off, everything else equal. Columns
    :data:`ABLATION_COLUMNS` and, per metric, :data:`ABLATION_SUFFIXES`; empty where there is no
    such row (and on the ablation row itself).

    :param row_settings: row label -> the settings it holds fixed (method options, profile, ...).
    """
    agg = agg.copy()
    for c in ABLATION_COLUMNS:
        agg[c] = ""
    for m in metrics:
        agg[f"{m}_vs_ablation"] = float("nan")
        agg[f"{m}_vs_ablation_ci95"] = float("nan")
        agg[f"{m}_vs_ablation_verdict"] = ""
    if not settings.ablations:
        return agg
    image_tables = _image_tables(images)
    for keys, g in agg.groupby(GROUP_KEYS, dropna=False):
        for i, r in g.iterrows():
            switch_off = settings.ablations.get(str(r.get("method_name", r["method"])))
            own = row_settings.get(r["method"])
            if not switch_off or own is None or not _scored(r, metrics):
                continue
            target = {**own, **switch_off}
            if target == dict(own):
                continue  # this row is the ablation
            match = [j for j, o in g.iterrows() if o["method"] != r["method"]
                     and o.get("method_name", o["method"]) == r.get("method_name", r["method"])
                     and dict(row_settings.get(o["method"]) or {}) == target and _scored(o, metrics)]
            if not match:
                continue
            ablation = g.loc[match[0]]
            basis, columns = compare_rows(image_tables.get(keys, _NO_IMAGES), r, ablation, settings, metrics)
            agg.loc[i, list(ABLATION_COLUMNS)] = [ablation["method"], basis]
            for m, values in columns.items():
                agg.loc[i, [f"{m}{suffix}" for suffix in ABLATION_SUFFIXES]] = list(values)
    return agg


_NO_IMAGES = pd.DataFrame(columns=["method", "seed", "id"])


def _image_tables(images: pd.DataFrame) -> dict[Any, pd.DataFrame]:
    return dict(iter(images.groupby(GROUP_KEYS, dropna=False))) if not images.empty else {}


def compare_rows(table_images: pd.DataFrame, row: pd.Series, ref_row: pd.Series, settings: BoardSettings,
                 metrics: list[str]) -> tuple[str, dict[str, tuple[float, float, str]]]:
    """``row`` minus ``ref_row`` (two rows of one table), image by image over their common seeds.

    :returns: the basis text (images x seeds, seeds left out) and, per metric with a value in both
        rows, ``(mean difference, 95% half-width, verdict)``; a metric without per-image values
        gets ``(nan, nan, NO_PER_IMAGE)``.
    """
    label, ref = row["method"], ref_row["method"]
    ref_seeds = set(table_images.loc[table_images["method"] == ref, "seed"])
    row_seeds = set(table_images.loc[table_images["method"] == label, "seed"])
    common = sorted(row_seeds & ref_seeds)
    nan = float("nan")
    columns: dict[str, tuple[float, float, str]] = {}
    if not common:
        missing = not row_seeds or not ref_seeds
        for m in metrics:
            if _scored(row, [m]) and _scored(ref_row, [m]) and missing:
                columns[m] = (nan, nan, NO_PER_IMAGE)
        return (NO_PER_IMAGE if missing else f"no seed in common with {ref}"), columns
    n_images = 0
    for m in metrics:
        if not (_scored(row, [m]) and _scored(ref_row, [m])):
            continue
        if m not in table_images.columns:
            columns[m] = (nan, nan, NO_PER_IMAGE)
            continue
        a, b = _grid(table_images, label, m, common), _grid(table_images, ref, m, common)
        ids = a.index.intersection(b.index)
        a, b = a.loc[ids].to_numpy(float), b.loc[ids].to_numpy(float)
        complete = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)  # images scored in every seed
        if not complete.any():
            columns[m] = (nan, nan, NO_PER_IMAGE)
            continue
        info = settings.metric(m)
        ta, tb = info.transform(a[complete]), info.transform(b[complete])
        diff = paired_difference(ta - tb, magnitude=float(np.mean(np.abs(tb))))
        columns[m] = (diff.mean, diff.half_width, diff.verdict(info.better_sign))
        n_images = max(n_images, diff.images)
    return _basis(n_images, common, row_seeds, ref_seeds, ref), columns


def _basis(n_images: int, common: list[int], row_seeds: set[Any], ref_seeds: set[Any], ref: str) -> str:
    text = f"{n_images} images × {len(common)} seeds"
    if set(common) != row_seeds or set(common) != ref_seeds:
        text += (f" (common seeds {_seed_text(set(common))}; this row has {_seed_text(row_seeds)}, "
                 f"{ref} has {_seed_text(ref_seeds)})")
    if len(common) == 1:
        text += "; one seed: interval over images only"
    elif n_images == 1:
        text += "; one image: interval over seeds only"
    return text
