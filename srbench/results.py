"""Names of result fields and statuses, and atomic JSON writing for ``result.json``.

Constants rather than string literals, so plugins and reports read results the same way
(torch-fidelity's ``KEY_METRIC_*`` style). The record itself is the typed
:class:`srbench.result_record.TrialResult` (read with ``read_record``/``read_records`` there).

``OUT/trials/<trial_id>/result.json``::

    {
      "schema": 1, "trial_id": ..., "status": "ok" | "failed" | "diverged" | "incompatible",
      "reason": "" or the error / incompatibility message,
      "spec": {method, method_options, dataset, test_datasets, scale, degradation,
               degradation_options, hr_fraction, hr_source, seed, profile, deterministic, amp,
               paired_degradation (only when --paired-degradation is set), paired_degradation_options
               (only those of its options that differ from their defaults), neutral_options (only when
               an option is at its declared neutral value: left out of the trial id), method_version,
               component_versions: {KIND/NAME: "VERSION/rN"}},
      "split": {hr_fraction, seed, paired_ids, lr_only_ids, sha256},
      "metrics": {TEST_DATASET: {"mean": {METRIC: value}, "per_image": [{"id": ..., METRIC: value}],
                                 "unavailable": {METRIC: reason},
                                 "details": {METRIC: {PART: value}},       # e.g. swd's per-level values
                                 "unavailable_setup": [METRIC],            # unavailable for want of a file
                                 "dataset_version": "VERSION/rN",          # of the test set; a change re-scores
                                 "revisions": {METRIC: "VERSION/rN"},      # what each score was made with;
                                 "options": {METRIC: {OPTION: value}}}},   # a change re-scores it
      "cost": {"train_seconds", "inference_ms_per_megapixel", "params", "train_cpu_seconds"},
      "training": {"steps", "resumed_from", "last_losses"}; a diverged trial adds "diverged_at"
                  (the step that gave a NaN/inf loss, counted from 1 as in losses.jsonl) and
                  "diverged_losses" ("steps" = the good steps done before it),
      "versions": {"srbench", "torch", "python", "plugins": {plugin: version},
                   "machine": {"cpus", "arch", "system", "accelerator" (CUDA only)},
                   "source": "faba260" (the git commit of an editable checkout, "+dirty" with changes)},
      "device": "cpu", "notes": ["one-line remarks of the method, e.g. a fallback it took"],
      "torch_threads": 2, "executor": {"name": "ray", "attempt", "niceness", ...} (Ray only),
      "wall_seconds": ..., "finished_at": ISO-8601,
      "rescored": [{"metrics": {TEST_DATASET: [METRIC]}, "at": ISO-8601, "srbench": VERSION}] (when rescored)
    }
"""

from __future__ import annotations

import errno
import json
import math
import os
import uuid
from pathlib import Path
from typing import Any

from .errors import OutputError

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
KEY_TRAIN_CPU_SECONDS = "train_cpu_seconds"
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


def write_bytes_atomic(path: Path, data: bytes | memoryview) -> None:
    """Write ``data`` through a temporary file of a unique name and ``os.replace``: readers (and
    other processes writing the same file) never see half a file, and a full disk raises
    ``OSError(ENOSPC)`` and leaves the old file as it was, and no temporary one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:  # opened normally, so the umask applies (unlike mkstemp's 0600)
            f.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, (json.dumps(_clean(data), indent=2, sort_keys=False) + "\n").encode())


#: ``OSError`` numbers that mean "this folder cannot take more writes": a run stops on them with one line.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG})


def is_write_error(exc: BaseException) -> bool:
    """True for an ``OSError`` of :data:`WRITE_ERRNOS` (full disk, read-only folder, no permission)."""
    return isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS


def output_error(exc: OSError, out: Path) -> OutputError:
    """The one line a run ends with when ``out`` cannot be written."""
    where = f" ({exc.filename})" if exc.filename else ""
    return OutputError(f"cannot write under --out {out}: {exc.strerror or exc}{where}; finished trials are kept, "
                       "free some space (or make it writable, or choose another --out) and run the same command again")
