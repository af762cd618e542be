"""The CUDA path: device choice, cuDNN/TF32 settings, pinned non-blocking batches, AMP training.

Tests that need a GPU skip with the reason on machines without one (this project's CI).
"""

from __future__ import annotations

import json

import pytest
import torch

from srbench.api import run
from srbench.config import RunConfig
from srbench.data.training_data import LROnlySet, PairedSet, TrainingData
from srbench.errors import UsageError
from srbench.plugin_manager import load_plugins
from srbench.results import TRIALS_DIR
from srbench.training.seeding import set_deterministic

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")


@pytest.fixture
def restore_backend_flags():
    saved = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)
    yield
    (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32,
     torch.backends.cuda.matmul.allow_tf32) = saved


@pytest.mark.parametrize("deterministic", [True, False])
def test_deterministic_option_sets_cudnn_and_tf32(restore_backend_flags, deterministic):
    set_deterministic(deterministic)
    assert torch.backends.cudnn.deterministic is deterministic
    assert torch.backends.cudnn.benchmark is not deterministic
    assert torch.backends.cudnn.allow_tf32 is not deterministic
    assert torch.backends.cuda.matmul.allow_tf32 is not deterministic


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    config = RunConfig(methods=["bicubic"], dataset="synthetic", profile="smoke", device="cuda", out=str(tmp_path))
    with pytest.raises(UsageError, match="--device 'cuda'|--device cuda"):
        run(config, plugins=load_plugins(), progress=False)


def _data(n: int = 8) -> TrainingData:
    g = torch.Generator().manual_seed(0)
    hr = torch.randint(0, 256, (n, 3, 16, 16), generator=g, dtype=torch.uint8)
    lr = hr[:, :, ::4, ::4].contiguous()
    return TrainingData(PairedSet({"lr": lr, "hr": hr}, ["x"] * n), LROnlySet({}, []), None, 4, None)  # type: ignore[arg-type]


@needs_cuda
def test_batches_reach_the_gpu_unchanged():
    cpu, gpu = _data(), _data()
    lr_c, hr_c = cpu.paired.batch(4)
    lr_g, hr_g = gpu.paired.batch(4, torch.device("cuda"))
    assert lr_g.is_cuda and hr_g.is_cuda and hr_g.dtype == torch.float32
    # Same crops and same 8-bit values; the float values may differ by one ulp, since CUDA divides by
    # a scalar through its reciprocal (seen on an H100: 1470 of 3072 values off by 6e-8).
    for gpu_batch, cpu_batch in ((hr_g, hr_c), (lr_g, lr_c)):
        torch.testing.assert_close(gpu_batch.cpu(), cpu_batch, rtol=2.0**-23, atol=0)
        assert torch.equal((gpu_batch.cpu() * 255).round(), (cpu_batch * 255).round())


@needs_cuda
@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "amp"])
def test_supervised_and_gan_trials_train_on_cuda(tmp_path, amp):
    config = RunConfig(methods=["srresnet", "srgan"], dataset="synthetic", profile="smoke", device="cuda", amp=amp,
                       deterministic=False, out=str(tmp_path), metrics=["psnr_y", "hf_ratio"])
    summary = run(config, plugins=load_plugins(), progress=False)
    assert summary.exit_code == 0, [r["reason"] for r in summary.results]
    for r in summary.results:
        assert r["device"].startswith("cuda")
        assert r["spec"]["amp"] is amp
        saved = json.loads((tmp_path / TRIALS_DIR / r["trial_id"] / "result.json").read_text())
        assert saved["metrics"]["synthetic"]["mean"]["psnr_y"] > 10


def _registered_methods() -> list[str]:
    return load_plugins().registries.methods.names()


@needs_cuda
@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "amp"])
def test_every_registered_method_trains_and_scores_on_cuda(tmp_path, amp):
    # hr_fraction 0.5 with the paired pool: every built-in method has what it needs (the ones that need an HR
    # pool or paired HR are incompatible at 0), so any status other than ok is a CUDA-path bug.
    methods = _registered_methods()
    config = RunConfig(methods=methods, dataset="synthetic", profile="smoke", device="cuda", amp=amp,
                       deterministic=False, hr_fraction=[0.5], hr_source="paired", out=str(tmp_path),
                       metrics=["psnr_y", "lr_psnr", "hf_ratio"])
    summary = run(config, plugins=load_plugins(), progress=False)
    by_method = {r["spec"]["method"]: r for r in summary.results}
    assert set(by_method) == set(methods)
    failed = {m: (r["status"], r["reason"]) for m, r in by_method.items() if r["status"] != "ok"}
    assert not failed
    for r in by_method.values():
        assert r["device"].startswith("cuda")
        mean = r["metrics"]["synthetic"]["mean"]
        assert all(torch.isfinite(torch.tensor(mean[k])) for k in ("psnr_y", "lr_psnr", "hf_ratio")), mean


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
def test_every_method_resumes_and_rescores_from_its_checkpoint_on_the_device(tmp_path, device):
    # Checkpoints load with map_location=device; RNG states (data crops, replay buffers, pairwise's pair draws)
    # must still reach torch's setters as CPU byte tensors. On an H200 (2026-12-04) re-scoring an unsupervised
    # trial on sr291/val from its CUDA checkpoint failed with "RNG state must be a torch.ByteTensor".
    methods = _registered_methods()
    config = dict(methods=methods, dataset="synthetic", profile="smoke", device=device, deterministic=False,
                  hr_fraction=[0.5], hr_source="paired", out=str(tmp_path), metrics=["psnr_y"])
    first = run(RunConfig(**config), plugins=load_plugins(), progress=False)
    scores = {r["trial_id"]: r["metrics"]["synthetic"]["mean"]["psnr_y"] for r in first.results if r["status"] == "ok"}
    assert len(scores) == len(methods)
    for trial_id in scores:  # a trial without its result resumes from its last checkpoint, loaded onto the device
        (tmp_path / TRIALS_DIR / trial_id / "result.json").unlink()
    resumed = run(RunConfig(**config), plugins=load_plugins(), progress=False)
    assert {r["trial_id"]: r["metrics"]["synthetic"]["mean"]["psnr_y"] for r in resumed.results} == scores
    trained = [r for r in resumed.results if r["training"]]  # bicubic has no training
    assert len(trained) >= len(methods) - 1 and all(r["training"]["resumed_from"] > 0 for r in trained)
    rescored = run(RunConfig(**config, eval_split="val"), plugins=load_plugins(), progress=False)
    assert rescored.exit_code == 0 and rescored.rescored == len(methods)
    assert all("synthetic/val" in r["metrics"] for r in rescored.results)
