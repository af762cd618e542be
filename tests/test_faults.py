"""Small faults a careful user meets: eval defaults, divergence records, messages, pipes, duplicate plugins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from srbench.api import run
from srbench.cli.main import main
from srbench.config import RunConfig
from srbench.errors import UnknownComponentError
from srbench.interfaces import MethodContext
from srbench.plugin_manager import load_plugins
from srbench.registry import ComponentsView
from srbench.training.profiles import get_profile
from srbench.training.trainer import LOSS_LOG_NAME, read_loss_log

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def system():
    return load_plugins(modules=["plugins.toy_method"])


# -- point 2: eval --checkpoint reproduces the trial ------------------------------------------------

@pytest.fixture
def trained(tmp_path, system):
    """A smoke trial on images larger than smoke's eval_max_side (96), so the crop matters."""
    summary = run(RunConfig(methods=["toy"], dataset="synthetic:6x128", profile="smoke", hr_fraction=[1.0], scale=2,
                            metrics=["psnr_y", "ssim_y"], out=str(tmp_path / "out")), plugins=system, progress=False)
    (result,) = summary.results
    assert result["status"] == "ok"
    return tmp_path / "out" / "trials" / result["trial_id"], result


def _eval(capsys, *argv):
    code = main(["eval", *argv, "--format", "json", "--plugin", "plugins.toy_method"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def test_eval_of_a_checkpoint_with_defaults_gives_the_result_json_numbers(capsys, trained):
    folder, result = trained
    code, res, err = _eval(capsys, "--checkpoint", str(folder), "--metrics", "psnr_y,ssim_y")
    assert code == 0 and err == ""
    mean = result["metrics"]["synthetic:6x128"]["mean"]
    assert res["psnr_y"] == pytest.approx(mean["psnr_y"], abs=1e-9)
    assert res["ssim_y"] == pytest.approx(mean["ssim_y"], abs=1e-9)
    assert (res["dataset"], res["scale"], res["degradation"], res["max_side"]) == ("synthetic:6x128", 2, "bicubic", 96)


def test_eval_with_another_max_side_says_the_numbers_differ(capsys, trained):
    folder, result = trained
    code, res, err = _eval(capsys, "--checkpoint", str(folder), "--metrics", "psnr_y", "--max-side", "0")
    assert code == 0
    assert err.count("\n") == 1 and "--max-side 0 differs from the trial's eval_max_side 96" in err
    assert res["psnr_y"] != pytest.approx(result["metrics"]["synthetic:6x128"]["mean"]["psnr_y"], abs=1e-6)


def test_eval_refuses_another_degradation_in_one_line(capsys, trained):
    folder, _ = trained
    code, _, err = _eval(capsys, "--checkpoint", str(folder), "--degradation", "blur")
    assert code == 2 and err.count("\n") == 1
    assert "--degradation blur" in err and "'bicubic'" in err
    code, res, _ = _eval(capsys, "--checkpoint", str(folder), "--degradation", "bicubic", "--metrics", "psnr_y")
    assert code == 0 and res["degradation"] == "bicubic"


# -- point 3 ---------------------------------------------------------------------------------------

def test_divergence_counts_steps_like_the_loss_log_and_records_the_training(tmp_path, system):
    summary = run(RunConfig(methods=["toy"], dataset="synthetic", profile="smoke", hr_fraction=[1.0], scale=2,
                            metrics=["psnr_y"], method_options={"toy": {"nan_at": 2}}, out=str(tmp_path)),
                  plugins=system, progress=False)
    result = json.loads((tmp_path / "trials" / summary.results[0]["trial_id"] / "result.json").read_text())
    assert result["status"] == "diverged"
    rows = read_loss_log(tmp_path / "trials" / result["trial_id"] / LOSS_LOG_NAME)
    # train_step(step=0) and (step=1) were good: logged as steps 1 and 2 (smoke logs every step);
    # train_step(step=2) gave NaN: the third step.
    assert [r["step"] for r in rows] == [1, 2]
    assert "at step 3 of 6" in result["reason"]
    training = result["training"]
    assert training["steps"] == 2 and training["diverged_at"] == 3 and training["resumed_from"] == 0
    assert training["last_losses"]["l1"] == pytest.approx(rows[-1]["l1"])
    assert training["diverged_losses"]["l1"] is None  # NaN is stored as null


def test_registry_errors_use_the_right_singular():
    registries = load_plugins().registries
    with pytest.raises(UnknownComponentError, match=r"^unknown adversarial_loss 'nope'"):
        registries.adversarial_losses.get("nope")
    with pytest.raises(UnknownComponentError, match=r"^unknown metric 'nope'"):
        registries.metrics.get("nope")


def test_methods_get_a_read_only_view_without_datasets():
    registries = load_plugins().registries
    context = MethodContext(scale=2, degradation=registries.degradations.create("bicubic", 2), device="cpu",
                            profile=get_profile("smoke"), registries=registries, seed=0)
    view = context.registries
    assert isinstance(view, ComponentsView)
    assert not hasattr(view, "datasets") and not hasattr(view, "methods") and not hasattr(view, "metrics")
    assert "datasets" not in dir(view)
    with pytest.raises(UnknownComponentError, match="not available to methods"):
        view.by_kind("datasets")
    with pytest.raises(AttributeError):
        view.datasets = registries.datasets
    assert not hasattr(view.generators, "register")
    assert "rrdb" in view.generators or view.generators.names()  # lookups still work
    assert view.degradations.create("bicubic", 2).scale == 2


def test_a_module_loaded_twice_is_one_plugin_and_one_short_line(capsys):
    import plugins.good_extra as module

    system = load_plugins(autoload=False, modules=["plugins.good_extra"], objects=[("extra_entry_point", module)])
    assert system.broken() == []
    info = {p.name: p for p in system.plugins}
    assert info["plugins.good_extra"].status == "loaded"
    assert info["extra_entry_point"].status == "duplicate"
    assert "plugins.good_extra" in info["extra_entry_point"].error and len(info["extra_entry_point"].error) < 120
    assert system.registries.methods.get("nearest_extra").plugin == "plugins.good_extra"


def test_the_plugin_testing_snippet_of_the_docs_runs(tmp_path):
    """The snippet of docs/writing_a_plugin.md, with the example name replaced by a test plugin."""
    text = (REPO / "docs" / "writing_a_plugin.md").read_text()
    section = text.split("## Testing your plugin", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    snippet = snippet.replace("srbench_myplugin", "plugins.good_extra").replace('"mymethod"', '"nearest_extra"')
    namespace: dict = {}
    exec(compile(snippet, "writing_a_plugin.md", "exec"), namespace)  # noqa: S102 - our own docs
    namespace["test_mymethod_is_registered"]()


def test_list_into_a_closed_pipe_is_quiet():
    # `true` exits before srbench has imported torch, so every write meets a closed pipe.
    proc = subprocess.run(f"{sys.executable} -m srbench.cli.main list | true", shell=True, capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    assert proc.stderr == ""
