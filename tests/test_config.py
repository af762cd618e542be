"""RunConfig: command-line values, TOML files and --set overrides, with one-line errors."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from srbench.config import RunConfig, apply_set_overrides, load_config_file, update_config
from srbench.errors import UsageError


def _toml(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# -- update_config ---------------------------------------------------------------------------


def test_defaults_validate() -> None:
    config = RunConfig()
    assert config.validate() is config


def test_update_config_converts_command_line_strings() -> None:
    config = update_config(RunConfig(), {"methods": "bicubic, srgan", "hr-fraction": "0.01,0.5", "scale": "2",
                                         "seeds": "3", "deterministic": "false", "profile": "smoke"}, "command line")
    assert config.methods == ["bicubic", "srgan"]
    assert config.hr_fraction == [0.01, 0.5]
    assert (config.scale, config.seeds, config.deterministic, config.profile) == (2, 3, False, "smoke")
    config.validate()


def test_update_config_returns_a_copy() -> None:
    original = RunConfig()
    changed = update_config(original, {"scale": 2, "method_options": {"srgan": {"lr": 1e-3}}}, "api")
    assert original.scale == 4 and original.method_options == {}
    assert changed.scale == 2


def test_update_config_accepts_scalars_and_tuples_for_list_fields() -> None:
    config = update_config(RunConfig(), {"hr_fraction": 1, "methods": ("bicubic", "srgan"), "metrics": "psnr_y"},
                           "api")
    assert config.hr_fraction == [1.0]
    assert config.methods == ["bicubic", "srgan"]
    assert config.metrics == ["psnr_y"]


def test_update_config_unknown_setting_lists_accepted_and_suggests() -> None:
    with pytest.raises(UsageError) as info:
        update_config(RunConfig(), {"hr_fractions": "0.1"}, "command line")
    message = _one_line_error(info)
    assert message.startswith("command line: unknown setting 'hr_fractions'")
    assert "did you mean 'hr_fraction'?" in message
    assert "accepted: " + ", ".join(f.name for f in fields(RunConfig)) in message


@pytest.mark.parametrize("key,value,expected", [
    ("scale", "four", "expected int"),
    ("seeds", 1.5, "expected int"),
    ("hr_fraction", "0.1,lots", "expected list[float]"),
    ("deterministic", "perhaps", "expected bool"),
    ("profile", 3, "expected str"),
])
def test_update_config_wrong_type(key: str, value: object, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        update_config(RunConfig(), {key: value}, "command line")
    message = _one_line_error(info)
    assert message.startswith(f"command line: {key}: invalid value")
    assert repr(value) in message and expected in message


def test_method_options_merge_per_method() -> None:
    config = update_config(RunConfig(), {"method_options": {"srgan": {"lr": 1e-4, "beta": 0.9}}}, "file")
    config = update_config(config, {"method_options": {"srgan": {"lr": 2e-4}, "ambient": {"steps": 2}}}, "file")
    assert config.method_options == {"srgan": {"lr": 2e-4, "beta": 0.9}, "ambient": {"steps": 2}}


@pytest.mark.parametrize("value", [{"srgan": 1}, "srgan.lr=1"])
def test_method_options_must_be_table_of_tables(value: object) -> None:
    with pytest.raises(UsageError, match=r"'method_options' must be a table of tables"):
        update_config(RunConfig(), {"method_options": value}, "file")


def test_degradation_options_must_be_table() -> None:
    with pytest.raises(UsageError, match="'degradation_options' must be a table$"):
        update_config(RunConfig(), {"degradation_options": 2}, "file")


@pytest.mark.parametrize("changes,flag", [
    ({"scale": 5}, "--scale 5"),
    ({"hr_fraction": [0.5, 1.5]}, "--hr-fraction 1.5"),
    ({"hr_fraction": []}, "--hr-fraction"),
    ({"seeds": 0}, "--seeds 0"),
    ({"methods": []}, "--methods"),
])
def test_validate_names_the_flag(changes: dict, flag: str) -> None:
    with pytest.raises(UsageError) as info:
        RunConfig(**changes).validate()
    assert _one_line_error(info).startswith(flag)


# -- load_config_file ------------------------------------------------------------------------


def test_load_config_file_reads_settings_and_tables(tmp_path: Path) -> None:
    path = _toml(tmp_path, """
