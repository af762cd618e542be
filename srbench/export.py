"""Trained generators out of srbench: export a trial's network, load it back without the method.

An export is a folder with ``generator.safetensors`` (the weights; its metadata repeats the JSON)
and ``generator.json`` (the registered generator's name, options and scale, srbench's version,
the trial it came from). :func:`load_generator` rebuilds the network through the generator
registry, so the plugin that registered the generator must be installed where it is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import __version__
from .errors import UsageError
from .interfaces.method import Method
from .interfaces.networks import GeneratorSpec
from .plugin_manager import PluginSystem
from .result_record import read_record
from .results import RESULT_FILE, STATUS_OK, TRIALS_DIR, write_json_atomic
from .runner.evaluate import super_resolve_image

WEIGHTS_FILE = "generator.safetensors"
SPEC_FILE = "generator.json"
#: Written as ``format``; a loader refuses files of another format (or a newer version).
FORMAT = "srbench-generator"
FORMAT_VERSION = 1
#: Side of the random LR image the export runs through the method and the rebuilt network (bit-equal or refused).
_CHECK_SIDE = 16


class ExportedGenerator(nn.Module):
    """A generator loaded from an export: ``model(lr)`` maps ``(B, C, h, w)`` in ``[0, 1]`` to ``(B, C, h*s, w*s)``.

    :ivar spec: the registered generator it is.
    :ivar info: the export's JSON record (trial id, method, versions).
    """

    def __init__(self, generator: nn.Module, spec: GeneratorSpec, info: dict[str, Any]) -> None:
        super().__init__()
        self.generator = generator
        self.spec = spec
        self.info = info

    @property
    def scale(self) -> int:
        return self.spec.scale

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self.generator(lr)

    def upscale(self, image: torch.Tensor) -> torch.Tensor:
        """One ``uint8`` ``(C, h, w)`` image (C = 1 or 3) to ``uint8`` ``(C, h*s, w*s)``: srbench's own
        inference route (grayscale as three equal channels, output clamped and rounded)."""
        device = next(self.generator.parameters(), torch.empty(0)).device
        return super_resolve_image(self.generator, image, device, self.scale)


def resolve_trial(trial: str | Path, out: str | Path) -> Path:
    """A trial folder from a path, or from an id (or a unique prefix of one) under ``OUT/trials``."""
    path = Path(trial)
    if (path / RESULT_FILE).is_file():
        return path
    trials = Path(out) / TRIALS_DIR
    matches = sorted(p for p in trials.glob(f"{trial}*") if (p / RESULT_FILE).is_file()) if trials.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"trial {trial!r}: matches {len(matches)} trials in {trials} "
                         f"({', '.join(p.name for p in matches[:3])}, ...); give more of the id")
    raise UsageError(f"trial {trial!r}: neither a trial folder (with {RESULT_FILE}) nor a trial id in {trials} "
                     "(see --out)")


def export_trial(trial: str | Path, to: str | Path | None = None, *, out: str | Path = "srbench-out",
                 plugins: PluginSystem) -> Path:
    """Export a finished trial's generator; returns the export folder (default ``TRIAL/export``).

    :raises UsageError: when the trial did not finish ``ok``, or its method has no
        :meth:`~srbench.interfaces.Method.export_spec`, or the rebuilt network's output differs from the method's.
    """
    from safetensors.torch import save_model

    from .runner.eval_checkpoint import load_trial_method

    folder = resolve_trial(trial, out)
    record = read_record(folder / RESULT_FILE)
    if record is None or not record.method:
        raise UsageError(f"trial {folder.name}: its {RESULT_FILE} is unreadable or has no spec")
    if record.status != STATUS_OK:
        raise UsageError(f"trial {folder.name}: status {record.status!r}; only a trial that finished 'ok' "
                         "can be exported")
    name = record.method
    cls = plugins.registries.methods.get(name).factory
    refusal = (f"trial {folder.name}: method {name!r} does not name a registered generator that its super_resolve "
               "is (export_spec gives none), so it cannot be exported")
    if not cls.trainable or cls.export_spec is Method.export_spec:
        raise UsageError(refusal)
    method, _, result = load_trial_method(folder, device="cpu", plugins=plugins)
    spec = method.export_spec()  # None with some options (srgan's progressive growing)
    if spec is None:
        raise UsageError(refusal)
    generator = spec.build(plugins.registries)
    generator.load_state_dict(method.modules()[spec.module].state_dict())
    generator.eval()
    _check_same_output(method, generator, spec, name)
    entry = plugins.registries.generators.get(spec.name)
    info = {"format": FORMAT, "format_version": FORMAT_VERSION, **spec.to_dict(), "srbench": __version__,
            "plugin": entry.plugin, "plugin_version": entry.version, "trial_id": result.trial_id or folder.name,
            "method": name, "method_options": result.spec.get("method_options") or {},
            "weights": WEIGHTS_FILE}
    dest = Path(to) if to is not None else folder / "export"
    dest.mkdir(parents=True, exist_ok=True)
    save_model(generator, str(dest / WEIGHTS_FILE), metadata={"srbench": json.dumps(info)})
    write_json_atomic(dest / SPEC_FILE, info)
    return dest


def _check_same_output(method: Any, generator: nn.Module, spec: GeneratorSpec, name: str) -> None:
    """Refuse an export whose network does not reproduce ``super_resolve`` to the last bit."""
    x = torch.rand(1, spec.channels, _CHECK_SIDE, _CHECK_SIDE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        same = torch.equal(method.super_resolve(x), generator(x))
    if not same:
        raise UsageError(f"method {name!r}: its super_resolve is not the generator {spec.name!r} alone "
                         "(export_spec is wrong), so the export would not reproduce it; nothing written")


def _read_info(path: Path) -> tuple[dict[str, Any], Path]:
    if path.is_dir():
        path = path / SPEC_FILE
    if path.suffix == ".safetensors" and path.is_file():
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = (f.metadata() or {}).get("srbench")
        if meta is None:
            raise UsageError(f"--model {path}: a safetensors file without srbench's metadata; export it with "
                             "'srbench export'")
        return json.loads(meta), path
    if not path.is_file():
        raise UsageError(f"--model {path}: no such export; expected a folder written by 'srbench export', its "
                         f"{SPEC_FILE} or its {WEIGHTS_FILE}")
    try:
        info = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--model {path}: not an srbench export ({exc})") from None
    return info, path.parent / str(info.get("weights", WEIGHTS_FILE))


def load_generator(path: str | Path, *, device: str | torch.device = "cpu",
                   plugins: PluginSystem | None = None) -> ExportedGenerator:
    """Load an export written by ``srbench export`` (its folder, JSON or safetensors file), in eval mode.

    :param plugins: where the generator's factory comes from (default: every installed plugin).
    """
    from safetensors.torch import load_model

    from .plugin_manager import get_plugin_system

    info, weights = _read_info(Path(path))
    if info.get("format") != FORMAT or int(info.get("format_version", 0)) > FORMAT_VERSION:
        raise UsageError(f"--model {path}: format {info.get('format')!r} version {info.get('format_version')!r}; "
                         f"this srbench reads {FORMAT!r} up to version {FORMAT_VERSION}")
    if not weights.is_file():
        raise UsageError(f"--model {path}: its weights {weights} are missing")
    system = plugins or get_plugin_system()
    if info.get("name") not in system.registries.generators:
        raise UsageError(f"--model {path}: generator {info.get('name')!r} is not registered here; install the plugin "
                         f"{info.get('plugin')!r} (version {info.get('plugin_version')!r}) that registered it")
    fields = ("name", "scale", "channels", "size", "options", "module")
    missing = [k for k in fields if k not in info]
    if missing:
        raise UsageError(f"--model {path}: its record lacks {', '.join(missing)}; export the trial again")
    spec = GeneratorSpec(**{k: info[k] for k in fields})
    generator = spec.build(system.registries)
    load_model(generator, str(weights), strict=True)
    model = ExportedGenerator(generator, spec, info).to(device)
    return model.eval()
