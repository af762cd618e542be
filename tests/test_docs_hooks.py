"""The plugin docs stay true: every hook documented, every example a working plugin.

``docs/plugin_hooks.md`` has one ``## <hook>(<params>)`` section per hook of
``srbench/hookspecs.py``; the first ``python`` block of each section is loaded as a plugin and
what it registers is exercised. Code blocks of both plugin docs must compile, and the flags and
environment variables the tutorial mentions must exist.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from srbench import hookspecs
from srbench.errors import UsageError
from srbench.interfaces import Dataset, Degradation, Method, MethodContext, MetricSample
from srbench.plugin_manager import AUTOLOAD_ENV, PLUGINS_ENV, PluginSystem, load_plugins
from srbench.training.profiles import get_profile

DOCS = Path(__file__).resolve().parents[1] / "docs"
HOOKS_DOC = DOCS / "plugin_hooks.md"
TUTORIAL = DOCS / "writing_a_plugin.md"

_HOOK_HEADING = re.compile(r"^## (srbench_\w+)(.*)$", re.M)
_CODE_BLOCK = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.M | re.S)


def _hookspec_names() -> list[str]:
    return [name for name, obj in vars(hookspecs).items() if name.startswith("srbench_") and callable(obj)]


def _sections(text: str) -> dict[str, str]:
    """Hook name -> its section text (up to the next ``## `` heading)."""
    starts = [(m.group(1), m.start()) for m in _HOOK_HEADING.finditer(text)]
    ends = [m.start() for m in re.finditer(r"^## ", text, re.M)] + [len(text)]
    return {name: text[start:min(e for e in ends if e > start)] for name, start in starts}


def _code_blocks(text: str, language: str) -> list[str]:
    return [textwrap.dedent(m.group(3)) for m in _CODE_BLOCK.finditer(text) if m.group(2) == language]


# -- every hook documented, nothing documented that does not exist ---------------------------


def test_hookspecs_are_found() -> None:
    names = _hookspec_names()
    assert set(hookspecs.REGISTRATION_HOOKS) <= set(names)
    assert {"srbench_resolve_device", "srbench_trial_finished"} <= set(names)


def test_every_hook_has_a_section() -> None:
    documented = set(_sections(HOOKS_DOC.read_text()))
    missing = [name for name in _hookspec_names() if name not in documented]
    assert missing == [], f"hooks without a '## <hook>(...)' section in {HOOKS_DOC.name}: {missing}"


def test_every_documented_hook_exists() -> None:
    stale = sorted(set(_sections(HOOKS_DOC.read_text())) - set(_hookspec_names()))
    assert stale == [], f"{HOOKS_DOC.name} documents hooks that srbench/hookspecs.py no longer has: {stale}"


def test_headings_show_the_hook_parameters() -> None:
    text = HOOKS_DOC.read_text()
    for match in _HOOK_HEADING.finditer(text):
        name, rest = match.group(1), match.group(2)
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert rest == f"({params})", f"heading of {name}: expected '## {name}({params})', got '## {name}{rest}'"


def test_each_hook_is_documented_once_with_an_example() -> None:
    text = HOOKS_DOC.read_text()
    names = [m.group(1) for m in _HOOK_HEADING.finditer(text)]
    assert len(names) == len(set(names)), "a hook has two sections"
    for name, section in _sections(text).items():
        blocks = _code_blocks(section, "python")
        assert blocks, f"section {name} has no python example"
        assert f"def {name}(" in blocks[0] and "@hookimpl" in blocks[0], f"example of {name} does not implement it"


# -- every hook example works ----------------------------------------------------------------


def _load_example(code: str, name: str, monkeypatch: pytest.MonkeyPatch) -> PluginSystem:
    """Execute ``code`` as module ``name`` and load it, alone, as a plugin."""
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses and typing look the module up
    exec(compile(code, f"<{name}>", "exec"), module.__dict__)
    system = load_plugins(autoload=False, objects=[(name, module)])
    info = system.plugins[0]
    assert info.status == "loaded", f"{name}: {info.error}"
    return system


class _Halve(Degradation):
    def apply(self, hr: torch.Tensor, params: dict) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(hr, self.scale, ceil_mode=True)


def _check_method(factory: Any, system: PluginSystem) -> None:
    assert issubclass(factory, Method)
    context = MethodContext(scale=2, degradation=_Halve(2), device=torch.device("cpu"),
                            profile=get_profile("smoke"), registries=system.registries, seed=0)
    method = factory(factory.Options(), context)
    if not factory.trainable:
        assert method.super_resolve(torch.rand(1, 3, 6, 5)).shape == (1, 3, 12, 10)


def _check_generator(factory: Any, system: PluginSystem) -> None:
    for size in ("small", "full"):
        net = factory(2, channels=3, size=size)
        assert net(torch.rand(1, 3, 6, 5)).shape == (1, 3, 12, 10)
    with pytest.raises(ValueError):
        factory(7)


def _check_discriminator(factory: Any, system: PluginSystem) -> None:
    logits = factory(channels=3, size="small")(torch.rand(2, 3, 32, 32))
    assert logits.shape[0] == 2


def _check_adversarial_loss(factory: Any, system: PluginSystem) -> None:
    loss = factory()
    real, fake = torch.randn(4), torch.randn(4)
    for value in (loss.discriminator_loss(real, fake), loss.generator_loss(real, fake)):
        assert value.dim() == 0 and torch.isfinite(value)


def _check_degradation(factory: Any, system: PluginSystem) -> None:
    degradation = factory(2)
    hr = torch.rand(3, 3, 8, 7, requires_grad=True)
    params = degradation.sample_params(3, torch.Generator().manual_seed(0))
    assert params == {} or all(v.shape[0] == 3 for v in params.values())
    lr = degradation.apply(hr, params)
    assert lr.shape == (3, 3, *degradation.lr_size(8, 7))
    lr.sum().backward()  # differentiable with respect to the image
    assert hr.grad is not None
    again = degradation.sample_params(3, torch.Generator().manual_seed(0))
    assert all(torch.equal(params[k], again[k]) for k in params), "sample_params must only use its generator"


def _check_dataset(factory: Any, system: PluginSystem) -> None:
    dataset = factory(None)
    assert isinstance(dataset, Dataset)
    train, test, everything = dataset.images("train"), dataset.images("test"), dataset.images("all")
    assert train and test
    assert not {i.id for i in train} & {i.id for i in test}
    assert {i.id for i in everything} == {i.id for i in train} | {i.id for i in test}
    assert all(i.pixels.dtype == torch.uint8 and i.pixels.dim() == 3 for i in everything)
    with pytest.raises(UsageError):
        factory("not-a-count")


def _check_metric(factory: Any, system: PluginSystem) -> None:
    hr = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    sample = MetricSample("x", sr=hr.clone(), hr=hr, lr=hr[:, ::2, ::2], scale=2)
    assert isinstance(factory().compute(sample), float)


_REGISTRATION_CHECKS: dict[str, Callable[[Any, PluginSystem], None]] = {
    "methods": _check_method,
    "generators": _check_generator,
    "discriminators": _check_discriminator,
    "adversarial_losses": _check_adversarial_loss,
    "degradations": _check_degradation,
    "datasets": _check_dataset,
    "metrics": _check_metric,
}


def test_every_registration_kind_has_a_check() -> None:
    assert set(_REGISTRATION_CHECKS) == set(hookspecs.REGISTRATION_HOOKS.values())


@pytest.mark.parametrize("hook", list(hookspecs.REGISTRATION_HOOKS))
def test_registration_example_registers_a_working_component(hook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    section = _sections(HOOKS_DOC.read_text())[hook]
    system = _load_example(_code_blocks(section, "python")[0], f"doc_example_{hook}", monkeypatch)
    kind = hookspecs.REGISTRATION_HOOKS[hook]
    components = system.plugins[0].components
    assert components and all(k == kind for k, _ in components), components
    for _, name in components:
        entry = system.registries.by_kind(kind).get(name)
        assert entry.doc, f"{kind} {name!r} has no description"
        _REGISTRATION_CHECKS[kind](entry.factory, system)


def test_resolve_device_example(monkeypatch: pytest.MonkeyPatch) -> None:
    section = _sections(HOOKS_DOC.read_text())["srbench_resolve_device"]
    system = _load_example(_code_blocks(section, "python")[0], "doc_example_device", monkeypatch)
    assert system.hook.srbench_resolve_device(requested="cpu") is None  # leaves other values to others
    try:
        assert system.hook.srbench_resolve_device(requested="mps") == torch.device("mps")
    except UsageError as exc:
        assert "mps" in str(exc)


def test_trial_finished_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = _sections(HOOKS_DOC.read_text())["srbench_trial_finished"]
    system = _load_example(_code_blocks(section, "python")[0], "doc_example_finished", monkeypatch)
    trial_dir = tmp_path / "out" / "trials" / "t1"
    trial_dir.mkdir(parents=True)
    result = {"trial_id": "t1", "status": "ok", "metrics": {"Set5": {"mean": {"psnr_y": 30.5}}}}
    system.hook.srbench_trial_finished(result=result, trial_dir=trial_dir)
    rows = [json.loads(line) for line in (tmp_path / "out" / "finished.jsonl").read_text().splitlines()]
    assert rows == [{"trial": "t1", "status": "ok", "psnr_y": {"Set5": 30.5}}]


def test_log_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sections = _sections(HOOKS_DOC.read_text())
    settings_example = _load_example(_code_blocks(sections["srbench_log_settings"], "python")[0],
                                     "doc_example_log_settings", monkeypatch)
    target = str(tmp_path / "losses.csv")
    assert settings_example.hook.srbench_log_settings(settings={"csv": target}) == [
        {"csv": "append every loss-log row of every trial to this CSV file"}]
    with pytest.raises(UsageError, match="log.csv"):
        settings_example.hook.srbench_log_settings(settings={"csv": "losses.txt"})
    losses_example = _load_example(_code_blocks(sections["srbench_log_losses"], "python")[0],
                                   "doc_example_log_losses", monkeypatch)
    losses_example.hook.srbench_log_losses(trial_id="t1", step=10, losses={"l1": 0.5}, trial_dir=None, settings={})
    assert not (tmp_path / "losses.csv").exists()  # not asked for: nothing written
    losses_example.hook.srbench_log_losses(trial_id="t1", step=10, losses={"l1": 0.5, "adv": 0.25}, trial_dir=None,
                                           settings={"csv": target})
    assert (tmp_path / "losses.csv").read_text().splitlines() == ["t1,10,l1,0.5", "t1,10,adv,0.25"]


# -- the tutorial ----------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [HOOKS_DOC, TUTORIAL], ids=lambda p: p.name)
def test_python_blocks_compile(doc: Path) -> None:
    blocks = _code_blocks(doc.read_text(), "python")
    assert blocks
    for i, code in enumerate(blocks):
        compile(code, f"{doc.name}[python block {i}]", "exec")


def test_tutorial_plugin_works(monkeypatch: pytest.MonkeyPatch) -> None:
    [code] = [b for b in _code_blocks(TUTORIAL.read_text(), "python") if "@hookimpl" in b]
    system = _load_example(code, "srbench_myplugin", monkeypatch)
    entry = system.registries.methods.get("mymethod")
    _check_method(entry.factory, system)
    context = MethodContext(scale=2, degradation=_Halve(2), device=torch.device("cpu"),
                            profile=get_profile("smoke"), registries=system.registries, seed=0)
    lr = torch.rand(1, 3, 6, 6)
    plain = entry.factory(entry.factory.Options(amount=0.0), context).super_resolve(lr)
    bicubic = torch.nn.functional.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False)
    assert torch.allclose(plain, bicubic)
    sharpened = entry.factory(entry.factory.Options(amount=1.0), context).super_resolve(lr)
    assert not torch.allclose(sharpened, bicubic)


def test_tutorial_entry_point_matches_the_plugin_name() -> None:
    import tomllib

    [toml] = _code_blocks(TUTORIAL.read_text(), "toml")
    assert tomllib.loads(toml)["project"]["entry-points"]["srbench"] == {"myplugin": "srbench_myplugin"}


def _cli_flags() -> set[str]:
    import argparse

    from srbench.cli.main import build_parser

    flags: set[str] = set()
    parsers = [build_parser()]
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:  # argparse has no public walk over sub-commands
            flags.update(s for s in action.option_strings if s.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return flags


@pytest.mark.parametrize("doc", [HOOKS_DOC, TUTORIAL], ids=lambda p: p.name)
def test_flags_and_environment_variables_mentioned_exist(doc: Path) -> None:
    text = doc.read_text()
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
    unknown = sorted(flags - _cli_flags())
    assert unknown == [], f"{doc.name} mentions flags the CLI does not have: {unknown}"
    env = set(re.findall(r"\bSRBENCH_[A-Z_]+\b", text))
    assert env <= {AUTOLOAD_ENV, PLUGINS_ENV}, sorted(env - {AUTOLOAD_ENV, PLUGINS_ENV})
    if doc is TUTORIAL:
        assert {"--disable-plugin", "--no-autoload", "--plugin"} <= flags
        assert env == {AUTOLOAD_ENV, PLUGINS_ENV}
