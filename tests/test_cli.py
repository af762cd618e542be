"""The command line: every bad value is one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image as PILImage

from srbench.cli.main import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse --help / parse errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        PILImage.new("RGB", (20, 20), (i * 40, 10, 200)).save(folder / f"im{i}.png")
    return folder


BAD_RUNS = [
    (["--methods", "nosuchmethod"], ["nosuchmethod", "bicubic"]),
    (["--hr-fraction", "1.5"], ["1.5", "[0, 1]"]),
    (["--hr-fraction", "0.1,abc"], ["abc", "float"]),
    (["--scale", "5"], ["5", "2, 3, 4"]),
    (["--scale", "x"], ["'x'", "int"]),
    (["--profile", "huge"], ["huge", "smoke"]),
    (["--seeds", "0"], ["0", "positive"]),
    (["--dataset", "nosuch"], ["nosuch", "default"]),
    (["--degradation", "nosuch"], ["nosuch", "bicubic"]),
    (["--set", "bicubic.nosuch=1"], ["nosuch"]),
    (["--set", "oops"], ["oops", "METHOD.OPTION=VALUE"]),
    (["--set", "profile.nosuch=3"], ["nosuch", "iterations"]),
    (["--set", "profile.iterations=many"], ["many", "int"]),
    (["--device", "tpu"], ["tpu", "cpu"]),
    (["--config", "/nonexistent/x.toml"], ["/nonexistent/x.toml"]),
    (["--executor", "dask"], ["'dask'", "local, ray"]),
    (["--set", "profile.cpus=0"], ["profile.cpus=0", "at least 1"]),
    (["--executor", "ray", "--retries", "-1"], ["-1", "0 or more"]),
    (["--ray-address", "auto"], ["auto", "--executor ray"]),
]


@pytest.mark.parametrize("argv,fragments", BAD_RUNS, ids=[" ".join(a) for a, _ in BAD_RUNS])
def test_bad_run_values_are_one_line_errors(capsys, tmp_path, argv, fragments):
    code, _, err = run_cli(capsys, "run", "--profile", "smoke", "--out", str(tmp_path / "o"), *argv)
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "o" / "trials").exists() or not any((tmp_path / "o" / "trials").iterdir())


def test_missing_and_empty_folders(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", "--dataset", f"folder:{tmp_path / 'missing'}", "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(capsys, "run", "--dataset", f"folder:{empty}", "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, "empty")


def test_image_smaller_than_a_patch(capsys, tmp_path, tiny_folder):
    code, _, err = run_cli(capsys, "run", "--dataset", f"folder:{tiny_folder}", "--methods", "bicubic",
                           "--hr-fraction", "1", "--profile", "smoke", "--out", str(tmp_path / "o"), "--no-progress")
    assert_one_line_error(code, err, "patch")


def test_config_file_errors(capsys, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('methods = ["bicubic"]\nnosuch = 3\n')
    code, _, err = run_cli(capsys, "run", "--config", str(cfg))
    assert_one_line_error(code, err, "nosuch", "accepted")
    cfg.write_text('scale = "four"\n')
    code, _, err = run_cli(capsys, "run", "--config", str(cfg))
    assert_one_line_error(code, err, "four", "int")
    cfg.write_text('scale = [\n')
    code, _, err = run_cli(capsys, "run", "--config", str(cfg))
    assert_one_line_error(code, err, "TOML")


def test_argparse_errors_are_one_line(capsys):
    code, _, err = run_cli(capsys, "run", "--no-such-flag")
    assert_one_line_error(code, err, "--no-such-flag")
    code, _, err = run_cli(capsys, "nosuchcommand")
    assert_one_line_error(code, err, "nosuchcommand")


def test_help_explains_every_option(capsys):
    code, out, _ = run_cli(capsys, "run", "--help")
    assert code == 0
    out = " ".join(out.split())  # argparse wraps lines at the terminal width
    for flag in ["--methods", "--hr-fraction", "--dataset", "--test-datasets", "--scale", "--degradation",
                 "--hr-source", "--seeds", "--profile", "--out", "--device", "--set", "--config",
                 "--disable-plugin", "--no-autoload", "--plugin"]:
        assert flag in out


def test_list_shows_components_plugins_and_versions(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    assert "builtin-methods" in out and "bicubic" in out and "0.1.0" in out
    code, out, _ = run_cli(capsys, "list", "methods")
    assert code == 0 and "bicubic" in out and "default" not in out
    code, _, err = run_cli(capsys, "list", "gizmos")
    assert_one_line_error(code, err, "gizmos", "methods")


def test_list_options_shows_type_default_and_doc(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    code, out, _ = run_cli(capsys, "list", "--options", "toy", "--plugin", "plugins.toy_method")
    assert code == 0
    assert "fail_at" in out and "int" in out and "-1" in out and "raise RuntimeError" in out
    code, _, err = run_cli(capsys, "list", "--options", "nosuch")
    assert_one_line_error(code, err, "nosuch", "bicubic")


def test_list_options_shows_the_profile_defaults(capsys, monkeypatch):
    from plugins.toy_method import ToyMethod

    monkeypatch.setattr(ToyMethod, "profile_defaults", {"standard": {"lr": 0.25}})
    code, out, _ = run_cli(capsys, "list", "--options", "toy", "--plugin", "plugins.toy_method")
    assert code == 0 and "profile standard: lr=0.25" in out


def test_disable_plugin_and_no_autoload(capsys):
    code, out, _ = run_cli(capsys, "list", "methods", "--disable-plugin", "builtin-methods")
    assert code == 0 and "bicubic" not in out
    code, out, _ = run_cli(capsys, "list", "plugins", "--no-autoload", "--plugin", "plugins.toy_method")
    assert code == 0 and "builtin-methods" not in out and "plugins.toy_method" in out
    code, _, err = run_cli(capsys, "list", "--disable-plugin", "nosuch")
    assert_one_line_error(code, err, "nosuch")


def test_report_needs_a_run_folder(capsys, tmp_path):
    code, _, err = run_cli(capsys, "report", str(tmp_path))
    assert_one_line_error(code, err, str(tmp_path), "trials")


def test_eval_errors(capsys):
    code, _, err = run_cli(capsys, "eval", "--method", "toy", "--plugin", "plugins.toy_method")
    assert_one_line_error(code, err, "toy", "--checkpoint")
    code, _, err = run_cli(capsys, "eval", "--method", "bicubic", "--scale", "7")
    assert_one_line_error(code, err, "7", "2, 3, 4")
    code, _, err = run_cli(capsys, "eval", "--checkpoint", "/nonexistent")
    assert_one_line_error(code, err, "/nonexistent")


def test_ray_executor_without_ray_says_how_to_install_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # import ray -> ImportError
    code, _, err = run_cli(capsys, "run", "--executor", "ray", "--methods", "bicubic", "--profile", "smoke",
                           "--dataset", "synthetic", "--out", str(tmp_path / "o"), "--no-progress")
    assert_one_line_error(code, err, "--executor ray needs the 'ray' package", "pip install -e '.[ray]'")


def test_run_help_states_each_default_once(capsys):
    code, out, _ = run_cli(capsys, "run", "--help")
    assert code == 0
    out = " ".join(out.split())  # argparse wraps lines at the terminal width
    assert "[default: local]" in out and "[default: 0.05]" in out
    assert "(default: None)" not in out  # None means "not given", never the value used


def test_dry_run_lists_the_trials_and_writes_nothing(capsys, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "run", "--dry-run", "--methods", "bicubic,srresnet", "--dataset", "synthetic",
                                "--profile", "smoke", "--hr-fraction", "1", "--seeds", "2", "--scale", "2",
                                "--out", str(out), "--no-progress")
    assert code == 0, err
    lines = stdout.strip().splitlines()
    assert lines[0] == f"srbench: 4 planned trials in {out}: 2 to train, 2 to score; nothing run (--dry-run)"
    assert sorted(line.split()[0] for line in lines[2:]) == ["score", "score", "train", "train"]
    assert any("srresnet hr_fraction 1 seed 1" in line for line in lines[2:])
    assert not out.exists()
    assert lines[1] == "srbench: training left: 2 trials, no estimate (no finished trial of their method in this folder)"


def test_dry_run_estimates_the_training_left_from_the_folders_finished_trials(capsys, tmp_path: Path) -> None:
    import json

    out = tmp_path / "out"
    common = ["--methods", "srresnet", "--dataset", "synthetic", "--profile", "smoke", "--hr-fraction", "1",
              "--scale", "2", "--out", str(out), "--no-progress"]
    assert run_cli(capsys, "run", *common, "--seeds", "1")[0] == 0
    record = json.loads(next((out / "trials").glob("srresnet-*/result.json")).read_text())
    seconds = record["cost"]["train_seconds"]
    assert 0 < record["cost"]["train_cpu_seconds"]  # the training process's own CPU time, beside the wall time
    # a cost, not a metric: in the CSV with the costs, never ranked, compared or shown as a metric column
    header = (out / "leaderboard.csv").read_text().splitlines()[0].split(",")
    assert "train_cpu_seconds" in header and not any(c.startswith("train_cpu_seconds_") for c in header)
    assert "train_cpu_seconds" not in (out / "leaderboard.md").read_text()
    code, stdout, err = run_cli(capsys, "run", "--dry-run", *common, "--seeds", "3")
    assert code == 0, err
    lines = stdout.strip().splitlines()
    assert lines[1].startswith(f"srbench: training left: about {2 * seconds / 3600:.1f} h, one trial at a time, "
                               "for the 2 of 2 trials with an estimate")
    trains = [line for line in lines if line.startswith("train")]
    assert len(trains) == 2 and all(f"~{seconds:.0f} s (1 finished trial like it)" in line for line in trains)
    code, stdout, _ = run_cli(capsys, "run", "--dry-run", *common, "--seeds", "2", "--set", "srresnet.lr=2e-3")
    assert "(1 finished trial of the method, other options)" in stdout  # another option: the method's cost


def test_the_script_shows_a_python_warning_as_one_line(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A remark a plugin raises with warnings.warn reads as one srbench line, not a path and a line of source."""
    import warnings

    import srbench.cli.main as cli

    def command_that_warns() -> int:
        warnings.warn("lr_crop 24 (the default) exceeds the smallest LR training image; trained on 19-px crops",
                      stacklevel=1)
        warnings.warn("old flag", DeprecationWarning, stacklevel=1)
        return 0

    before = warnings.showwarning
    monkeypatch.setattr(cli, "main", command_that_warns)
    with pytest.raises(SystemExit) as exited:
        cli.console_main()  # the installed script
    assert exited.value.code == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("srbench: warning: lr_crop 24 (the default) exceeds the smallest LR training image; trained "
                      "on 19-px crops")
    assert err[1].startswith("srbench: warning: old flag (DeprecationWarning, test_cli.py:")
    assert len(err) == 2
    assert warnings.showwarning is before  # put back after
