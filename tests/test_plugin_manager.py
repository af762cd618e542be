"""Loading plugins: isolation of broken ones, disabling, autoload switches and explicit modules."""

from __future__ import annotations

import sys

import re
from pathlib import Path

import pytest

from srbench import hookimpl
from srbench.errors import PluginLoadError, UnknownComponentError, UsageError
from srbench.plugin_manager import (
    AUTOLOAD_ENV,
    PLUGINS_ENV,
    PluginInfo,
    PluginSystem,
    get_plugin_system,
    load_plugins,
    set_plugin_system,
)
from plugins import broken_register, duplicate_degradation, good_extra

BUILTIN_PREFIX = "builtin-"
GOOD_EXTRA = good_extra.__name__
BROKEN_REGISTER = broken_register.__name__
DUPLICATE_DEGRADATION = duplicate_degradation.__name__
BROKEN_IMPORT = "plugins.broken_import"  # importing it here would raise


def _info(system: PluginSystem, name: str) -> PluginInfo:
    matches = [p for p in system.plugins if p.name == name]
    assert len(matches) == 1, f"expected one plugin named {name!r}, got {[p.name for p in system.plugins]}"
    return matches[0]


# -- built-ins -------------------------------------------------------------------------------


def test_builtins_are_loaded_as_entry_points(plugin_system: PluginSystem) -> None:
    builtins = [p for p in plugin_system.plugins if p.name.startswith(BUILTIN_PREFIX)]
    assert {p.name for p in builtins} >= {"builtin-degradations", "builtin-datasets", "builtin-methods",
                                          "builtin-metrics", "builtin-runtime"}
    for info in builtins:
        assert info.source == "entry point"
        assert info.distribution == "srbench-gan"
        assert info.status == "loaded", f"{info.name}: {info.error}"
        assert info.version
    assert plugin_system.broken() == []
    assert plugin_system.versions()["builtin-methods"] == _info(plugin_system, "builtin-methods").version


def test_builtin_components_belong_to_builtin_plugins(plugin_system: PluginSystem) -> None:
    for info in plugin_system.plugins:
        for kind, name in info.components:
            assert plugin_system.registries.by_kind(kind).get(name).plugin == info.name


def test_core_never_imports_builtins_package() -> None:
    import srbench

    # Built-ins must come through entry points only; a direct import would hide a broken entry point.
    direct_import = re.compile(r"^\s*(from|import)\s+srbench_builtins|import_module\(\s*['\"]srbench_builtins", re.M)
    core = Path(srbench.__file__).parent
    offenders = [str(p.relative_to(core)) for p in core.rglob("*.py") if direct_import.search(p.read_text())]
    assert offenders == []


# -- good explicit plugins -------------------------------------------------------------------


def test_module_plugin_registers_components() -> None:
    system = load_plugins(autoload=False, modules=[GOOD_EXTRA])
    info = _info(system, GOOD_EXTRA)
    assert info.source == "module"
    assert info.status == "loaded"
    assert sorted(info.components) == [("methods", good_extra.METHOD_NAME), ("metrics", good_extra.METRIC_NAME)]
    entry = system.registries.metrics.get(good_extra.METRIC_NAME)
    assert entry.plugin == GOOD_EXTRA
    assert entry.doc == "largest absolute error (test plugin)"
    assert entry.factory is good_extra.MaxAbsErrorExtra
    assert system.registries.methods.get(good_extra.METHOD_NAME).doc == "Nearest-neighbour upscaling (no training)."


def test_object_plugin_registers_components() -> None:
    class Plugin:
        @hookimpl
        def srbench_register_generators(self, generators):
            generators.register("identity_gen", lambda scale, channels=3, size="small": None)

    system = load_plugins(autoload=False, objects=[("inline", Plugin())])
    assert _info(system, "inline").source == "object"
    assert system.registries.generators.get("identity_gen").plugin == "inline"


def test_plugins_env_loads_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PLUGINS_ENV, f" {GOOD_EXTRA} , ")
    system = load_plugins(autoload=False)
    assert [p.name for p in system.plugins] == [GOOD_EXTRA]
    assert good_extra.METHOD_NAME in system.registries.methods


# -- broken plugins --------------------------------------------------------------------------


