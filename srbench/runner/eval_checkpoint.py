"""``srbench eval``: score a training-free method or a saved trial on any dataset."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, cast

from ..config import RunConfig
from ..data.datasets import open_dataset
from ..data.pipeline import build_test_set
from ..data.training_data import TrainingData
from ..errors import UsageError
from ..interfaces.dataset import Split
from ..interfaces.method import Method
from ..options import neutral_values
from ..plugin_manager import PluginSystem
from ..result_record import TrialResult, read_record
from ..results import RESULT_FILE, TRIALS_DIR
from ..training.trainer import CHECKPOINT_NAME
from .evaluate import evaluate
from .runner import EVAL_SEED, Runner

SPLITS = ("auto", "test", "val", "all")


def _trial_files(checkpoint: str | Path) -> tuple[Path, TrialResult]:
    path = Path(checkpoint)
    ckpt = path / CHECKPOINT_NAME if path.is_dir() else path
    if not ckpt.is_file():
        raise UsageError(f"--checkpoint {checkpoint}: no such file; expected a trial folder "
                         f"(OUT/{TRIALS_DIR}/<id>) or its {CHECKPOINT_NAME}")
    result = read_record(ckpt.parent / RESULT_FILE)
    if result is None or not result.spec:
        raise UsageError(f"--checkpoint {checkpoint}: no readable {RESULT_FILE} beside it, so the method cannot "
                         "be rebuilt; point at a trial folder written by 'srbench run'")
    return ckpt, result


def _config_from_spec(spec: dict[str, Any], out: Path, device: str) -> RunConfig:
    profile = dict(spec.get("profile") or {})
    name = profile.pop("name", "quick")
    return RunConfig(methods=[spec["method"]], hr_fraction=[spec["hr_fraction"]], dataset=spec["dataset"],
                     scale=spec["scale"], degradation=spec["degradation"], hr_source=spec["hr_source"],
                     paired_degradation=spec.get("paired_degradation", ""),
                     paired_degradation_options=spec.get("paired_degradation_options") or {},
                     profile=name, out=str(out), device=device,
                     method_options={spec["method"]: spec.get("method_options") or {}},
                     degradation_options=spec.get("degradation_options") or {}, profile_overrides=profile)


def load_trial_method(checkpoint: str | Path, *, device: str, plugins: PluginSystem,
                      metrics: list[str] | None = None) -> tuple[Method, Runner, TrialResult]:
    """A trained trial's method, rebuilt from its ``result.json``, weights loaded, modules in eval mode.

    :param checkpoint: a trial folder (``OUT/trials/<id>``) or its ``checkpoint.pt``.
    :returns: the method, the runner of the trial's settings (degradation, metrics, device) and its result record.
    """
    ckpt, result = _trial_files(checkpoint)
    config = _config_from_spec(result.spec, ckpt.parent.parent.parent, device)
    name = result.spec["method"]
    if name in plugins.registries.methods:  # an unknown name is refused, listing the methods, by the Runner below
        options_cls = getattr(plugins.registries.methods.get(name).factory, "Options", None)
        if options_cls is not None:  # an option the record predates trained at its neutral value
            config.method_options[name] = {**neutral_values(options_cls), **config.method_options[name]}
    config.metrics = list(metrics or [])
    runner = Runner(config.validate(), plugins, progress=False)
    # Not exact: a checkpoint stays usable after a plugin or dataset upgrade changed trial ids.
    trial = runner.planned_trial(result.spec, exact=False)
    return runner.build_trained_method(trial, ckpt), runner, result


def evaluate_method(*, method: str | None, dataset: str | None, scale: int | None, checkpoint: str | Path | None,
                    degradation: str | None, split: str, device: str, metrics: list[str] | None,
                    max_side: int | None, plugins: PluginSystem,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """See :func:`srbench.api.evaluate_method`. With a checkpoint, every setting left out is the
    trial's, so the numbers are those of its ``result.json`` (and of its leaderboard row)."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    if split not in SPLITS:
        raise UsageError(f"--split {split!r}: accepted: {', '.join(SPLITS)}")
    registries = plugins.registries
    if checkpoint is not None:
        spec = _trial_files(checkpoint)[1].spec
        if method is not None and method != spec["method"]:
            raise UsageError(f"--method {method}: the checkpoint was trained by method {spec['method']!r}")
        if scale is not None and scale != spec["scale"]:
            raise UsageError(f"--scale {scale}: the checkpoint was trained at x{spec['scale']}")
        if degradation is not None and degradation != spec["degradation"]:
            raise UsageError(f"--degradation {degradation}: the checkpoint was trained and scored with "
                             f"{spec['degradation']!r}; omit --degradation (scoring under another one is not supported)")
        method, scale, degradation = spec["method"], spec["scale"], spec["degradation"]
        dataset = dataset if dataset is not None else spec["dataset"]
        trial_side = int((spec.get("profile") or {}).get("eval_max_side", 0))
        if max_side is None:
            max_side = trial_side
        elif max_side != trial_side:
            log(f"srbench eval: note: --max-side {max_side} differs from the trial's eval_max_side {trial_side}, "
                f"so these numbers differ from its result.json's")
        instance, runner, _ = load_trial_method(checkpoint, device=device, plugins=plugins, metrics=metrics)
        config = runner.config
    else:
        if method is None:
            raise UsageError("--method is required without --checkpoint")
        cls = registries.methods.get(method).factory
        if cls.trainable:
            raise UsageError(f"--method {method}: needs training; pass --checkpoint OUT/{TRIALS_DIR}/<id> of a "
                             "trained trial (or use 'srbench run')")
        scale = 4 if scale is None else scale
        degradation = degradation or "bicubic"
        dataset = dataset or "default"
        max_side = 0 if max_side is None else max_side
        config = RunConfig(methods=[method], dataset=dataset, scale=scale, degradation=degradation, device=device,
                           out=tempfile.gettempdir(), hr_fraction=[0.0])
        config.metrics = list(metrics or [])
        runner = Runner(config.validate(), plugins, progress=False)
        instance = runner.build_method(runner.plan()[0], TrainingData.empty(config.scale, runner.degradation))
        for m in instance.modules().values():
            m.eval()
    ds = open_dataset(dataset, registries)
    if split == "auto":
        split = "test" if dataset == config.dataset and checkpoint is not None else "all"
    images = build_test_set(ds.images(cast(Split, split)), degradation=runner.degradation, seed=EVAL_SEED, max_side=max_side)
    if not images:  # a training set without a test split (sr291): nothing to score
        raise UsageError(f"dataset {dataset} has no images in its {split} split; use --split val or all")
    ev = evaluate(instance.super_resolve, images, runner.metrics, scale=config.scale,
                  degradation=runner.degradation, device=runner.device)
    return {"method": method, "dataset": dataset, "scale": config.scale, "split": split,
            "degradation": degradation, "max_side": max_side, **ev.mean,
            "per_image": ev.per_image, "unavailable": ev.unavailable}
