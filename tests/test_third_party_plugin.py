"""The example package in ``examples/srbench-example-plugin`` works as a real third-party plugin.

It is made discoverable through real entry points without pip: a ``*.dist-info`` folder whose
``entry_points.txt`` is generated from the example's ``pyproject.toml`` (so the two cannot drift)
is put on ``sys.path`` next to the package source.
"""

from __future__ import annotations

import math
import sys
import tomllib
from pathlib import Path

import pytest
import torch

import srbench
from srbench.config import RunConfig
from srbench.data.training_data import LROnlySet, PairedSet, TrainingData
from srbench.errors import UsageError
from srbench.interfaces import Degradation, DegradationParams, MethodContext, MetricSample
from srbench.options import parse_options
from srbench.plugin_manager import PluginSystem, load_plugins
from srbench.results import KEY_MEAN, KEY_METRICS, KEY_STATUS, RESULT_FILE, STATUS_INCOMPATIBLE, STATUS_OK, TRIALS_DIR
from srbench.training.profiles import get_profile
from srbench.training.trainer import Trainer

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "examples" / "srbench-example-plugin"
PLUGIN_NAME = "example"
METHOD = "example_espcn"
METRIC = "example_mae"


def _pyproject() -> dict:
    return tomllib.loads((EXAMPLE_DIR / "pyproject.toml").read_text())


def _write_dist_info(site: Path) -> Path:
    """A minimal installed-distribution record of the example, generated from its pyproject.toml."""
    project = _pyproject()["project"]
    dist_name = project["name"].replace("-", "_")
    dist_info = site / f"{dist_name}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = ["[srbench]"] + [f"{name} = {target}" for name, target in project["entry-points"]["srbench"].items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return dist_info


@pytest.fixture
def example_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginSystem:
    """The plugin system as it is once ``pip install -e examples/srbench-example-plugin`` ran."""
    _write_dist_info(tmp_path / "site")
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    # Import the module afresh through the entry point; monkeypatch forgets it again afterwards.
    monkeypatch.delitem(sys.modules, "srbench_example_plugin", raising=False)
    return load_plugins()


