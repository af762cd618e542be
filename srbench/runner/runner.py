"""The benchmark runner: plan every trial up front, run them one by one, isolate failures.

Planning resolves every name and option before anything trains, so a typo costs nothing.
Each trial writes ``OUT/trials/<id>/result.json`` atomically; a repeated command skips trials
whose result is final and resumes the others from their checkpoint.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import gc
import os
import platform
import shutil
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from dataclasses import fields as dc_fields
from pathlib import Path
from typing import Any, Callable, get_type_hints

import torch

from .. import __version__
from ..config import RunConfig
from ..data.datasets import open_dataset, parse_dataset_spec
from ..data.overlap import check_disjoint_from_tests
from ..data.pipeline import build_test_set, build_training_data
from ..errors import (DataError, DivergedError, IncompatibleError, OutputError, PluginLoadError, SrbenchError,
                      UsageError)
from ..interfaces.dataset import Dataset, Split
from ..interfaces.degradation import Degradation
from ..interfaces.method import Method, MethodContext
from ..interfaces.metric import Metric
from ..options import NoOptions, convert_value, neutral_option_names, options_to_dict, parse_options
from ..plugin_manager import PluginSystem
from ..provenance import machine, source_revision
from ..result_record import Cost, TestSetScores, Training, TrialResult, read_record
from ..results import (RESULT_FILE, STATUS_DIVERGED, STATUS_FAILED, STATUS_INCOMPATIBLE, STATUS_OK, TRIALS_DIR,
                       is_write_error, output_error, write_json_atomic)
from ..training.profiles import Profile, get_profile
from ..training.seeding import seed_everything, set_deterministic
from ..training.threads import limit_torch_threads
from ..training.trainer import CHECKPOINT_NAME, Trainer, TrainingOutcome, load_method_weights
from .evaluate import evaluate
from .loss_logging import check_log_settings, loss_logger
from .progress import Progress
from .executors import Executor, create_executor
from .trial import TrialSpec

#: Statuses that a repeated command does not run again (a ``failed`` trial is retried).
FINAL_STATUSES = (STATUS_OK, STATUS_DIVERGED, STATUS_INCOMPATIBLE)
#: Test LR images are made with this seed whatever the trial's seed, so seeds share one test set.
EVAL_SEED = 0
#: ``OUT/samples``: LR and HR crops of the test images, written after every trial has trained.
SAMPLES_DIR = "samples"
#: ``OUT/.lock``: held (``flock``) by the ``srbench run`` writing OUT; holds its pid.
LOCK_FILE = ".lock"
#: Most trials one command plans. Far above any real sweep (10 methods x 10 fractions x 100 seeds
#: is 10,000), and planning 10^5 trials takes about a second and 100 MB; without a limit
#: ``--seeds 100000000000`` grew past 17 GB before it was stopped.
MAX_TRIALS = 100_000


@dataclass
class PlannedTrial:
    spec: TrialSpec
    method_cls: type[Method]
    method_options: Any

    @property
    def trial_id(self) -> str:
        return self.spec.trial_id


#: What a run does with a planned trial (:meth:`Runner.planned_actions`, ``srbench run --dry-run``).
ACTION_REUSE, ACTION_SCORE, ACTION_RESUME, ACTION_TRAIN = "reuse", "score", "resume", "train"


@dataclass(frozen=True)
class PlannedAction:
    """A planned trial and what a run would do with it: reuse its final record, score it from its checkpoint
    on what it lacks, resume its training from its checkpoint, or train it."""

    trial: PlannedTrial
    action: str
    detail: str = ""


@dataclass(frozen=True)
class MetricStamp:
    """What a score was computed with; stored beside it, and a stored score whose stamp differs
    from the current one is scored again (:meth:`Runner.missing_metrics`).

    :param revision: the metric plugin's package version and ``Metric.revision`` (``"0.1.0/r1"``).
    :param options: the metric's options that affect its values (``affects_results=True``).
    """

    revision: str
    options: dict[str, Any]


def component_version(version: str, component: Any) -> str:
    """``"PACKAGE_VERSION/rREVISION"`` of a registered component (revision 1 when it declares none)."""
    return f"{version or '0'}/r{getattr(component, 'revision', 1)}"


@dataclass
class RunSummary:
    """What :func:`srbench.api.run` returns."""

    out: Path
    #: One record per trial of the grid (run, skipped or rescored), in planning order.
    records: list[TrialResult] = field(default_factory=list)
    skipped: int = 0
    #: Finished trials scored again for metrics they lacked (see :meth:`Runner.rescore`).
    rescored: int = 0
    interrupted: bool = False

    @property
    def results(self) -> list[dict[str, Any]]:
        """The records as their ``result.json`` dicts (:meth:`TrialResult.to_dict`)."""
        return [r.to_dict() for r in self.records]

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The records of the trials that failed, as dicts (like :attr:`results`)."""
        return [r.to_dict() for r in self.records if r.status == STATUS_FAILED]

    @property
    def exit_code(self) -> int:
        """130 when interrupted, 1 when any trial failed, else 0."""
        if self.interrupted:
            return 130
        return 1 if self.failed else 0


