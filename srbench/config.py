"""The run configuration: one typed dataclass shared by the CLI, TOML files and the Python API.

Precedence: defaults < ``--config FILE.toml`` < command-line flags < ``--set`` overrides.
Unknown keys and badly typed values are :class:`~srbench.errors.UsageError` with one line
naming the key, the value and what is accepted.

A config file mirrors the flags::

    methods = ["bicubic", "srgan"]
    hr_fraction = [0.01, 0.05]
    dataset = "default"
    scale = 4
    profile = "quick"

    [method_options.srgan]
    adversarial_weight = 0.001

    [metric_options.niqe]
    params_path = "/data/niqe_pris_params.npz"

    [profile_overrides]
    iterations = 500
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from .errors import UsageError
from .options import convert_value, option

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ACCEPTED_SCALES = (2, 3, 4)
#: ``local``: trials one after another in this process; ``ray``: Ray tasks on a local or remote cluster.
EXECUTORS = ("local", "ray")
#: ``test``: score the test datasets; ``val``: score only the training dataset's validation split.
EVAL_SPLITS = ("test", "val")

@dataclass
class RunConfig:
    """Everything ``srbench run`` needs; each field is a flag of the same name."""

    methods: list[str] = option(["all"], "methods to run (names, or 'all' for every registered one)")
    hr_fraction: list[float] = option([0.05], "fraction(s) of training images that keep their HR, each in [0, 1]")
    dataset: str = option("default", "training dataset: NAME or NAME:ARG (folder:PATH)")
    test_datasets: list[str] = option([], "test datasets (default: the test split of --dataset, or the test sets "
                                          "present for a named training set such as sr291)")
    eval_split: str = option("test", "what trials are scored on: 'test' (the test datasets) or 'val' (the "
                                     "validation split of --dataset only, scored as DATASET/val)")
    scale: int = option(4, "super-resolution factor: 2, 3 or 4")
    degradation: str = option("bicubic", "HR-to-LR operator (see 'srbench list degradations')")
    paired_degradation: str = option("", "HR-to-LR operator of the paired images only, when it is not --degradation "
                                         "(a domain gap: bicubic paired LR beside blind LR-only and test LR); "
                                         "empty = --degradation")
    hr_source: str = option("paired", "unpaired HR pool: 'paired', 'none' or a dataset (folder:PATH)")
    seeds: int = option(1, "number of seeds; trials run with seeds first_seed..first_seed+N-1")
    first_seed: int = option(0, "first seed of the run, so one sweep's seeds can be spread over machines "
                                "(--first-seed 2 --seeds 1 runs seed 2 alone)")
    profile: str = option("quick", "budget: smoke, quick, standard or full")
    out: str = option("srbench-out", "output folder (trials, leaderboard, report)")
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    deterministic: bool = option(True, "cuDNN deterministic mode, no autotuning")
    amp: bool = option(False, "mixed precision (bfloat16 autocast) for training and inference on CUDA")
    metrics: list[str] = option([], "metrics to compute (default: every registered metric)")
    method_options: dict[str, dict[str, Any]] = option({}, "per-method options, as --set METHOD.OPTION=VALUE")
    metric_options: dict[str, dict[str, Any]] = option({}, "per-metric options, as --set METRIC.OPTION=VALUE")
    degradation_options: dict[str, Any] = option({}, "options of the degradation, as --set degradation.OPTION=VALUE")
    paired_degradation_options: dict[str, Any] = option({}, "options of --paired-degradation's operator, as --set "
                                                            "paired_degradation.OPTION=VALUE")
    profile_overrides: dict[str, Any] = option({}, "profile fields to override, as --set profile.FIELD=VALUE")
    log: dict[str, Any] = option({}, "settings of logging plugins (srbench_log_losses), as --set log.KEY=VALUE; "
                                     "not part of trial ids")
    executor: str = option("local", "where trials run: 'local' (one after another here) or 'ray'")
    ray_address: str = option("", "Ray cluster to use with executor 'ray' (default: $RAY_ADDRESS, else a "
                                  "local instance sized to this machine)")
    trials_per_gpu: int = option(1, "trials that share one GPU with executor 'ray' (each asks for 1/N of it): the "
                                    "small networks of the quick and standard profiles leave most of a GPU idle")
    retries: int = option(2, "times a trial whose worker crashed is resumed from its checkpoint (executor 'ray')")
    rank_by: str = option("psnr_y", "metric that ranks the rows of each leaderboard table, in its own direction "
                                    "(Metric.higher_is_better, or the distance to Metric.target)")
    reference: str = option("", "method (or row label) every leaderboard row is compared with, paired on images "
                                "and seeds (default: the present method of highest leaderboard_reference_priority)")
    realism: str = option("", "realism axis of the report's perception-distortion plane (default: the first "
                              "registered metric marked realism that has values)")

    def validate(self) -> "RunConfig":
        """Check values that need no plugin; returns ``self``."""
        if self.scale not in ACCEPTED_SCALES:
            raise UsageError(f"--scale {self.scale}: accepted values are {', '.join(map(str, ACCEPTED_SCALES))}")
        for f in self.hr_fraction:
            if not 0.0 <= f <= 1.0:
                raise UsageError(f"--hr-fraction {f:g}: must be in [0, 1]")
        if not self.hr_fraction:
            raise UsageError("--hr-fraction: give at least one value in [0, 1]")
        if self.seeds < 1:
            raise UsageError(f"--seeds {self.seeds}: must be a positive integer")
        if self.first_seed < 0:
            raise UsageError(f"--first-seed {self.first_seed}: must be 0 or more")
        if not self.methods:
            raise UsageError("--methods: give at least one method name, or 'all'")
        if self.eval_split not in EVAL_SPLITS:
            raise UsageError(f"--eval-split {self.eval_split!r}: accepted values are {', '.join(EVAL_SPLITS)}")
        if self.executor not in EXECUTORS:
            raise UsageError(f"--executor {self.executor!r}: accepted values are {', '.join(EXECUTORS)}")
        if self.trials_per_gpu < 1:
            raise UsageError(f"--trials-per-gpu {self.trials_per_gpu}: must be a positive integer")
        if self.trials_per_gpu > 1 and self.executor != "ray":
            raise UsageError(f"--trials-per-gpu {self.trials_per_gpu}: only used with --executor ray (the local "
                             "executor runs one trial at a time)")
        if self.retries < 0:
            raise UsageError(f"--retries {self.retries}: must be 0 or more")
        if self.ray_address and self.executor != "ray":
            raise UsageError(f"--ray-address {self.ray_address}: only used with --executor ray")
        return self

_FIELD_TYPES: dict[str, Any] = {}

def _field_types() -> dict[str, Any]:
    if not _FIELD_TYPES:
        from typing import get_type_hints

        _FIELD_TYPES.update(get_type_hints(RunConfig))
    return _FIELD_TYPES

def _as_list_value(value: Any) -> Any:
    """A list field's raw value: strings stay whole (``convert_value`` splits them on commas, so an
    error quotes what the user typed), tuples become lists, a lone TOML scalar a one-item list."""
    if isinstance(value, tuple):
        return list(value)
    return value if isinstance(value, (str, list)) else [value]

def update_config(config: RunConfig, values: Mapping[str, Any], where: str) -> RunConfig:
    """A copy of ``config`` with ``values`` (raw strings or TOML values) applied.

    :param where: prefix of error messages (``"config file x.toml"``, ``"command line"``).
    """
    types = _field_types()
    known = [f.name for f in fields(RunConfig)]
    changes: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in known:
            hint = difflib.get_close_matches(name, known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise UsageError(f"{where}: unknown setting {key!r}{suggestion}; accepted: {', '.join(known)}")
        tp = types[name]
        if name in ("method_options", "metric_options", "degradation_options", "paired_degradation_options",
                    "profile_overrides", "log"):
            per_name = name in ("method_options", "metric_options")
            if not isinstance(value, Mapping) or (per_name and not all(isinstance(v, Mapping) for v in value.values())):
                raise UsageError(f"{where}: {key!r} must be a table"
                                 + (f" of tables ([{name}.NAME])" if per_name else ""))
            merged = dict(getattr(config, name))
            for k, v in value.items():
                merged[k] = {**merged.get(k, {}), **v} if per_name else v
            changes[name] = merged
            continue
        if name in ("methods", "hr_fraction", "test_datasets", "metrics"):
            value = _as_list_value(value)
        changes[name] = convert_value(value, tp, f"{where}: {key}")
    return replace(config, **changes)

def load_config_file(path: str | Path, config: RunConfig | None = None) -> RunConfig:
    """Apply a TOML file to ``config`` (defaults when ``None``)."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"--config {path}: no such file")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"--config {path}: not valid TOML ({exc})") from None
    return update_config(config or RunConfig(), data, f"config file {p.name}")

