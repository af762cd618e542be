"""Results -> frames: row labels, one row per (trial, test set), one per (trial, test set, image).

A leaderboard row is one method at one code version and one set of options: trials of a method
run with other options (``--set``) or from another plugin version or ``Method.revision`` get rows
of their own, labelled so a reader sees it (``srresnet@0.1.0/r2``, ``ambient[fd879d]``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..results import (
    KEY_COST,
    KEY_MEAN,
    KEY_METRICS,
    KEY_PER_IMAGE,
    KEY_SPEC,
    STATUS_OK,
)

#: The columns one leaderboard table shares.
GROUP_KEYS = ["test_dataset", "scale", "degradation", "hr_fraction"]
#: Label suffix of trials recorded before ``spec.method_version`` existed.
UNVERSIONED = "unversioned"


def _version(spec: dict[str, Any]) -> str:
    return str(spec.get("method_version") or UNVERSIONED)


#: Spec fields besides the method's options that make trials of one method differ within a table
#: (the table's own keys and the seed aside): a row never averages two profiles or training sets.
_SETTING_FIELDS = ("dataset", "hr_source", "deterministic", "amp")
_SETTING_TABLES = ("profile", "degradation_options")


def _settings(spec: dict[str, Any]) -> dict[str, Any]:
    """What a row of one method holds fixed: its options, then ``profile.FIELD``, ``dataset``, ... ."""
    settings = dict(spec.get("method_options") or {})
    for table in _SETTING_TABLES:
        settings.update({f"{table}.{k}": v for k, v in (spec.get(table) or {}).items()})
    settings.update({k: spec[k] for k in _SETTING_FIELDS if k in spec})
    return settings


def _options(spec: dict[str, Any]) -> str:
    return json.dumps(_settings(spec), sort_keys=True, default=str)


def method_labels(results: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Trial id -> row label: the method name, plus ``[<6-hex hash of its settings>]`` when one
    folder holds trials of the method with different options (or profiles, training sets, HR
    sources: :func:`_settings`), plus ``@<method_version>`` when it
    holds trials of the method from different versions (so neither is averaged together)."""
    options: dict[str, set[str]] = {}
    versions: dict[str, set[str]] = {}
    specs = {}
    for r in results:
        spec = r.get(KEY_SPEC, {})
        specs[r.get("trial_id", "")] = spec
        options.setdefault(spec.get("method"), set()).add(_options(spec))
        versions.setdefault(spec.get("method"), set()).add(_version(spec))
    labels = {}
    for tid, spec in specs.items():
        method = spec.get("method")
        label = str(method)
        if len(options[method]) > 1:
            label += f"[{hashlib.sha256(_options(spec).encode()).hexdigest()[:6]}]"
        if len(versions[method]) > 1:
            label += f"@{_version(spec)}"
        labels[tid] = label
    return labels


def _option_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def method_variants(results: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Row label -> what tells it from the method's other rows (``name=value, ...``, ``version=...``).

    Only for labels that are not the bare method name: ``fewhr[fd879d]`` means little until the
    reader learns it is ``term=pairwise`` against ``fewhr[f5d526]``'s ``term=none``.
    """
    results = list(results)
    labels = method_labels(results)
    by_method: dict[str, dict[str, tuple[dict[str, Any], str]]] = {}  # method -> label -> (options, version)
    for r in results:
        spec = r.get(KEY_SPEC, {})
        label = labels.get(r.get("trial_id", ""), spec.get("method"))
        if label != spec.get("method"):
            by_method.setdefault(spec.get("method"), {})[label] = (_settings(spec), _version(spec))
    legend = {}
    for variants in by_method.values():
        opts = {label: o for label, (o, _) in variants.items()}
        differing = sorted(k for k in set().union(*opts.values())
                           if len({json.dumps(o.get(k), sort_keys=True) for o in opts.values()}) > 1)
        several_versions = len({v for _, v in variants.values()}) > 1
        for label, (o, version) in variants.items():
            parts = [f"{k}={_option_text(o.get(k))}" for k in differing]
            legend[label] = ", ".join(parts + ([f"version={version}"] if several_versions else []))
    return dict(sorted(legend.items()))


def _spec_columns(r: dict[str, Any], label: str) -> dict[str, Any]:
    spec = r.get(KEY_SPEC, {})
    return {"method": label, "method_name": spec.get("method"), "method_version": spec.get("method_version") or "",
            "dataset": spec.get("dataset"), "scale": spec.get("scale"), "degradation": spec.get("degradation"), "hr_fraction": spec.get("hr_fraction"),
            "hr_source": spec.get("hr_source"), "seed": spec.get("seed")}


def _tests(r: dict[str, Any]) -> list[str]:
    """The tables a trial has a row in: the test sets it was planned with and any it was scored on later."""
    return list(dict.fromkeys([*(r.get(KEY_SPEC, {}).get("test_datasets") or []), *(r.get(KEY_METRICS) or {})]))


def result_rows(results: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per (trial, test dataset) with spec fields, status, mean metrics and costs."""
    results = list(results)
    labels = method_labels(results)
    rows = []
    for r in results:
        base = {**_spec_columns(r, labels.get(r.get("trial_id", ""), r.get(KEY_SPEC, {}).get("method"))),
                "status": r.get("status"), "reason": r.get("reason", ""), **(r.get(KEY_COST) or {})}
        for test in _tests(r):
            metrics = ((r.get(KEY_METRICS) or {}).get(test) or {}).get(KEY_MEAN) or {}
            rows.append({**base, "test_dataset": test, **metrics})
    return pd.DataFrame(rows)


def image_rows(results: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per (ok trial, test dataset, image): label, table keys, seed, ``id`` and each
    metric's per-image value. Empty for results without per-image values (older result.json)."""
    results = list(results)
    labels = method_labels(results)
    rows = []
    for r in results:
        if r.get("status") != STATUS_OK:
            continue
        base = _spec_columns(r, labels.get(r.get("trial_id", ""), r.get(KEY_SPEC, {}).get("method")))
        for test in _tests(r):
            for image in ((r.get(KEY_METRICS) or {}).get(test) or {}).get(KEY_PER_IMAGE) or []:
                rows.append({**base, "test_dataset": test, **image})
    frame = pd.DataFrame(rows)
    for c in frame.columns:
        if c not in ("method", "method_name", "method_version", "degradation", "id", "hr_source", "test_dataset"):
            frame[c] = pd.to_numeric(frame[c], errors="coerce")
    return frame
