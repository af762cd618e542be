"""The typed result record of one trial: what ``OUT/trials/<id>/result.json`` holds.

:class:`TrialResult` is built in one place (:meth:`srbench.runner.runner.Runner.new_record`),
filled by the runner and written as JSON by :meth:`TrialResult.to_dict`; every reader
(the runner's resume and rescore, the leaderboard, the report, eval, export) goes through
:meth:`TrialResult.from_dict`, which also takes the hand-built dicts of older tools and tests
(a missing field gets its empty value). The layout is documented in ``docs/results.md`` and
:mod:`srbench.results`; it is schema :data:`~srbench.results.SCHEMA_VERSION`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .results import RESULT_FILE, SCHEMA_VERSION, STATUS_FAILED, TRIALS_DIR

#: The oldest schema this srbench reads. Schema 1 is the first that was written; a record
#: without ``schema`` (a hand-built one) is read as schema 1.
OLDEST_SCHEMA = 1


class ResultSchemaError(UsageError):
    """A ``result.json`` whose schema this srbench cannot read (newer, or older than :data:`OLDEST_SCHEMA`)."""


def check_schema(data: Mapping[str, Any], where: str | Path) -> int:
    """The record's schema (1 when absent); one line naming ``where`` for one this srbench cannot read.

    A newer one would be misread (and must not be overwritten); there is no older one yet.
    """
    schema = data.get("schema", OLDEST_SCHEMA)
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise ResultSchemaError(f"{where}: result schema {schema!r} is not a number; this srbench reads schemas "
                                f"{OLDEST_SCHEMA} to {SCHEMA_VERSION}")
    if schema > SCHEMA_VERSION:
        raise ResultSchemaError(f"{where} was written by a newer srbench (result schema {schema}; this one reads up "
                                f"to {SCHEMA_VERSION}); upgrade srbench or choose another --out")
    if schema < OLDEST_SCHEMA:
        raise ResultSchemaError(f"{where}: result schema {schema} is older than this srbench reads "
                                f"({OLDEST_SCHEMA} to {SCHEMA_VERSION}); score the trial again in a new --out")
    return schema


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _opt_dict(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, Mapping) else None


@dataclass
class TestSetScores:
    """One test set's entry of ``metrics``: the scores and what they were computed with.

    :param mean: metric -> mean over the images (``None`` where not finite).
    :param per_image: one row per image: ``{"id": ..., METRIC: value}``.
    :param unavailable: metric -> why it has no value.
    :param unavailable_setup: the unavailable metrics that lacked something of this machine
        (weights, a parameter file): scored again once it is there.
    :param details: metric -> its named parts (e.g. swd's per-level values).
    :param dataset_version: the test dataset's ``"VERSION/rN"``; a changed one is scored again.
    :param revisions: metric -> ``"VERSION/rN"`` it was scored with.
    :param options: metric -> its options that affect results.
    """

    __test__ = False  # not a pytest class, whatever its name

    mean: dict[str, Any] = field(default_factory=dict)
    per_image: list[dict[str, Any]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    unavailable_setup: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    dataset_version: str | None = None
    revisions: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "per_image": self.per_image, "unavailable": self.unavailable,
                "unavailable_setup": self.unavailable_setup, "details": self.details,
                "dataset_version": self.dataset_version, "revisions": self.revisions, "options": self.options}

    @classmethod
    def from_dict(cls, d: Any) -> "TestSetScores":
        d = _dict(d)
        version = d.get("dataset_version")
        return cls(mean=_dict(d.get("mean")), per_image=[dict(r) for r in d.get("per_image") or []],
                   unavailable=_dict(d.get("unavailable")), unavailable_setup=list(d.get("unavailable_setup") or []),
                   details=_dict(d.get("details")), dataset_version=None if version is None else str(version),
                   revisions=_dict(d.get("revisions")), options=_dict(d.get("options")))

    def forget(self, metrics: Iterable[str]) -> None:
        """Drop the reasons, parts and per-image values of ``metrics`` (before they are scored
        again); their means are replaced by the new ones."""
        for metric in metrics:
            self.unavailable.pop(metric, None)
            self.details.pop(metric, None)
            for row in self.per_image:
                row.pop(metric, None)
            if metric in self.unavailable_setup:
                self.unavailable_setup.remove(metric)

    def merge(self, other: "TestSetScores") -> None:
        """Add ``other``'s values (of metrics forgotten first) to these; images matched by ``id``."""
        self.mean.update(other.mean)
        self.unavailable.update(other.unavailable)
        self.details.update(other.details)
        self.unavailable_setup = sorted(set(self.unavailable_setup) | set(other.unavailable_setup))
        rows = {row["id"]: row for row in self.per_image}
        for row in other.per_image:
            if row["id"] in rows:
                rows[row["id"]].update(row)
            else:
                self.per_image.append(row)


@dataclass
class Cost:
    """What a trial cost: training wall time, its CPU time (``train_cpu_seconds``: every thread of the training
    process; on a shared machine the wall time includes waiting, this does not), inference speed, generator size
    (``params``)."""

    train_seconds: float | None = None
    inference_ms_per_megapixel: float | None = None
    params: int | None = None
    train_cpu_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"train_seconds": self.train_seconds, "inference_ms_per_megapixel": self.inference_ms_per_megapixel,
               "params": self.params}
        if self.train_cpu_seconds is not None:  # absent from records made before it was kept
            out["train_cpu_seconds"] = self.train_cpu_seconds
        return out

    @classmethod
    def from_dict(cls, d: Any) -> "Cost | None":
        d = _dict(d)
        return cls(d.get("train_seconds"), d.get("inference_ms_per_megapixel"), d.get("params"),
                   d.get("train_cpu_seconds")) if d else None


