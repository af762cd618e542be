"""Results -> frames: row labels, one row per (trial, test set), one per (trial, test set, image).

A leaderboard row is one method at one code version and one set of options: trials of a method
run with other options (``--set``) or from another plugin version or ``Method.revision`` get rows
of their own, labelled so a reader sees it (``srresnet@0.1.0/r2``, ``ambient[fd879d]``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Union

import pandas as pd

from ..result_record import TrialResult, as_records
from ..results import STATUS_OK
from .trial import identity_options

#: What the frame builders take: records, or ``result.json`` dicts (read with ``TrialResult.from_dict``).
Records = Iterable[Union[TrialResult, Mapping[str, Any]]]

#: The columns one leaderboard table shares.
GROUP_KEYS = ["test_dataset", "scale", "degradation", "hr_fraction"]
#: Label suffix of trials recorded before ``spec.method_version`` existed.
UNVERSIONED = "unversioned"


def _version(spec: dict[str, Any]) -> str:
    return str(spec.get("method_version") or UNVERSIONED)


#: Spec fields besides the method's options that make trials of one method differ within a table
#: (the table's own keys and the seed aside): a row never averages two profiles, training sets or
#: revisions of a network, loss, degradation or dataset (``component_versions``).
_SETTING_FIELDS = ("dataset", "hr_source", "paired_degradation", "deterministic", "amp")
_SETTING_TABLES = ("profile", "degradation_options", "paired_degradation_options", "component_versions")
_COMPONENT_PREFIX = "component_versions."


def _settings(spec: dict[str, Any]) -> dict[str, Any]:
    """What a row of one method holds fixed: its options, then ``profile.FIELD``,
    ``component_versions.KIND/NAME``, ``dataset``, ... ."""
    settings = identity_options(spec)  # an option at its neutral value trains as before it existed
    for table in _SETTING_TABLES:
        settings.update({f"{table}.{k}": v for k, v in (spec.get(table) or {}).items()})
    settings.update({k: spec[k] for k in _SETTING_FIELDS if k in spec})
    return settings


def _options(spec: dict[str, Any]) -> str:
    return json.dumps(_settings(spec), sort_keys=True, default=str)


def method_labels(results: Records) -> dict[str, str]:
    """Trial id -> row label: the method name, plus ``[<6-hex hash of its settings>]`` when one
    folder holds trials of the method with different options (or profiles, training sets, HR
    sources: :func:`_settings`), plus ``@<method_version>`` when it
    holds trials of the method from different versions (so neither is averaged together)."""
    options: dict[str, set[str]] = {}
    versions: dict[str, set[str]] = {}
    records = as_records(results)
    for r in records:
        options.setdefault(r.method, set()).add(_options(r.spec))
        versions.setdefault(r.method, set()).add(_version(r.spec))
    labels = {}
    for r in records:
        label = r.method
        if len(options[r.method]) > 1:
            label += f"[{hashlib.sha256(_options(r.spec).encode()).hexdigest()[:6]}]"
        if len(versions[r.method]) > 1:
            label += f"@{_version(r.spec)}"
        labels[r.trial_id] = label
    return labels


def label_settings(results: Records) -> dict[str, dict[str, Any]]:
    """Row label -> what the row holds fixed (its method options, ``profile.FIELD``, ``dataset``, ...):
    what tells a method's variants apart, and how a row's ablation is found."""
    records = as_records(results)
    labels = method_labels(records)
    return {labels.get(r.trial_id, r.method): _settings(r.spec) for r in records}


def _option_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def method_variants(results: Records) -> dict[str, str]:
    """Row label -> what tells it from the method's other rows (``name=value, ...``, ``version=...``).

    Only for labels that are not the bare method name: ``fewhr[fd879d]`` means little until the
    reader learns it is ``term=pairwise`` against ``fewhr[f5d526]``'s ``term=none``.
    """
    records = as_records(results)
    labels = method_labels(records)
    by_method: dict[str, dict[str, tuple[dict[str, Any], str]]] = {}  # method -> label -> (options, version)
    for r in records:
        label = labels.get(r.trial_id, r.method)
        if label != r.method:
            by_method.setdefault(r.method, {})[label] = (_settings(r.spec), _version(r.spec))
    legend = {}
    for variants in by_method.values():
        opts = {label: o for label, (o, _) in variants.items()}
        differing = sorted(k for k in set().union(*opts.values())
                           if len({json.dumps(o.get(k), sort_keys=True) for o in opts.values()}) > 1)
        if any(not k.startswith(_COMPONENT_PREFIX) for k in differing):
            # a component version follows from the setting that names the component (paired_degradation=...)
            differing = [k for k in differing if not k.startswith(_COMPONENT_PREFIX)]
        several_versions = len({v for _, v in variants.values()}) > 1
        for label, (o, version) in variants.items():
            parts = [_difference_text(k, o) for k in differing]
            legend[label] = ", ".join(parts + ([f"version={version}"] if several_versions else []))
    return dict(sorted(legend.items()))


def _difference_text(key: str, settings: dict[str, Any]) -> str:
    if key not in settings and "." not in key and key not in _SETTING_FIELDS:
        # a method option a record lacks predates it or sits at its neutral value: the method as before it existed
        return f"{key} absent (as before the option existed)"
    return f"{key}={_option_text(settings.get(key))}"


def _spec_columns(r: TrialResult, label: str) -> dict[str, Any]:
    spec = r.spec
    return {"method": label, "method_name": spec.get("method"), "method_version": spec.get("method_version") or "",
            "dataset": spec.get("dataset"), "scale": spec.get("scale"), "degradation": spec.get("degradation"), "hr_fraction": spec.get("hr_fraction"),
            "hr_source": spec.get("hr_source"), "seed": spec.get("seed")}


def result_rows(results: Records) -> pd.DataFrame:
    """One row per (trial, test dataset) with spec fields, status, mean metrics and costs."""
    records = as_records(results)
    labels = method_labels(records)
    rows = []
    for r in records:
        base = {**_spec_columns(r, labels.get(r.trial_id, r.method)),
                "status": r.status, "reason": r.reason, **(r.cost.to_dict() if r.cost else {}),
                "train_device": r.device.split(":")[0]}  # "cuda:1" and "cuda" time alike
        for test in r.test_sets():  # those it was planned with, then any it was scored on later
            rows.append({**base, "test_dataset": test, **r.scores(test).mean})
    return pd.DataFrame(rows)


def image_rows(results: Records) -> pd.DataFrame:
    """One row per (ok trial, test dataset, image): label, table keys, seed, ``id`` and each
    metric's per-image value. Empty for results without per-image values (older result.json)."""
    records = as_records(results)
    labels = method_labels(records)
    rows = []
    for r in records:
        if r.status != STATUS_OK:
            continue
        base = _spec_columns(r, labels.get(r.trial_id, r.method))
        for test in r.test_sets():
            for image in r.scores(test).per_image:
                rows.append({**base, "test_dataset": test, **image})
    frame = pd.DataFrame(rows)
    for c in frame.columns:
        if c not in ("method", "method_name", "method_version", "degradation", "id", "hr_source", "test_dataset"):
            frame[c] = pd.to_numeric(frame[c], errors="coerce")
    return frame
