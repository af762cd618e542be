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
from typing import Any

import numpy as np
import pandas as pd

from .board_rows import GROUP_KEYS
from .board_settings import BoardSettings
from .statistics import paired_difference

#: What ``<metric>_verdict`` says for a metric with means but no per-image values (FID, older results).
NO_PER_IMAGE = "no per-image values"
PAIRED_SUFFIXES = ("_diff", "_diff_ci95", "_verdict")


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
    image_tables = dict(iter(images.groupby(GROUP_KEYS, dropna=False))) if not images.empty else {}
    for keys, g in agg.groupby(GROUP_KEYS, dropna=False):
        ref = reference_label(g, settings, metrics)
        if ref is None:
            continue
        agg.loc[g.index, "reference"] = ref
        ref_row = g[g["method"] == ref].iloc[0]
        table_images = image_tables.get(keys, pd.DataFrame(columns=["method", "seed", "id"]))
        ref_seeds = set(table_images.loc[table_images["method"] == ref, "seed"])
        for i, r in g.iterrows():
            if r["method"] == ref:
                agg.loc[i, "paired_basis"] = "reference"
                continue
            if not _scored(r, metrics):
                continue
            row_seeds = set(table_images.loc[table_images["method"] == r["method"], "seed"])
            common = sorted(row_seeds & ref_seeds)
            if not common:
                missing = not row_seeds or not ref_seeds
                agg.loc[i, "paired_basis"] = NO_PER_IMAGE if missing else f"no seed in common with {ref}"
                for m in metrics:
                    if _scored(r, [m]) and _scored(ref_row, [m]) and missing:
                        agg.loc[i, f"{m}_verdict"] = NO_PER_IMAGE
                continue
            n_images = 0
            for m in metrics:
                if not (_scored(r, [m]) and _scored(ref_row, [m])):
                    continue
                if m not in table_images.columns:
                    agg.loc[i, f"{m}_verdict"] = NO_PER_IMAGE
                    continue
                a, b = _grid(table_images, r["method"], m, common), _grid(table_images, ref, m, common)
                ids = a.index.intersection(b.index)
                a, b = a.loc[ids].to_numpy(float), b.loc[ids].to_numpy(float)
                complete = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)  # images scored in every seed
                if not complete.any():
                    agg.loc[i, f"{m}_verdict"] = NO_PER_IMAGE
                    continue
                info = settings.metric(m)
                ta, tb = info.transform(a[complete]), info.transform(b[complete])
                diff = paired_difference(ta - tb, magnitude=float(np.mean(np.abs(tb))))
                agg.loc[i, f"{m}_diff"] = diff.mean
                agg.loc[i, f"{m}_diff_ci95"] = diff.half_width
                agg.loc[i, f"{m}_verdict"] = diff.verdict(info.better_sign)
                n_images = max(n_images, diff.images)
            agg.loc[i, "paired_basis"] = _basis(n_images, common, row_seeds, ref_seeds, ref)
    return agg


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