def test_import_error_does_not_stop_other_plugins() -> None:
    sys.modules.pop(BROKEN_IMPORT, None)
    system = load_plugins(modules=[BROKEN_IMPORT, GOOD_EXTRA])
    broken = _info(system, BROKEN_IMPORT)
    assert broken.status == "broken"
    assert broken.error.startswith("ImportError: ")
    assert "not_installed_pkg" in broken.error
    assert "\n" not in broken.error
    assert system.broken() == [broken]
    assert _info(system, GOOD_EXTRA).status == "loaded"
    assert good_extra.METHOD_NAME in system.registries.methods
    assert all(p.status == "loaded" for p in system.plugins if p.name.startswith(BUILTIN_PREFIX))
    assert BROKEN_IMPORT not in system.versions()


def test_error_inside_hook_marks_plugin_broken_and_rolls_back() -> None:
    system = load_plugins(autoload=False, modules=[BROKEN_REGISTER, GOOD_EXTRA])
    broken = _info(system, BROKEN_REGISTER)
    assert broken.status == "broken"
    assert broken.error == f"RuntimeError: {broken_register.ERROR_TEXT}"
    assert broken.components == []
    # The method came from an earlier, successful hook of the same plugin: rolled back too.
    assert "half_loaded_method" not in system.registries.methods
    assert "half_loaded_metric" not in system.registries.metrics
    assert not system.manager.has_plugin(BROKEN_REGISTER)
    assert _info(system, GOOD_EXTRA).status == "loaded"
    assert system.registries.metrics.names() == [good_extra.METRIC_NAME]


def test_unknown_name_while_plugin_broken_mentions_its_error() -> None:
    system = load_plugins(autoload=False, modules=[BROKEN_REGISTER, GOOD_EXTRA])
    for registry in (system.registries.metrics, system.registries.datasets):
        with pytest.raises(PluginLoadError) as info:
            registry.get("half_loaded_metric")
        assert BROKEN_REGISTER in str(info.value)
        assert broken_register.ERROR_TEXT in str(info.value)
    # Registered names still resolve.
    assert system.registries.metrics.get(good_extra.METRIC_NAME).plugin == GOOD_EXTRA


def test_unknown_name_without_broken_plugin_is_unknown_component_error() -> None:
    system = load_plugins(autoload=False, modules=[GOOD_EXTRA])
    with pytest.raises(UnknownComponentError):
        system.registries.metrics.get("half_loaded_metric")


def test_plugin_with_hook_of_wrong_signature_is_broken() -> None:
    class WrongArgument:
        @hookimpl
        def srbench_register_methods(self, registry):  # the argument must be named ``methods``
            raise AssertionError("never called")

    system = load_plugins(autoload=False, objects=[("wrong-arg", WrongArgument())], modules=[GOOD_EXTRA])
    info = _info(system, "wrong-arg")
    assert info.status == "broken"
    assert "srbench_register_methods" in info.error
    assert _info(system, GOOD_EXTRA).status == "loaded"


def test_two_plugins_with_the_same_name_second_is_broken() -> None:
    system = load_plugins(autoload=False, modules=[GOOD_EXTRA], objects=[(GOOD_EXTRA, object())])
    infos = [p for p in system.plugins if p.name == GOOD_EXTRA]
    assert [p.status for p in infos] == ["loaded", "broken"]
    assert "already loaded" in infos[1].error


def test_duplicate_between_object_plugins_marks_second_broken() -> None:
    class First:
        @hookimpl
        def srbench_register_degradations(self, degradations):
            degradations.register("box", object)

    class Second:
        @hookimpl
        def srbench_register_degradations(self, degradations):
            degradations.register("other", object)
            degradations.register("box", object)

    system = load_plugins(autoload=False, objects=[("first", First()), ("second", Second())])
    second = _info(system, "second")
    assert second.status == "broken"
    assert "'first'" in second.error and "'second'" in second.error
    assert "DuplicateComponentError" not in second.error  # srbench errors are shown as their message
    assert system.registries.degradations.names() == ["box"]
    assert system.registries.degradations.get("box").plugin == "first"


