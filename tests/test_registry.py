"""Registry behaviour: lookup errors that help, duplicates that name both plugins, factories."""

from __future__ import annotations

import pytest

from srbench import hookimpl
from srbench.errors import DuplicateComponentError, PluginLoadError, UnknownComponentError, UsageError
from srbench.plugin_manager import load_plugins
from srbench.registry import BrokenPlugin, Registries, Registry


def _metric_registry(*names: str) -> Registry:
    registry = Registry("metrics")
    for name in names:
        registry.register(name, object)
    return registry


def test_unknown_name_lists_available_names_and_suggests_close_match() -> None:
    registry = _metric_registry("psnr_y", "ssim_y", "lpips")
    with pytest.raises(UnknownComponentError) as info:
        registry.get("psnr_x")
    message = str(info.value)
    assert "'psnr_x'" in message
    assert "did you mean 'psnr_y'?" in message
    assert "available: lpips, psnr_y, ssim_y" in message
    assert "\n" not in message


def test_unknown_name_without_close_match_has_no_suggestion() -> None:
    registry = _metric_registry("psnr_y")
    with pytest.raises(UnknownComponentError) as info:
        registry.create("zzzz")
    assert "did you mean" not in str(info.value)
    assert "available: psnr_y" in str(info.value)


def test_unknown_name_is_a_usage_error_and_a_key_error() -> None:
    registry = Registry("methods")
    with pytest.raises(UsageError):
        registry.get("srgan")
    with pytest.raises(KeyError):
        registry.get("srgan")
    with pytest.raises(UnknownComponentError, match=r"available: \(none\)"):
        registry.get("srgan")


def test_unknown_name_with_broken_plugin_is_plugin_load_error() -> None:
    registry = _metric_registry("psnr_y")
    registry.mark_broken(BrokenPlugin("fancy-metrics", "ImportError: no module named 'kornia'"))
    with pytest.raises(PluginLoadError) as info:
        registry.get("fancy_ssim")
    assert "fancy-metrics" in str(info.value)
    assert "no module named 'kornia'" in str(info.value)
    # A name that exists is still found.
    assert registry.get("psnr_y").name == "psnr_y"


def test_duplicate_name_raises_and_keeps_first_entry() -> None:
    registry = Registry("degradations")
    first, second = object(), object()
    registry.register("bicubic", first)
    with pytest.raises(DuplicateComponentError, match="'bicubic' is registered twice"):
        registry.register("bicubic", second)
    assert registry.get("bicubic").factory is first
    assert len(registry) == 1


def test_duplicate_error_names_both_plugins() -> None:
    caught: list[DuplicateComponentError] = []

    class First:
        @hookimpl
        def srbench_register_metrics(self, metrics):
            metrics.register("sharpness", object)

    class Second:
        @hookimpl
        def srbench_register_metrics(self, metrics):
            try:
                metrics.register("sharpness", object)
            except DuplicateComponentError as exc:
                caught.append(exc)
                raise

    system = load_plugins(autoload=False, objects=[("first-plugin", First()), ("second-plugin", Second())])
    assert len(caught) == 1
    message = str(caught[0])
    assert "'first-plugin'" in message and "'second-plugin'" in message
    assert system.registries.metrics.get("sharpness").plugin == "first-plugin"


@pytest.mark.parametrize("bad_name", ["", "two words", "a,b", "k=v", "folder:x", 3])
def test_invalid_names_are_refused(bad_name: object) -> None:
    with pytest.raises(ValueError, match="invalid methods name"):
        Registry("methods").register(bad_name, object)  # type: ignore[arg-type]


def test_create_calls_factory_with_arguments() -> None:
    calls: list[tuple[tuple, dict]] = []

    def factory(*args, **kwargs):
        calls.append((args, kwargs))
        return "built"

    registry = Registry("generators")
    registry.register("tiny", factory, "a tiny generator")
    assert registry.create("tiny", 4, channels=1) == "built"
    assert calls == [((4,), {"channels": 1})]


def test_create_refuses_non_callable_factory() -> None:
    registry = Registry("datasets")
    registry.register("constant", 42)
    with pytest.raises(TypeError, match="not callable"):
        registry.create("constant")


def test_doc_defaults_to_first_docstring_line() -> None:
    class Documented:
        """First line.

        More detail.
        """

    class Undocumented:
        pass

    registry = Registry("methods")
    registry.register("documented", Documented)
    registry.register("undocumented", Undocumented)
    registry.register("explicit", Documented, "given doc")
    assert registry.get("documented").doc == "First line."
    assert registry.get("undocumented").doc == ""
    assert registry.get("explicit").doc == "given doc"


def test_names_are_sorted_and_entries_match() -> None:
    registry = _metric_registry("b", "c", "a")
    assert registry.names() == ["a", "b", "c"]
    assert list(registry) == ["a", "b", "c"]
    assert [e.name for e in registry.entries()] == ["a", "b", "c"]
    assert "b" in registry and "z" not in registry


def test_registries_by_kind() -> None:
    registries = Registries()
    assert registries.by_kind("methods") is registries.methods
    assert set(registries.all()) == set(Registries.KINDS)
    with pytest.raises(UnknownComponentError, match="available: methods, generators"):
        registries.by_kind("losses")