methods = ["bicubic", "srgan"]
hr_fraction = [0.01, 0.05]
dataset = "folder:/data/train"
scale = 2
profile = "smoke"

[method_options.srgan]
adversarial_weight = 0.001
generator = "srresnet"

[degradation_options]
sigma = 1.5

[profile_overrides]
iterations = 50
""")
    config = load_config_file(path)
    assert config.methods == ["bicubic", "srgan"]
    assert config.hr_fraction == [0.01, 0.05]
    assert (config.dataset, config.scale, config.profile) == ("folder:/data/train", 2, "smoke")
    assert config.method_options == {"srgan": {"adversarial_weight": 0.001, "generator": "srresnet"}}
    assert config.degradation_options == {"sigma": 1.5}
    assert config.profile_overrides == {"iterations": 50}
    assert config.seeds == RunConfig().seeds  # untouched settings keep their defaults


def test_load_config_file_applies_on_top_of_given_config(tmp_path: Path) -> None:
    base = RunConfig(scale=3, method_options={"srgan": {"lr": 1e-4}})
    config = load_config_file(_toml(tmp_path, "[method_options.srgan]\nbeta = 0.5\n"), base)
    assert config.scale == 3
    assert config.method_options == {"srgan": {"lr": 1e-4, "beta": 0.5}}


def test_load_config_file_unknown_key(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_config_file(_toml(tmp_path, 'methods = ["bicubic"]\nmethod = "srgan"\n'))
    message = _one_line_error(info)
    assert message.startswith("config file run.toml: unknown setting 'method'")
    assert "accepted: methods," in message


def test_load_config_file_unknown_table(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown setting 'method_option'"):
        load_config_file(_toml(tmp_path, "[method_option.srgan]\nlr = 1\n"))


def test_load_config_file_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_config_file(_toml(tmp_path, 'scale = "four"\n'))
    assert _one_line_error(info) == "config file run.toml: scale: invalid value 'four'; expected int"


def test_load_config_file_method_options_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="config file run.toml: 'method_options' must be a table of tables"):
        load_config_file(_toml(tmp_path, "[method_options]\nlr = 0.1\n"))


def test_load_config_file_invalid_toml(tmp_path: Path) -> None:
    path = _toml(tmp_path, "scale = \n")
    with pytest.raises(UsageError) as info:
        load_config_file(path)
    assert _one_line_error(info).startswith(f"--config {path}: not valid TOML")


def test_load_config_file_missing(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_config_file(tmp_path / "absent.toml")


# -- apply_set_overrides ---------------------------------------------------------------------


def test_set_overrides_route_to_method_degradation_and_profile() -> None:
    config = apply_set_overrides(RunConfig(), ["srgan.lr=1e-3", "srgan.beta=0.5", "ambient.mode=a=b",
                                               "degradation.sigma=2", "profile.iterations=10"])
    assert config.method_options == {"srgan": {"lr": "1e-3", "beta": "0.5"}, "ambient": {"mode": "a=b"}}
    assert config.degradation_options == {"sigma": "2"}
    assert config.profile_overrides == {"iterations": "10"}


def test_set_overrides_strip_spaces() -> None:
    config = apply_set_overrides(RunConfig(), [" srgan . lr = 1e-3 "])
    assert config.method_options == {"srgan": {"lr": "1e-3"}}


def test_set_overrides_win_over_file_values_and_keep_the_rest() -> None:
    base = RunConfig(method_options={"srgan": {"lr": 1e-4, "beta": 0.9}}, profile_overrides={"batch_size": 2})
    config = apply_set_overrides(base, ["srgan.lr=5e-4", "profile.iterations=3"])
    assert config.method_options == {"srgan": {"lr": "5e-4", "beta": 0.9}}
    assert config.profile_overrides == {"batch_size": 2, "iterations": "3"}
    assert base.method_options == {"srgan": {"lr": 1e-4, "beta": 0.9}}  # not mutated


@pytest.mark.parametrize("item", ["srgan=1", "lr=1", ".lr=1", "srgan.=1", "srgan.lr", "=1", ""])
def test_malformed_set_is_usage_error(item: str) -> None:
    with pytest.raises(UsageError) as info:
        apply_set_overrides(RunConfig(), [item])
    message = _one_line_error(info)
    assert message.startswith(f"--set {item!r}: expected METHOD.OPTION=VALUE")