def test_duplicate_of_builtin_degradation_is_reported_broken_naming_both() -> None:
    system = load_plugins(modules=[DUPLICATE_DEGRADATION])
    name = duplicate_degradation.DUPLICATED_NAME
    builtin = _info(system, "builtin-degradations")
    assert builtin.status == "loaded"
    assert ("degradations", name) in builtin.components, "the built-in degradations plugin must register 'bicubic'"
    dup = _info(system, DUPLICATE_DEGRADATION)
    assert dup.status == "broken"
    assert f"'{name}'" in dup.error
    assert "'builtin-degradations'" in dup.error and f"'{DUPLICATE_DEGRADATION}'" in dup.error
    entry = system.registries.degradations.get(name)
    assert entry.plugin == "builtin-degradations"
    assert entry.factory is not duplicate_degradation.AveragePool


# -- disabling and autoload ------------------------------------------------------------------


def test_disable_removes_the_plugins_components() -> None:
    system = load_plugins(autoload=False, modules=[GOOD_EXTRA], disable=[GOOD_EXTRA])
    info = _info(system, GOOD_EXTRA)
    assert info.status == "disabled"
    assert info.components == []
    assert good_extra.METHOD_NAME not in system.registries.methods
    assert good_extra.METRIC_NAME not in system.registries.metrics
    assert not system.manager.has_plugin(GOOD_EXTRA)
    assert system.broken() == []


def test_disable_a_builtin_entry_point(plugin_system: PluginSystem) -> None:
    owned = _info(plugin_system, "builtin-degradations").components
    system = load_plugins(disable=["builtin-degradations"])
    assert _info(system, "builtin-degradations").status == "disabled"
    assert [(kind, name) for kind, name in owned if name in system.registries.by_kind(kind)] == []
    assert all(e.plugin != "builtin-degradations" for e in system.registries.degradations.entries())
    assert _info(system, "builtin-methods").status == "loaded"


def test_disable_unknown_name_is_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        load_plugins(autoload=False, modules=[GOOD_EXTRA], disable=["no-such-plugin"])
    message = str(info.value)
    assert "'no-such-plugin'" in message and GOOD_EXTRA in message
    assert "\n" not in message


def test_autoload_false_loads_no_entry_points() -> None:
    system = load_plugins(autoload=False, modules=[GOOD_EXTRA])
    assert [p.source for p in system.plugins] == ["module"]
    assert system.hook.srbench_resolve_device(requested="cpu") is None


def test_autoload_env_disables_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(AUTOLOAD_ENV, "1")
    assert [p for p in load_plugins().plugins if p.source == "entry point"] == []
    monkeypatch.setenv(AUTOLOAD_ENV, "0")
    assert any(p.source == "entry point" for p in load_plugins().plugins)


def test_autoload_argument_overrides_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(AUTOLOAD_ENV, "1")
    assert any(p.source == "entry point" for p in load_plugins(autoload=True).plugins)


# -- hooks other than registration -----------------------------------------------------------


def test_resolve_device_builtin_answers_cpu(plugin_system: PluginSystem) -> None:
    assert str(plugin_system.hook.srbench_resolve_device(requested="cpu")) == "cpu"


def test_first_plugin_answer_wins_over_builtin_device() -> None:
    import torch

    class PinnedDevice:
        @hookimpl
        def srbench_resolve_device(self, requested):
            return torch.device("meta") if requested == "meta" else None

    system = load_plugins(objects=[("pinned", PinnedDevice())])
    assert system.hook.srbench_resolve_device(requested="meta") == torch.device("meta")
    assert system.hook.srbench_resolve_device(requested="cpu") == torch.device("cpu")


def test_trial_finished_reaches_loaded_plugins_only(tmp_path) -> None:
    seen: list[tuple[str, object]] = []

    class Recorder:
        @hookimpl
        def srbench_trial_finished(self, result, trial_dir):
            seen.append((result["status"], trial_dir))

    system = load_plugins(autoload=False, objects=[("recorder", Recorder())], modules=[BROKEN_REGISTER])
    system.hook.srbench_trial_finished(result={"status": "ok"}, trial_dir=tmp_path)
    assert seen == [("ok", tmp_path)]


def test_process_wide_system_is_cached_and_replaceable() -> None:
    first = get_plugin_system()
    assert get_plugin_system() is first
    replacement = load_plugins(autoload=False)
    set_plugin_system(replacement)
    assert get_plugin_system() is replacement
