"""Names of result fields and statuses, and atomic JSON I/O for ``result.json``.

Constants rather than string literals, so plugins and reports read results the same way
(torch-fidelity's ``KEY_METRIC_*`` style).

``OUT/trials/<trial_id>/result.json``::

    {
      "schema": 1, "trial_id": ..., "status": "ok" | "failed" | "diverged" | "incompatible",
      "reason": "" or the error / incompatibility message,
      "spec": {method, method_options, dataset, test_datasets, scale, degradation,
               degradation_options, hr_fraction, hr_source, seed, profile},
      "split": {hr_fraction, seed, paired_ids, lr_only_ids, sha256},
      "metrics": {TEST_DATASET: {"mean": {METRIC: value}, "per_image": [{"id": ..., METRIC: value}],
                                 "unavailable": {METRIC: reason}}},
      "cost": {"train_seconds", "inference_ms_per_megapixel", "params"},
      "training": {"steps", "resumed_from", "last_losses"}; a diverged trial adds "diverged_at"
                  (the step that gave a NaN/inf loss, counted from 1 as in losses.jsonl) and
                  "diverged_losses" ("steps" = the good steps done before it),
      "versions": {"srbench", "torch", "python", "plugins": {plugin: version}},
      "device": "cpu", "wall_seconds": ..., "finished_at": ISO-8601,
      "notes": ["one-line remarks of the method, e.g. a fallback it took"]
    }
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
RESULT_FILE = "result.json"
TRIALS_DIR = "trials"

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_DIVERGED = "diverged"
STATUS_INCOMPATIBLE = "incompatible"
STATUSES = (STATUS_OK, STATUS_FAILED, STATUS_DIVERGED, STATUS_INCOMPATIBLE)

KEY_STATUS = "status"
KEY_REASON = "reason"
KEY_SPEC = "spec"
KEY_SPLIT = "split"
KEY_METRICS = "metrics"
KEY_MEAN = "mean"
KEY_PER_IMAGE = "per_image"
KEY_UNAVAILABLE = "unavailable"
KEY_COST = "cost"
KEY_TRAIN_SECONDS = "train_seconds"
KEY_INFERENCE_MS_PER_MP = "inference_ms_per_megapixel"
KEY_PARAMS = "params"


def _clean(obj: Any) -> Any:
    """NaN/inf are not JSON: store them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and ``os.replace``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(_clean(data), indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def read_results(out: Path) -> list[dict[str, Any]]:
    """Every ``result.json`` under ``out/trials``, sorted by trial id."""
    results = []
    for p in sorted((Path(out) / TRIALS_DIR).glob(f"*/{RESULT_FILE}")):
        try:
            results.append(json.loads(p.read_text()))
        except ValueError:
            continue  # a file from a crashed writer of an older version; atomic writes prevent new ones
    return results


def read_result(path: Path) -> dict[str, Any] | None:
    """One ``result.json``, or ``None`` when missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