def _resolve_profile(config: RunConfig) -> Profile:
    profile = get_profile(config.profile)
    if not config.profile_overrides:
        return profile
    hints = get_type_hints(Profile)
    names = [f.name for f in dc_fields(Profile) if f.name != "name"]
    changes = {}
    for key, value in config.profile_overrides.items():
        if key not in names:
            raise UsageError(f"--set profile.{key}: unknown profile field; accepted: {', '.join(names)}")
        changes[key] = convert_value(value, hints[key], f"--set profile.{key}")
        if isinstance(changes[key], int) and changes[key] < 0:
            raise UsageError(f"--set profile.{key}={value}: must be >= 0")
    if changes.get("cpus", 1) < 1:  # 0 CPUs per Ray task would start every trial at once
        raise UsageError(f"--set profile.cpus={config.profile_overrides['cpus']}: must be at least 1")
    return profile.with_overrides(**changes)


class Runner:
    """Runs the grid ``methods x hr_fractions x seeds`` described by a :class:`RunConfig`.

    :param config: the run's settings (validated here).
    :param plugins: the loaded plugin system (registries and hooks).
    :param progress: show progress bars on stderr.
    :param log: where one-line messages go (default: stderr).
    """

    def __init__(self, config: RunConfig, plugins: PluginSystem, *, progress: bool = True,
                 log: Callable[[str], None] | None = None) -> None:
        self.config = config.validate()
        self.plugins = plugins
        self.registries = plugins.registries
        self.show_progress = progress
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self.out = Path(config.out)
        self.config = self._route_set_targets(self.config)
        limit_torch_threads()
        self.profile = _resolve_profile(config)
        self._check_patch_size()
        self._check_grid_size(len(self.method_names()))  # unknown names fail before any dataset is opened
        check_log_settings(self.config.log, plugins)
        if config.executor == "local":  # elsewhere the device is the workers' to resolve
            self.device  # noqa: B018 - a bad --device fails here, before any training
        # Datasets are opened when their images are needed and dropped after: an open dataset
        # caches decoded images, and none may be alive while a method trains (access contract).
        train_dataset = open_dataset(config.dataset, self.registries)  # a bad name or path fails here
        self.test_datasets = self._open_test_datasets(train_dataset)
        self._dataset_versions = {config.dataset: self._dataset_version(config.dataset, train_dataset)}
        self._test_versions: dict[str, str] = {}  # filled by _check_test_overlap
        del train_dataset  # its decoded images must not outlive planning (see training_data)
        self.degradation_cls = self.registries.degradations.get(config.degradation).factory
        self.degradation_options = parse_options(self.degradation_cls.Options, config.degradation_options,
                                                 f"options of degradation {config.degradation!r}")
        self.degradation = self.degradation_cls(config.scale, self.degradation_options)
        #: The paired images' operator when ``--paired-degradation`` names one, else None.
        self.paired_degradation = self._paired_degradation()
        self.metric_stamps: dict[str, MetricStamp] = {}
        self.metrics = self._create_metrics()
        self.hr_source_images = self._resolve_hr_source()
        self._check_test_overlap()
        #: The training data of one (hr_fraction, seed) (:meth:`training_data`): trials are run grouped
        #: by it, and only the current one is kept, so no trial can find another split's paired HR in memory.
        self._data: tuple[tuple[float, int], Any, Any, Any] | None = None

    # -- planning ---------------------------------------------------------------------------
    def _check_grid_size(self, n_methods: int) -> None:
        c = self.config
        n = n_methods * len(c.hr_fraction) * c.seeds
        if n > MAX_TRIALS:
            raise UsageError(f"the grid has {n:,} trials ({n_methods} methods x {len(c.hr_fraction)} hr fractions x "
                             f"{c.seeds:,} seeds), above the limit of {MAX_TRIALS:,} per command; use fewer --seeds "
                             "or split the sweep into several commands on one --out")

    def _check_patch_size(self) -> None:
        p = self.profile.patch_size
        if p % self.config.scale:
            raise UsageError(f"profile patch_size {p} is not a multiple of --scale {self.config.scale}; "
                             f"set --set profile.patch_size={p - p % self.config.scale or self.config.scale * 12}")

    @functools.cached_property
    def device(self) -> torch.device:
        """The device trials train on, resolved by the ``srbench_resolve_device`` hook on first use."""
        resolved = self.plugins.hook.srbench_resolve_device(requested=self.config.device)
        device = resolved if resolved is not None else torch.device(self.config.device)
        if self.config.amp and device.type != "cuda":
            self.log(f"srbench: note: --amp has no effect on {device.type}; training in float32")
        return device

    def _open_test_datasets(self, train_dataset: Dataset) -> dict[str, tuple[str, Split]]:
        """Table name -> (dataset spec, split). The training dataset contributes its test split only;
        with ``eval_split`` ``val``, its validation split alone, as ``DATASET/val`` (its own table).
        Each is opened here (a bad name fails before any training) and again, fresh, each time its
        images are read."""
        if self.config.eval_split == "val":
            if self.config.test_datasets:
                self.log(f"srbench: note: --eval-split val scores {self.config.dataset}/val only; "
                         f"--test-datasets {','.join(self.config.test_datasets)} are not scored")
            return {f"{self.config.dataset}/val": (self.config.dataset, "val")}
        names = self.config.test_datasets or train_dataset.default_test_datasets() or [self.config.dataset]
        out: dict[str, tuple[str, Split]] = {}
        for name in names:
            if name != self.config.dataset:
                open_dataset(name, self.registries)
            out[name] = (name, "test" if name == self.config.dataset else "all")
        return out

    def _route_set_targets(self, config: RunConfig) -> RunConfig:
        """``--set NAME.OPTION=VALUE`` lands in ``method_options``; move the names that are metrics
        to ``metric_options``. A name that is neither is a one-line error listing both kinds."""
        methods, metrics = {}, {k: dict(v) for k, v in config.metric_options.items()}
        for name, values in config.method_options.items():
            is_method, is_metric = name in self.registries.methods, name in self.registries.metrics
            if is_method and is_metric:
                raise UsageError(f"--set {name}.OPTION: {name!r} names both a method and a metric; set its options "
                                 f"in a --config file under [method_options.{name}] or [metric_options.{name}]")
            if is_metric:
                metrics[name] = {**metrics.get(name, {}), **values}
            elif is_method:
                methods[name] = values
            else:
                try:  # a plugin that failed to load may have been meant to register it: say so
                    self.registries.methods.get(name)
                except PluginLoadError:
                    raise
                except UsageError:
                    pass
                known = self.registries.methods.names() + self.registries.metrics.names()
                hint = difflib.get_close_matches(name, known, n=1)
                first = next(iter(values), "OPTION")
                raise UsageError(f"--set {name}.{first}: unknown method or metric {name!r}"
                                 + (f" (did you mean {hint[0]!r}?)" if hint else "")
                                 + f"; methods: {', '.join(self.registries.methods.names())}"
                                 + f"; metrics: {', '.join(self.registries.metrics.names())}")
        for name in metrics:
            self.registries.metrics.get(name)  # [metric_options.TYPO] -> one line listing the metrics
        return replace(config, method_options=methods, metric_options=metrics)

    def _create_metrics(self) -> dict[str, Metric]:
        """The requested metrics built with their options (every metric given options is parsed, so a
        typo fails even for a metric not requested), and their stamps in :attr:`metric_stamps`."""
        names = self.config.metrics or self.registries.metrics.names()
        metrics = {}
        for name in dict.fromkeys([*names, *self.config.metric_options]):
            entry = self.registries.metrics.get(name)
            options_cls = getattr(entry.factory, "Options", NoOptions)
            opts = parse_options(options_cls, self.config.metric_options.get(name), f"--set {name}")
            if name in names:
                # A metric without options is built as before options existed: factory().
                metrics[name] = (self.registries.metrics.create(name) if options_cls is NoOptions
                                 else self.registries.metrics.create(name, opts))
                self.metric_stamps[name] = MetricStamp(component_version(entry.version, entry.factory),
                                                       options_to_dict(opts, results_only=True))
        return metrics

    def stamp_scores(self, entry: TestSetScores, names: Any, test_set: str) -> None:
        """Record in ``test_set``'s entry the revision and options each of ``names`` was scored
        with, and the test dataset's own version (a changed one is scored again)."""
        entry.dataset_version = self._test_versions[test_set]
        for name in names:
            stamp = self.metric_stamps[name]
            entry.revisions[name] = stamp.revision
            entry.options[name] = stamp.options

    def component_versions(self, method_options: dict[str, Any]) -> dict[str, str]:
        """``KIND/NAME -> "VERSION/rN"`` of the components a trial depends on besides its method.

        The degradation, the training dataset and HR source, and each generator,
        discriminator or adversarial loss that one of the method's option values names (methods
        choose their networks through options; a network a method hard-codes is covered by the
        method's own revision).
        """
        out = {}
        for name in filter(None, (self.config.degradation, self.config.paired_degradation)):
            entry = self.registries.degradations.get(name)
            out[f"degradations/{entry.name}"] = component_version(entry.version, entry.factory)
        for spec, version in self._dataset_versions.items():
            out[f"datasets/{spec}"] = version
        for value in method_options.values():
            for kind in ("generators", "discriminators", "adversarial_losses"):
                registry = self.registries.by_kind(kind)
                if isinstance(value, str) and value in registry:
                    named = registry.get(value)
                    out[f"{kind}/{value}"] = component_version(named.version, named.factory)
        return out

    def _dataset_version(self, spec: str, dataset: Dataset) -> str:
        """``"VERSION/rN"`` of an open dataset: its plugin's version and its ``revision``."""
        return component_version(self.registries.datasets.get(parse_dataset_spec(spec)[0]).version, dataset)

    def _paired_degradation(self) -> Degradation | None:
        """``--paired-degradation``'s operator at its options (``--set paired_degradation.X=...``); None when not
        set (the paired LR is made like the rest)."""
        name, values = self.config.paired_degradation, self.config.paired_degradation_options
        if not name:
            if values:
                key = next(iter(values))
                raise UsageError(f"--set paired_degradation.{key}: no --paired-degradation to apply it to; name the "
                                 "paired images' operator with --paired-degradation NAME")
            return None
        try:
            cls = self.registries.degradations.get(name).factory
        except UsageError as exc:
            raise UsageError(f"--paired-degradation {name}: {exc}") from None
        options = parse_options(cls.Options, values, f"options of paired degradation {name!r}")
        if name == self.config.degradation and options == self.degradation_options:
            raise UsageError(f"--paired-degradation {name}: the same operator and options as --degradation, so no "
                             "domain gap; leave it out, or change the paired operator or its options (--set "
                             "paired_degradation.OPTION=VALUE)")
        return cls(self.config.scale, options)

    def _paired_degradation_options(self) -> dict[str, Any]:
        """The paired operator's options that differ from its defaults: what a trial spec records (empty at the
        defaults, so trials of ``--paired-degradation NAME`` alone keep the ids they had before options existed)."""
        if self.paired_degradation is None:
            return {}
        chosen = options_to_dict(self.paired_degradation.options)
        defaults = options_to_dict(type(self.paired_degradation.options)())
        return {k: v for k, v in chosen.items() if v != defaults.get(k)}

    def _resolve_hr_source(self) -> str | list[Any]:
        src = self.config.hr_source
        if src in ("paired", "none"):
            return src
        if src == self.config.dataset:
            raise UsageError(f"--hr-source {src}: that is the training dataset, whose HR of LR-only images must "
                             "stay hidden; use 'paired' (the paired subset's HR) or another dataset")
        dataset = open_dataset(src, self.registries)  # an HR pool is a method's to see: its images stay
        self._dataset_versions[src] = self._dataset_version(src, dataset)
        return dataset.images("train")

    def _check_test_overlap(self) -> None:
        """Refuse, before any training, a training set or HR pool holding a test image (same pixels, any id).

        Records each test dataset's version on the way (stamped on its scores, not in trial ids: a
        trial is scored on more test sets from its checkpoint); every dataset opened here is dropped after."""
        training = {f"training set {self.config.dataset}":
                    open_dataset(self.config.dataset, self.registries).images("train")}
        if not isinstance(self.hr_source_images, str):
            training[f"HR pool (--hr-source {self.config.hr_source})"] = self.hr_source_images
        tests = {}
        for name, (spec, split) in self.test_datasets.items():
            dataset = open_dataset(spec, self.registries)
            self._test_versions[name] = self._dataset_version(spec, dataset)
            tests[name] = dataset.images(split)
        check_disjoint_from_tests(training, tests)
        del training, tests
        gc.collect()  # the decoded images, LR-only HR and test HR among them, go before any training

    def method_names(self) -> list[str]:
        names: list[str] = []
        for n in self.config.methods:
            expanded = self.registries.methods.names() if n == "all" else [n]
            names += [m for m in expanded if m not in names]
        for n in names:
            self.registries.methods.get(n)  # unknown -> one-line error listing the names
        return names

    def plan(self) -> list[PlannedTrial]:
        """Every trial of the grid, with options parsed (errors raised before any training)."""
        trials = []
        for name in self.method_names():
            make = self._method_planner(name)
            trials += [make(float(fraction), seed) for fraction in self.config.hr_fraction
                       for seed in range(self.config.first_seed, self.config.first_seed + self.config.seeds)]
        return trials

    def planned_trial(self, spec: dict[str, Any], *, exact: bool = True) -> PlannedTrial:
        """The trial of ``spec`` (a :meth:`TrialSpec.to_dict`) under this run's settings, without
        planning the grid: its method alone is resolved (a Ray worker runs one trial this way).

        :param exact: refuse a spec whose trial id this srbench and its plugins do not reproduce
            (another version of srbench, a plugin or a dataset); eval of an old checkpoint passes False.
        :raises SrbenchError: when ``exact`` and the rebuilt trial's id differs.
        """
        trial = self._method_planner(str(spec["method"]))(float(spec["hr_fraction"]), int(spec["seed"]))
        if not exact:
            return trial
        wanted = TrialSpec(**{**spec, "test_datasets": tuple(spec.get("test_datasets") or ()),
                              "neutral_options": tuple(spec.get("neutral_options") or ())}).trial_id
        if trial.trial_id != wanted:
            raise SrbenchError(f"trial {wanted} is not the trial this srbench ({__version__}) plans for its spec "
                               f"({trial.trial_id}): its srbench, plugins or datasets differ from the ones that "
                               "planned it")
        return trial

    def _method_planner(self, name: str) -> Callable[[float, int], PlannedTrial]:
        """Resolve method ``name``'s options and versions once; returns ``(hr_fraction, seed) -> trial``."""
        entry = self.registries.methods.get(name)
        cls = entry.factory
        version = f"{entry.version or '0'}/r{getattr(cls, 'revision', 1)}"
        # the profile's own defaults first (chosen at its budget), then what the user set; a bad profile
        # default is the plugin's error, not the user's --set, and the message says so
        profile_values = cls.defaults_under(self.profile.name)
        parse_options(cls.Options, profile_values, f"method {name!r}: profile_defaults[{self.profile.name!r}]")
        opts = parse_options(cls.Options, {**profile_values, **(self.config.method_options.get(name) or {})},
                             f"--set {name}")
        cls.check_options(opts, self._planning_context())
        components = self.component_versions(options_to_dict(opts))
        neutral = neutral_option_names(opts)
        test_names = tuple(self.test_datasets)
        paired_options = self._paired_degradation_options()

        def make(fraction: float, seed: int) -> PlannedTrial:
            spec = TrialSpec(
                method=name, method_options=options_to_dict(opts), dataset=self.config.dataset,
                test_datasets=test_names, scale=self.config.scale, degradation=self.config.degradation,
                degradation_options=options_to_dict(self.degradation_options), hr_fraction=fraction,
                hr_source=self.config.hr_source, seed=seed, profile=_profile_dict(self.profile),
                deterministic=self.config.deterministic, amp=self.config.amp, method_version=version,
                component_versions=components, paired_degradation=self.config.paired_degradation,
                paired_degradation_options=paired_options, neutral_options=neutral)
            return PlannedTrial(spec, cls, opts)
        return make

    def _planning_context(self) -> MethodContext:
        """The run's context on the CPU, for :meth:`Method.check_options` while planning."""
        return MethodContext(scale=self.config.scale, degradation=self.degradation, device=torch.device("cpu"),
                             profile=self.profile, registries=self.registries, seed=0, amp=self.config.amp)

    # -- running ----------------------------------------------------------------------------
    def trial_dir(self, trial: PlannedTrial) -> Path:
        return self.out / TRIALS_DIR / trial.trial_id

    def finished_result(self, trial: PlannedTrial) -> TrialResult | None:
        """The trial's final result on disk, or None (no file, unreadable, or not final: run it).

        :raises ResultSchemaError: for a result of a schema this srbench cannot read (a newer
            one would be misread and must not be overwritten).
        """
        path = self.trial_dir(trial) / RESULT_FILE
        result = read_record(path)
        if result is None:
            if path.exists():
                self.log(f"srbench: warning: {path} is unreadable; its trial runs again")
            return None
        return result if result.status in FINAL_STATUSES else None

    def planned_actions(self) -> list[PlannedAction]:
        """What :meth:`run` would do with each planned trial, found from the output folder alone (nothing
        is trained, scored or written): how much of a sweep a folder already holds."""
        actions = []
        for trial in self.plan():
            done = self.finished_result(trial)
            scorable = self._scorable(trial)
            if done is None:
                if not self._trains(trial):
                    actions.append(PlannedAction(trial, ACTION_SCORE, "does not train"))
                elif scorable:
                    actions.append(PlannedAction(trial, ACTION_RESUME, "from its checkpoint"))
                else:
                    actions.append(PlannedAction(trial, ACTION_TRAIN))
                continue
            missing = self.missing_metrics(done)
            lacking = ", ".join(f"{name} ({len(metrics)} metrics)" for name, metrics in missing.items())
            if not missing:
                actions.append(PlannedAction(trial, ACTION_REUSE, done.status))
            elif not scorable:
                actions.append(PlannedAction(trial, ACTION_REUSE, f"{done.status}; no {CHECKPOINT_NAME} to score "
                                                                  f"{lacking} with"))
            else:
                actions.append(PlannedAction(trial, ACTION_SCORE, f"on {lacking}"))
        return actions

    def run(self, executor: Executor | None = None) -> RunSummary:
        """Run every planned trial that has no final result yet; always returns (Ctrl-C sets
        ``interrupted``).

        :param executor: where the trials run; default: the executor named by ``config.executor``.
        """
        executor = executor or create_executor(self.config, log=self.log)
        trials = self.plan()
        summary = RunSummary(self.out)
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            lock = lock_output(self.out)
        except OSError as exc:
            if is_write_error(exc):
                raise output_error(exc, self.out) from None
            raise
        try:
            self._run_planned(trials, executor, summary)
        except OSError as exc:
            if is_write_error(exc):
                raise output_error(exc, self.out) from None
            raise
        finally:
            lock.close()
        return summary

    def _run_planned(self, trials: list[PlannedTrial], executor: Executor, summary: RunSummary) -> None:
        for info in self.plugins.broken():
            self.log(f"srbench: warning: plugin {info.name!r} failed to load: {info.error}")
        progress = Progress(len(trials), enabled=self.show_progress)
        pending: list[PlannedTrial] = []
        try:
            for trial in trials:
                done = self.finished_result(trial)
                if done is None:
                    pending.append(trial)
                    continue
                missing = self.missing_metrics(done)
                if missing and self.rescore(trial, done, missing):
                    summary.rescored += 1
                summary.records.append(done)
                summary.skipped += 1
                progress.trial_skipped(trial.trial_id)
            if pending:
                # Test HR samples are written once every trial has trained (a method could read them).
                shutil.rmtree(self.out / SAMPLES_DIR, ignore_errors=True)
                executor.run(self, group_by_training_data(pending), summary, progress)
            self.write_reference_samples()
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            progress.close()
        order = {t.trial_id: i for i, t in enumerate(trials)}
        summary.records.sort(key=lambda r: order.get(r.trial_id, len(order)))

    def build_method(self, trial: PlannedTrial, data: Any) -> Method:
        """``trial``'s method, set up on ``data`` in this run's context (untrained)."""
        spec = trial.spec
        context = MethodContext(scale=spec.scale, degradation=self.degradation, device=self.device,
                                profile=self.profile, registries=self.registries, seed=spec.seed, amp=spec.amp)
        method = trial.method_cls(trial.method_options, context)
        method.setup(data)
        return method

    def missing_metrics(self, result: TrialResult) -> dict[str, list[str]]:
        """Test set -> the requested metrics a finished ``ok`` result has no current value (nor reason) for.

        A test set the trial was never scored on (one named after it trained, or the validation
        split) lacks every metric: it is scored from the checkpoint, without training again.

        A value (or reason) counts only when it was stamped with the metric's current revision and
        options (:class:`MetricStamp`): a changed metric, or a stored score without a stamp, is
        scored again instead of served stale. A metric that was unavailable for want of something
        this machine lacked (weights, a parameter file) is scored once that is present.
        """
        if result.status != STATUS_OK:
            return {}
        missing = {}
        for name in self.test_datasets:
            scored = result.scores(name)
            if scored.dataset_version != self._test_versions[name]:  # never scored on it, or it changed
                missing[name] = list(self.metric_stamps)
                continue
            have = set(scored.mean) | set(scored.unavailable)
            setup = set(scored.unavailable_setup)
            lacking = [m for m, stamp in self.metric_stamps.items()
                       if m not in have or scored.revisions.get(m) != stamp.revision
                       or scored.options.get(m) != stamp.options
                       or (m in setup and _now_available(self.metrics[m]))]
            if lacking:
                missing[name] = lacking
        return missing

    def rescore(self, trial: PlannedTrial, result: TrialResult, missing: dict[str, list[str]]) -> bool:
        """Score a finished trial for the metrics it lacks, from its saved weights, without training.

        A metric added after a sweep (a new plugin, a new built-in) is then one command away
        from every old trial. Updates ``result`` and its ``result.json`` in place; returns False
        (and says why) when the trial kept no checkpoint to score.
        """
        tdir = self.trial_dir(trial)
        if not self._scorable(trial):
            self.log(f"srbench: trial {trial.trial_id} has no {CHECKPOINT_NAME} to score "
                     f"{', '.join(sorted({m for ms in missing.values() for m in ms}))} with; delete its folder "
                     "to train it again")
            return False
        try:
            method = self.build_trained_method(trial)
        except DataError as exc:
            self.log(f"srbench: trial {trial.trial_id} is not scored for the metrics it lacks: {exc}")
            return False
        self.score_trial(trial, method, result, missing, samples=False)
        result.rescored = [*(result.rescored or []), {
            "metrics": missing, "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "srbench": __version__}]
        write_json_atomic(tdir / RESULT_FILE, result.to_dict())  # finished_at stays the training's
        return True

    def build_trained_method(self, trial: PlannedTrial, checkpoint: Path | None = None) -> Method:
        """``trial``'s method set up on its training data, its weights loaded from ``checkpoint``
        (default: the trial folder's), modules in eval mode. A method that does not train (or a
        profile of 0 iterations) needs no checkpoint.

        :raises DataError: a missing or unreadable checkpoint.
        """
        spec = trial.spec
        checkpoint = checkpoint or self.trial_dir(trial) / CHECKPOINT_NAME
        trained = self._trains(trial)
        if trained and not checkpoint.is_file():
            raise DataError(f"{checkpoint}: no such checkpoint; trial {trial.trial_id} must be trained first")
        seed_everything(spec.seed)
        method = self.build_method(trial, self.training_data(spec.hr_fraction, spec.seed)[0])
        if trained:
            load_method_weights(method, checkpoint, self.device)
        for m in method.modules().values():
            m.eval()
        return method

    def _scorable(self, trial: PlannedTrial) -> bool:
        """Whether ``trial`` can be scored from disk: it does not train, or its checkpoint is there."""
        return not self._trains(trial) or (self.trial_dir(trial) / CHECKPOINT_NAME).is_file()

    def _trains(self, trial: PlannedTrial) -> bool:
        """Whether ``trial`` trains (so has a checkpoint): a trainable method under a profile with iterations."""
        return trial.method_cls.trainable and self.profile.iterations > 0

    def training_data(self, fraction: float, seed: int) -> tuple[Any, Any]:
        """The training data and split manifest of ``(fraction, seed)`` under this run's dataset,
        degradation and profile: what a trial of that regime trained on (and what its method is
        set up with before its weights are loaded). Only the latest one is kept: the previous one
        is released first, so no trial finds another split's paired HR in memory."""
        key = (fraction, seed)
        if self._data is None or self._data[0] != key:
            self._data = None
            gc.collect()  # the previous split's paired HR, and anything a method left in a cycle
            data, manifest = build_training_data(
                open_dataset(self.config.dataset, self.registries).images("train"), degradation=self.degradation,
                hr_fraction=fraction, seed=seed, profile=self.profile, hr_source=self.hr_source_images,
                cache_dir=self.out / "cache", paired_degradation=self.paired_degradation)
            gc.collect()  # the dataset and its decoded images (LR-only HR among them) go now
            self._data = (key, data, manifest, data.rng_state())
        _, data, manifest, rng = self._data
        data.load_rng_state(rng)  # every method starts from the same sampler state
        return data, manifest

    def _test_set(self, name: str) -> list[Any]:
        """Test images of ``name``, read afresh: called after training, dropped after scoring."""
        spec, split = self.test_datasets[name]
        images = build_test_set(open_dataset(spec, self.registries).images(split), degradation=self.degradation,
                                seed=EVAL_SEED, max_side=self.profile.eval_max_side)
        if not images:  # e.g. --test-datasets sr291: a training set without a test split
            raise DataError(f"test dataset {name} has no images in its {split} split; name a test set "
                            "(--test-datasets set5) or use --eval-split val")
        return images

    def write_reference_samples(self) -> None:
        """LR and HR crops of every test image beside the trials' SR crops (``OUT/samples``), for reports."""
        for name in self.test_datasets:
            _save_reference_samples(self._test_set(name), self.out / SAMPLES_DIR / _safe_name(name),
                                    self.config.scale)

    def new_record(self, trial: PlannedTrial, *, device: str = "") -> TrialResult:
        """A result record of ``trial`` with nothing measured yet (status ``failed``): the one
        place a record is made."""
        return TrialResult(trial_id=trial.trial_id, spec=trial.spec.to_dict(),
                           versions=self._versions(device), device=device)

    def write_record(self, trial: PlannedTrial, result: TrialResult) -> None:
        """Stamp ``result`` with the time and write it as the trial's ``result.json`` (atomically)."""
        result.finished_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        tdir = self.trial_dir(trial)
        tdir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(tdir / RESULT_FILE, result.to_dict())

    def train_trial(self, trial: PlannedTrial, result: TrialResult,
                    progress: "Progress | None" = None) -> tuple[Method, TrainingOutcome | None]:
        """Build ``trial``'s data and method and train it (resuming from its checkpoint); fills
        ``result.split`` and ``result.training``. Returns the trained method (modules in eval mode)
        and the trainer's outcome (``None`` for a method that does not train).

        :raises IncompatibleError: the method needs paired HR or an HR pool the regime lacks.
        :raises DivergedError: a loss became NaN/inf.
        """
        spec, cls = trial.spec, trial.method_cls
        data, manifest = self.training_data(spec.hr_fraction, spec.seed)
        result.split = manifest.to_dict()
        if cls.requires_paired and len(data.paired) == 0:
            raise IncompatibleError(f"method {spec.method!r} needs paired HR images; hr_fraction "
                                    f"{spec.hr_fraction:g} leaves none")
        if cls.requires_hr_pool and data.hr_pool is None:
            raise IncompatibleError(f"method {spec.method!r} needs an HR pool; --hr-source "
                                    f"{spec.hr_source} gives none (use --hr-source folder:PATH)")
        method = self.build_method(trial, data)
        outcome = None
        if self._trains(trial):
            tdir = self.trial_dir(trial)
            trainer = Trainer(method, data, total_steps=self.profile.iterations, trial_dir=tdir,
                              checkpoint_every=self.profile.checkpoint_every, log_every=self.profile.log_every,
                              progress=progress.step if progress else None, log=self.log, label=spec.method,
                              on_log=loss_logger(self.plugins, trial.trial_id, tdir, self.config.log))
            if progress:
                progress.start_steps(self.profile.iterations)
            outcome = trainer.run()
            result.training = Training(steps=outcome.steps, resumed_from=outcome.resumed_from,
                                       last_losses=outcome.last_losses)
        for m in method.modules().values():
            m.eval()
        return method, outcome

    def score_trial(self, trial: PlannedTrial, method: Method, result: TrialResult,
                    which: dict[str, list[str]] | None = None, *, samples: bool = True) -> tuple[float, float]:
        """Score ``method`` (trained, in eval mode) on test sets and put the scores, stamped, in ``result``.

        :param which: test set -> metrics to score; default: every test set, every metric. A
            metric's old value, reason and parts on that test set are replaced.
        :param samples: save the SR crops of the test images in the trial folder.
        :returns: inference seconds and megapixels over the scored images (the inference cost).
        """
        spec = trial.spec
        which = which if which is not None else {name: list(self.metrics) for name in self.test_datasets}
        seconds, megapixels = 0.0, 0.0
        for name, names in which.items():
            ev = evaluate(_autocast_wrapped(method), self._test_set(name), {n: self.metrics[n] for n in names},
                          scale=spec.scale, degradation=self.degradation, device=self.device,
                          samples_dir=self.trial_dir(trial) / "samples" / _safe_name(name) if samples else None)
            scores = TestSetScores.from_dict(ev.to_dict())
            entry = result.metrics.get(name)
            if entry is None:
                entry = result.metrics[name] = scores
            else:
                entry.forget(names)  # the stale values or reasons go before the new ones come in
                entry.merge(scores)
            self.stamp_scores(entry, names, name)
            seconds += ev.inference_seconds
            megapixels += ev.megapixels
        return seconds, megapixels

    def run_trial(self, trial: PlannedTrial, progress: "Progress | None" = None, *,
                  executor: dict[str, Any] | None = None) -> TrialResult:
        """Train (:meth:`train_trial`) and score (:meth:`score_trial`) one trial; returns (and
        writes) its result record.

        :param executor: where and how the trial ran, for the record (``{"name": "ray", ...}``).
        """
        tdir = self.trial_dir(trial)
        tdir.mkdir(parents=True, exist_ok=True)
        result = self.new_record(trial, device=str(self.device))
        # Float reductions depend on the thread count: a GAN trial run with 1 and with 2 threads
        # ended 0.05 dB apart here (pairwise, f=0.01), so the count is part of the record.
        result.torch_threads = torch.get_num_threads()
        result.executor = executor
        t0 = time.perf_counter()
        seed_everything(trial.spec.seed)
        set_deterministic(self.config.deterministic)
        try:
            method, outcome = self.train_trial(trial, result, progress)
            seconds_inf, megapixels = self.score_trial(trial, method, result)
            result.cost = Cost(
                train_seconds=outcome.seconds if outcome else 0.0,
                inference_ms_per_megapixel=1000 * seconds_inf / megapixels if megapixels else None,
                params=sum(p.numel() for m in method.inference_modules().values() for p in m.parameters()),
                train_cpu_seconds=(outcome.cpu_seconds if outcome else 0.0))
            result.notes = list(method.notes())
            result.status = STATUS_OK
        except DataError:
            raise  # bad user data (an image smaller than a patch): a usage error, not a failed trial
        except KeyboardInterrupt:
            self.log(f"\nsrbench: interrupted during trial {trial.trial_id}; its checkpoint is in {tdir}. "
                     "Run the same command again to resume.")
            raise
        except IncompatibleError as exc:
            result.status, result.reason = STATUS_INCOMPATIBLE, str(exc)
        except DivergedError as exc:
            result.status, result.reason = STATUS_DIVERGED, str(exc)
            result.training = Training.from_dict(exc.training)
        except OSError as exc:
            if is_write_error(exc):
                raise  # a full or read-only --out: the run stops with one line (see run)
            result.status, result.reason = STATUS_FAILED, f"{type(exc).__name__}: {exc}"
            (tdir / "error.txt").write_text(traceback.format_exc())
        except Exception as exc:  # noqa: BLE001 - one broken trial must not stop the benchmark
            result.status, result.reason = STATUS_FAILED, f"{type(exc).__name__}: {exc}"
            (tdir / "error.txt").write_text(traceback.format_exc())
        result.wall_seconds = time.perf_counter() - t0
        self.write_record(trial, result)
        if result.status == STATUS_FAILED:
            self.log(f"srbench: trial {trial.trial_id} failed: {result.reason} (traceback in {tdir / 'error.txt'})")
        # Hooks receive the record as its JSON dict (what result.json holds), as before TrialResult.
        self.plugins.hook.srbench_trial_finished(result=result.to_dict(), trial_dir=tdir)
        return result

    def _versions(self, device: str) -> dict[str, Any]:
        """Versions and provenance; ``device`` is the trial's ("" for a record made without one, as the Ray
        driver's record of a lost worker: no accelerator is queried there)."""
        versions = {"srbench": __version__, "torch": torch.__version__, "python": platform.python_version(),
                    "plugins": self.plugins.versions(), "machine": machine(device)}
        if source := source_revision():
            versions["source"] = source
        return versions


def _now_available(metric: Metric) -> bool:
    """Whether ``metric.unavailable_reason()`` says it can score now (a raising one cannot)."""
    try:
        return not metric.unavailable_reason()
    except Exception:  # noqa: BLE001 - the scoring itself will record the error
        return False


def lock_output(out: Path, flag: str = "--out") -> Any:
    """Hold ``OUT/.lock`` for this process (released when the returned file is closed or the
    process ends, even killed).

    :param flag: how the command names ``out``, for the message.
    :raises OutputError: naming the pid of the run that holds it.
    """
    path = out / LOCK_FILE
    handle = open(path, "a+")  # noqa: SIM115 - held open for the whole run
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks; runs are not guarded
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        other = handle.read().strip() or "unknown"
        handle.close()
        raise OutputError(f"{flag} {out} is in use by another srbench run (pid {other}); wait for it to end or "
                          f"choose another {flag}") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def group_by_training_data(trials: list[PlannedTrial]) -> list[PlannedTrial]:
    """``trials`` reordered so those of one (hr_fraction, seed) run one after another (stable)."""
    first: dict[tuple[float, int], int] = {}
    for t in trials:
        first.setdefault((t.spec.hr_fraction, t.spec.seed), len(first))
    return sorted(trials, key=lambda t: first[(t.spec.hr_fraction, t.spec.seed)])


def _save_reference_samples(images: list[Any], folder: Path, scale: int) -> None:
    """LR and HR crops matching the trials' SR crops, for the report's image grid."""
    from .evaluate import SAMPLE_SIDE, _safe, center_crop, save_png

    folder.mkdir(parents=True, exist_ok=True)
    for img in images:
        save_png(center_crop(img.hr, SAMPLE_SIDE, scale), folder / f"{_safe(img.id)}.hr.png")
        save_png(center_crop(img.lr, SAMPLE_SIDE // scale, 1), folder / f"{_safe(img.id)}.lr.png")


def _autocast_wrapped(method: Method) -> Callable[[torch.Tensor], torch.Tensor]:
    def super_resolve(lr: torch.Tensor) -> torch.Tensor:
        with method.context.autocast():
            return method.super_resolve(lr).float()
    return super_resolve


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


#: Profile fields that change how fast a trial runs, not what it computes: kept out of trial ids.
_NOT_IN_SPEC = ("cpus",)


def _profile_dict(profile: Profile) -> dict[str, Any]:
    return {k: v for k, v in asdict(profile).items() if k not in _NOT_IN_SPEC}