def apply_set_overrides(config: RunConfig, assignments: list[str]) -> RunConfig:
    """Apply ``--set TARGET.OPTION=VALUE`` strings.

    ``TARGET`` is a method name, a metric name, ``degradation``, ``paired_degradation``, ``profile`` or
    ``log``. Method and metric names are told apart by the runner, which knows the registered names (both
    land in ``method_options`` here). Values stay strings here; they are converted to each option's
    type when the component is built (where the type is known).
    """
    method_options = {k: dict(v) for k, v in config.method_options.items()}
    degradation_options = dict(config.degradation_options)
    paired_degradation_options = dict(config.paired_degradation_options)
    profile_overrides = dict(config.profile_overrides)
    log = dict(config.log)
    for item in assignments:
        key, sep, value = item.partition("=")
        value = value.strip()  # "--set 'srgan.lr = 1e-4'" means 1e-4, not " 1e-4"
        target, dot, opt = key.strip().partition(".")
        target, opt = target.strip(), opt.strip()
        if not sep or not dot or not target or not opt:
            raise UsageError(f"--set {item!r}: expected METHOD.OPTION=VALUE (or METRIC.OPTION=VALUE, "
                             "degradation.OPTION=VALUE, paired_degradation.OPTION=VALUE, profile.FIELD=VALUE, "
                             "log.KEY=VALUE)")
        if target == "degradation":
            degradation_options[opt] = value
        elif target == "paired_degradation":
            paired_degradation_options[opt] = value
        elif target == "profile":
            profile_overrides[opt] = value
        elif target == "log":
            log[opt] = value
        else:
            method_options.setdefault(target, {})[opt] = value
    return replace(config, method_options=method_options, degradation_options=degradation_options,
                   paired_degradation_options=paired_degradation_options, profile_overrides=profile_overrides,
                   log=log)