@pytest.fixture
def example_module(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    import srbench_example_plugin

    return srbench_example_plugin


# -- packaging -------------------------------------------------------------------------------


def test_pyproject_declares_the_entry_point() -> None:
    project = _pyproject()["project"]
    assert project["name"] == "srbench-example-plugin"
    # srbench's PyPI name, not "srbench" (an unrelated project on PyPI)
    assert any(dep.split(";")[0].strip() == srbench.DISTRIBUTION for dep in project["dependencies"])
    assert project["entry-points"]["srbench"] == {PLUGIN_NAME: "srbench_example_plugin"}


def test_example_is_found_through_entry_points(example_installed: PluginSystem) -> None:
    info = next(p for p in example_installed.plugins if p.name == PLUGIN_NAME)
    assert info.source == "entry point"
    assert info.status == "loaded", info.error
    assert info.distribution == "srbench-example-plugin"
    assert info.version == "0.1.0"
    assert sorted(info.components) == [("methods", METHOD), ("metrics", METRIC)]
    for registry in (example_installed.registries.methods, example_installed.registries.metrics):
        entry = registry.get(METHOD if registry.kind == "methods" else METRIC)
        assert entry.plugin == PLUGIN_NAME
        assert entry.version == "0.1.0"
        assert entry.doc
    assert example_installed.versions()[PLUGIN_NAME] == "0.1.0"
    assert example_installed.broken() == []


def test_example_can_be_disabled(example_installed: PluginSystem) -> None:
    system = load_plugins(disable=[PLUGIN_NAME])
    assert METHOD not in system.registries.methods
    assert METRIC not in system.registries.metrics


# -- the method and metric on their own ------------------------------------------------------


class _Box(Degradation):
    """Box-filter downscaling: enough of a known operator for unit tests."""

    def apply(self, hr: torch.Tensor, params: DegradationParams) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(hr, self.scale, ceil_mode=True)


def _training_data(scale: int, n_paired: int, patch: int = 16) -> TrainingData:
    generator = torch.Generator().manual_seed(0)
    hr = torch.randint(0, 256, (n_paired, 3, patch, patch), dtype=torch.uint8, generator=generator)
    lr = _Box(scale)(hr.float() / 255).mul(255).round().clamp(0, 255).to(torch.uint8)
    empty_lr = torch.zeros(0, 3, patch // scale, patch // scale, dtype=torch.uint8)
    return TrainingData(
        paired=PairedSet({"lr": lr, "hr": hr}, [f"img{i}" for i in range(n_paired)]),
        lr_only=LROnlySet({"lr": empty_lr}, []),
        hr_pool=None, scale=scale, degradation=_Box(scale))


def _method(module, scale: int = 2, **options: str):
    cls = module.ExampleESPCN
    profile = get_profile("smoke").with_overrides(batch_size=2)
    context = MethodContext(scale=scale, degradation=_Box(scale), device=torch.device("cpu"), profile=profile,
                            registries=load_plugins(autoload=False).registries, seed=0)
    return cls(parse_options(cls.Options, options, f"--set {METHOD}"), context)


def test_method_options_parse_from_strings(example_module) -> None:
    method = _method(example_module, lr="5e-4", channels="8")
    assert (method.options.lr, method.options.channels) == (5e-4, 8)
    with pytest.raises(UsageError, match="channels must be >= 2, got 1"):
        _method(example_module, channels="1")
    with pytest.raises(UsageError, match="unknown option 'width'; accepted: channels, lr"):
        _method(example_module, width="8")


def test_method_trains_in_the_core_loop_and_super_resolves(example_module, tmp_path: Path) -> None:
    torch.manual_seed(0)
    method = _method(example_module, channels="8")
    assert method.requires_paired and method.trainable
    data = _training_data(scale=2, n_paired=4)
    method.setup(data)
    assert set(method.modules()) == {"generator"} and set(method.optimizers()) == {"generator"}
    before = [p.detach().clone() for p in method.net.parameters()]
    outcome = Trainer(method, data, total_steps=3, trial_dir=tmp_path, checkpoint_every=2, log_every=1).run()
    assert outcome.steps == 3
    assert math.isfinite(outcome.last_losses["l1"]) and outcome.last_losses["l1"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, method.net.parameters()))
    assert (tmp_path / "checkpoint.pt").exists()
    with torch.no_grad():
        sr = method.super_resolve(torch.rand(2, 3, 5, 7))
    assert sr.shape == (2, 3, 10, 14)


def test_metric_is_mean_absolute_error_in_0_255_units(example_module) -> None:
    hr = torch.tensor([[[10, 20], [30, 40]]], dtype=torch.uint8)
    sr = torch.tensor([[[13, 20], [30, 35]]], dtype=torch.uint8)  # errors 3, 0, 0, 5 (no uint8 wrap-around)
    metric = example_module.ExampleMAE()
    assert metric.higher_is_better is False
    sample = MetricSample(id="a", sr=sr, hr=hr, lr=hr[:, :1, :1], scale=2)
    assert metric.compute(sample) == pytest.approx(2.0)
    assert metric.compute_set([sample, MetricSample("b", hr, hr, hr[:, :1, :1], 2)]) == (1.0, [2.0, 0.0])


# -- end to end through the runner API -------------------------------------------------------


def test_example_runs_and_is_scored_by_the_runner(example_installed: PluginSystem, tmp_path: Path) -> None:
    from srbench.api import run

    out = tmp_path / "out"
    config = RunConfig(methods=["bicubic", METHOD], dataset="synthetic", profile="smoke", hr_fraction=[1.0],
                       out=str(out))
    summary = run(config, plugins=example_installed, progress=False)
    by_method = {r["spec"]["method"]: r for r in summary.results}
    assert set(by_method) == {"bicubic", METHOD}
    result = by_method[METHOD]
    assert result[KEY_STATUS] == STATUS_OK, result.get("reason")
    assert result["versions"]["plugins"][PLUGIN_NAME] == "0.1.0"
    assert result[KEY_METRICS], "no test dataset was scored"
    for test_name, scores in result[KEY_METRICS].items():
        mean = scores[KEY_MEAN]
        for metric in (METRIC, "psnr_y"):
            assert isinstance(mean[metric], float) and math.isfinite(mean[metric]), (test_name, metric, mean)
        assert 0.0 < mean[METRIC] < 255.0
        per_image = scores["per_image"]
        assert per_image and mean[METRIC] == pytest.approx(sum(p[METRIC] for p in per_image) / len(per_image))
    on_disk = sorted((out / TRIALS_DIR).glob(f"*/{RESULT_FILE}"))
    assert len(on_disk) == 2


def test_example_is_incompatible_without_paired_images(example_installed: PluginSystem, tmp_path: Path) -> None:
    from srbench.api import run

    config = RunConfig(methods=[METHOD], dataset="synthetic", profile="smoke", hr_fraction=[0.0],
                       out=str(tmp_path / "out"))
    summary = run(config, plugins=example_installed, progress=False)
    assert [r[KEY_STATUS] for r in summary.results] == [STATUS_INCOMPATIBLE]