@dataclass
class Training:
    """What the trainer did: ``steps`` done, the step it ``resumed_from``, the ``last_losses``; a
    diverged trial adds ``diverged_at`` (the step that gave a NaN/inf loss, counted from 1 as in
    ``losses.jsonl``) and ``diverged_losses``."""

    steps: int = 0
    resumed_from: int = 0
    last_losses: dict[str, Any] = field(default_factory=dict)
    diverged_at: int | None = None
    diverged_losses: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.diverged_at is None:
            return {"steps": self.steps, "resumed_from": self.resumed_from, "last_losses": self.last_losses}
        # the trainer's order for a diverged trial (DivergedError.training), so its file reads back to the byte
        return {"steps": self.steps, "diverged_at": self.diverged_at, "resumed_from": self.resumed_from,
                "last_losses": self.last_losses, "diverged_losses": self.diverged_losses or {}}

    @classmethod
    def from_dict(cls, d: Any) -> "Training | None":
        d = _dict(d)
        if not d:
            return None
        return cls(steps=int(d.get("steps") or 0), resumed_from=int(d.get("resumed_from") or 0),
                   last_losses=_dict(d.get("last_losses")), diverged_at=d.get("diverged_at"),
                   diverged_losses=_opt_dict(d.get("diverged_losses")))


#: Top-level keys :class:`TrialResult` names; any other key of a file is kept in ``extra``.
_KNOWN = ("schema", "trial_id", "status", "reason", "spec", "split", "metrics", "cost", "training", "versions",
          "device", "notes", "torch_threads", "executor", "wall_seconds", "finished_at", "rescored")


