"""``srbench export`` / ``srbench upscale`` / ``srbench.api.load_generator``: a trained generator outside srbench.

The bar: the exported network's uint8 outputs equal ``srbench eval --checkpoint``'s to the last bit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from srbench.api import load_generator, run
from srbench.cli.main import main
from srbench.config import RunConfig
from srbench.data.datasets import open_dataset
from srbench.data.pipeline import build_test_set
from srbench.errors import UsageError
from srbench.export import SPEC_FILE, WEIGHTS_FILE, _check_same_output
from srbench.interfaces import GeneratorSpec
from srbench.plugin_manager import load_plugins
from srbench.runner.eval_checkpoint import load_trial_method
from srbench.runner.evaluate import super_resolve_image

SCALE = 2


def one_line_error(code: int, err: str, *fragments: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smoke srresnet trial (x2, synthetic data) and its export."""
    out = tmp_path_factory.mktemp("run")
    summary = run(RunConfig(methods=["srresnet", "bicubic"], dataset="synthetic", profile="smoke", hr_fraction=[1.0],
                            scale=SCALE, out=str(out), metrics=["psnr_y"]), progress=False)
    assert [r["status"] for r in summary.results] == ["ok", "ok"]
    return out


def trial_dir(out: Path, method: str) -> Path:
    return next((out / "trials").glob(f"{method}-*"))


@pytest.fixture(scope="module")
def exported(trained: Path) -> Path:
    # by id prefix under --out, as a user types it
    assert main(["export", trial_dir(trained, "srresnet").name[:12], "--out", str(trained)]) == 0
    return trial_dir(trained, "srresnet") / "export"


def write_png(array: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(array).save(path)
    return path


def read_png(path: Path) -> torch.Tensor:
    arr = np.array(PILImage.open(path))
    return torch.from_numpy(arr[..., None] if arr.ndim == 2 else arr).permute(2, 0, 1).contiguous()


def test_export_writes_weights_and_spec(exported: Path, trained: Path) -> None:
    info = json.loads((exported / SPEC_FILE).read_text())
    assert (exported / WEIGHTS_FILE).is_file()
    assert info["scale"] == SCALE and info["method"] == "srresnet"
    assert info["trial_id"] == trial_dir(trained, "srresnet").name
    result = json.loads((trial_dir(trained, "srresnet") / "result.json").read_text())
    assert info["name"] == result["spec"]["method_options"]["generator"]


def test_upscale_equals_eval_checkpoint_to_the_last_bit(exported: Path, trained: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # The test split's LR images, as srbench eval makes them, written as PNG files
    system = load_plugins()
    method, runner, _ = load_trial_method(trial_dir(trained, "srresnet"), device="cpu", plugins=system)
    images = build_test_set(open_dataset("synthetic", system.registries).images("test"),
                            degradation=runner.degradation, seed=0, max_side=0)
    for img in images:
        write_png(img.lr.permute(1, 2, 0).numpy(), tmp_path / "lr" / f"{img.id}.png")
    # odd sizes, grayscale, a nested folder: the same route as eval's
    rng = np.random.default_rng(0)
    write_png(rng.integers(0, 256, (13, 17), dtype=np.uint8), tmp_path / "lr" / "sub" / "gray.png")
    write_png(rng.integers(0, 256, (11, 9, 3), dtype=np.uint8), tmp_path / "lr" / "sub" / "odd.png")

    assert main(["upscale", "--model", str(exported), str(tmp_path / "lr"), str(tmp_path / "sr"),
                 "--device", "cpu", "--no-progress"]) == 0
    outputs = sorted(p.relative_to(tmp_path / "sr").as_posix() for p in (tmp_path / "sr").rglob("*.png"))
    assert outputs == sorted([f"{img.id}.png" for img in images] + ["sub/gray.png", "sub/odd.png"])
    for path in (tmp_path / "lr").rglob("*.png"):
        lr = read_png(path)
        expected = super_resolve_image(method.super_resolve, lr, torch.device("cpu"), SCALE)
        got = read_png(tmp_path / "sr" / path.relative_to(tmp_path / "lr"))
        assert got.shape == expected.shape and torch.equal(got, expected), path.name

    # and what 'srbench eval --checkpoint' reports, per image, from the upscaled files
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(trial_dir(trained, "srresnet")), "--dataset", "synthetic", "--scale",
                 str(SCALE), "--metrics", "psnr_y", "--device", "cpu", "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    metric = system.registries.metrics.create("psnr_y")
    from srbench.interfaces import MetricSample

    samples = [MetricSample(img.id, read_png(tmp_path / "sr" / f"{img.id}.png"), img.hr, img.lr, SCALE,
                            runner.degradation) for img in images]
    _, per_image = metric.compute_set(samples)
    assert [row["psnr_y"] for row in res["per_image"]] == [float(v) for v in per_image]


def test_load_generator_in_a_notebook(exported: Path, trained: Path) -> None:
    model = load_generator(exported / WEIGHTS_FILE)  # the safetensors file alone carries the spec
    assert not model.training and model.scale == SCALE
    method, _, _ = load_trial_method(trial_dir(trained, "srresnet"), device="cpu", plugins=load_plugins())
    x = torch.rand(2, 3, 10, 14, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(x), method.super_resolve(x))
    assert tuple(load_generator(exported)(x).shape) == (2, 3, 20, 28)


def test_a_method_without_export_spec_is_refused(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", str(trial_dir(trained, "bicubic"))])
    one_line_error(code, capsys.readouterr().err, "'bicubic'", "export_spec")


def test_a_wrong_export_spec_is_refused() -> None:
    class Doubling:  # super_resolve does more than the network
        def super_resolve(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * net(x)

    spec = GeneratorSpec("srresnet_resize", SCALE)
    net = spec.build(load_plugins().registries).eval()
    with pytest.raises(UsageError, match="not the generator"):
        _check_same_output(Doubling(), net, spec, "doubling")


def test_bad_paths_are_one_line_errors(exported: Path, trained: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["upscale", "--model", str(exported), str(tmp_path / "missing.png"), str(tmp_path / "o.png")],
         ("missing.png", "no such file")),
        (["upscale", "--model", str(tmp_path / "nomodel"), str(tmp_path), str(tmp_path / "o")], ("nomodel",)),
        (["upscale", "--model", str(exported), str(tmp_path), str(tmp_path / "o")], ("no image files",)),
        (["export", "nosuchtrial", "--out", str(trained)], ("nosuchtrial",)),
    ]
    for argv, fragments in cases:
        code = main(argv)
        one_line_error(code, capsys.readouterr().err, *fragments)
    good = write_png(np.zeros((8, 8, 3), dtype=np.uint8), tmp_path / "in" / "good.png")
    code = main(["upscale", "--model", str(exported), str(good), str(tmp_path / "out.txt"), "--device", "cpu"])
    one_line_error(code, capsys.readouterr().err, "out.txt", ".png")
    # an OUT without an extension is a folder
    assert main(["upscale", "--model", str(exported), str(good), str(tmp_path / "outdir"), "--device", "cpu"]) == 0
    assert read_png(tmp_path / "outdir" / "good.png").shape == (3, 16, 16)
    capsys.readouterr()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    code = main(["upscale", "--model", str(exported), str(bad), str(tmp_path / "o.png"), "--device", "cpu"])
    one_line_error(code, capsys.readouterr().err, "bad.png")