@dataclass
class TrialResult:
    """One trial's record (``result.json``).

    :param spec: the :class:`~srbench.runner.trial.TrialSpec` as a dict (``TrialSpec.to_dict``).
    :param split: the training split's manifest (``hr_fraction, seed, paired_ids, lr_only_ids, ...``),
        ``None`` until the data is built.
    :param metrics: test set -> its scores.
    :param cost: ``None`` for a trial that did not finish ``ok``.
    :param training: ``None`` for a trial that did not train.
    :param torch_threads: torch's thread count while it ran (float reductions depend on it).
    :param executor: where it ran (``{"name": "ray", "attempt", "host", ...}``); ``None`` in-process.
    :param rescored: one entry per later scoring from the checkpoint (``metrics``, ``at``, ``srbench``).
    :param extra: keys of the file this srbench does not name, kept as they were.
    """

    trial_id: str = ""
    status: str = STATUS_FAILED
    reason: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] | None = None
    metrics: dict[str, TestSetScores] = field(default_factory=dict)
    cost: Cost | None = None
    training: Training | None = None
    versions: dict[str, Any] = field(default_factory=dict)
    device: str = ""
    notes: list[str] = field(default_factory=list)
    torch_threads: int | None = None
    executor: dict[str, Any] | None = None
    wall_seconds: float | None = None
    finished_at: str | None = None
    rescored: list[dict[str, Any]] | None = None
    schema: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> str:
        """The spec's method name."""
        return str(self.spec.get("method", ""))

    def scores(self, test_set: str) -> TestSetScores:
        """``test_set``'s entry (empty when the trial was not scored on it; not added)."""
        return self.metrics.get(test_set) or TestSetScores()

    def test_sets(self) -> list[str]:
        """The test sets the trial was planned with, then any it was scored on later."""
        return list(dict.fromkeys([*(self.spec.get("test_datasets") or []), *self.metrics]))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, in the key order ``result.json`` has always had (optional keys only when set)."""
        d: dict[str, Any] = {
            "schema": self.schema, "trial_id": self.trial_id, "status": self.status, "reason": self.reason,
            "spec": self.spec, "split": self.split, "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "cost": self.cost.to_dict() if self.cost else {},
            "training": self.training.to_dict() if self.training else {},
            "versions": self.versions, "device": self.device, "notes": self.notes,
        }
        for key in ("torch_threads", "executor", "wall_seconds", "finished_at", "rescored"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str | Path = "result record") -> "TrialResult":
        """Read a record (a parsed ``result.json``, or a hand-built dict: missing fields are empty).

        :raises ResultSchemaError: one line naming ``where`` for a schema this srbench cannot read.
        """
        schema = check_schema(data, where)
        threads, wall = data.get("torch_threads"), data.get("wall_seconds")
        rescored = data.get("rescored")
        return cls(
            schema=schema, trial_id=str(data.get("trial_id") or ""), status=str(data.get("status") or STATUS_FAILED),
            reason=str(data.get("reason") or ""), spec=_dict(data.get("spec")), split=_opt_dict(data.get("split")),
            metrics={str(k): TestSetScores.from_dict(v) for k, v in _dict(data.get("metrics")).items()},
            cost=Cost.from_dict(data.get("cost")), training=Training.from_dict(data.get("training")),
            versions=_dict(data.get("versions")), device=str(data.get("device") or ""),
            notes=[str(n) for n in data.get("notes") or []],
            torch_threads=None if threads is None else int(threads), executor=_opt_dict(data.get("executor")),
            wall_seconds=None if wall is None else float(wall),
            finished_at=None if data.get("finished_at") is None else str(data["finished_at"]),
            rescored=None if rescored is None else [dict(r) for r in rescored],
            extra={k: v for k, v in data.items() if k not in _KNOWN})


def as_record(result: "TrialResult | Mapping[str, Any]") -> TrialResult:
    """``result`` as a :class:`TrialResult` (a dict is read with :meth:`TrialResult.from_dict`)."""
    return result if isinstance(result, TrialResult) else TrialResult.from_dict(result)


def as_records(results: "Iterable[TrialResult | Mapping[str, Any]]") -> list[TrialResult]:
    """Every one of ``results`` as a :class:`TrialResult`."""
    return [as_record(r) for r in results]


def read_record(path: str | Path) -> TrialResult | None:
    """One ``result.json``; ``None`` when missing, unreadable or not a JSON object.

    :raises ResultSchemaError: for a schema this srbench cannot read (one line naming the file).
    """
    return read_record_with_bytes(path)[1]


def read_record_with_bytes(path: str | Path) -> tuple[bytes, TrialResult | None]:
    """:func:`read_record` and the file's bytes, from one read (``b""`` when the file is missing or
    unreadable), for a caller that copies or compares the file as it is.

    :raises ResultSchemaError: for a schema this srbench cannot read (one line naming the file).
    """
    try:
        data = Path(path).read_bytes()
        parsed = json.loads(data)
    except (OSError, ValueError):
        return b"", None
    return data, TrialResult.from_dict(parsed, path) if isinstance(parsed, dict) else None


def read_records(out: str | Path) -> list[TrialResult]:
    """Every readable ``result.json`` under ``out/trials``, sorted by trial id (a file cut by a crashed
    writer of an older version is passed over; atomic writes prevent new ones).

    :raises ResultSchemaError: for a schema this srbench cannot read (one line naming the file).
    """
    records = []
    for p in sorted((Path(out) / TRIALS_DIR).glob(f"*/{RESULT_FILE}")):
        record = read_record(p)
        if record is not None:
            records.append(record)
    return records


def read_results(out: str | Path) -> list[dict[str, Any]]:
    """:func:`read_records` as ``result.json`` dicts (for a notebook or a pandas frame)."""
    return [r.to_dict() for r in read_records(out)]
