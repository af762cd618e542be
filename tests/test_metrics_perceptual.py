"""lpips, fid and kid through their real code paths, with small networks built here (no downloads).

* Without weights (empty ``TORCH_HOME``) each metric is unavailable, names the missing file,
  and :func:`srbench.runner.evaluate.evaluate` stores ``None`` with the reason.
* LPIPS runs on a random-init torchvision AlexNet saved under the file name torchvision uses.
* FID/KID run a tiny feature extractor registered with torch-fidelity, as users would
  register their own; the distances themselves are checked against closed forms.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
import torch
import torch.nn.functional as F

from srbench.interfaces import MetricSample
from srbench.runner.evaluate import evaluate

torchvision = pytest.importorskip("torchvision")
pytest.importorskip("lpips")
torch_fidelity = pytest.importorskip("torch_fidelity")

from srbench_builtins import perceptual  # noqa: E402  (after the optional-package checks)
from srbench_builtins.perceptual.distances import frechet_distance, paired_kid  # noqa: E402
from srbench_builtins.perceptual.fid import PatchFid  # noqa: E402
from srbench_builtins.perceptual.kid import PatchKid  # noqa: E402
from srbench_builtins.perceptual.lpips_metric import Lpips, LpipsOptions  # noqa: E402
from srbench_builtins.perceptual.patch_fidelity import PatchFidelityOptions, aligned_patches  # noqa: E402
from srbench_builtins.perceptual.weights import (  # noqa: E402
    INCEPTION_WEIGHTS_ENV,
    LPIPS_WEIGHTS_ENV,
)

SCALE = 2
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
TINY_EXTRACTOR = "srbench-test-tiny-edges"


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _no_weight_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LPIPS_WEIGHTS_ENV, raising=False)
    monkeypatch.delenv(INCEPTION_WEIGHTS_ENV, raising=False)


@pytest.fixture
def empty_torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "torch-home"
    home.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def alexnet_files(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """``home``: a TORCH_HOME whose hub cache holds a random-init AlexNet under torchvision's file
    name; ``other``: the conv layers of another random AlexNet, as a second weights file."""
    home = tmp_path_factory.mktemp("torch-home-alexnet")
    checkpoints = home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(0)
    model = torchvision.models.alexnet()
    torch.save(model.state_dict(), checkpoints / ALEXNET_FILE)
    for layer in model.features:
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    other = home / "other-alexnet.pth"
    torch.save({f"features.{k}": v for k, v in model.features.state_dict().items()}, other)
    return SimpleNamespace(home=home, other=other)


def _photo_tiles(count: int = 3, side: int = 96) -> list[torch.Tensor]:
    skimage_data = pytest.importorskip("skimage.data")
    photo = torch.from_numpy(skimage_data.astronaut().copy()).permute(2, 0, 1)
    return [photo[:, 64 + 128 * i: 64 + 128 * i + side, 160: 160 + side].contiguous() for i in range(count)]


def _blur(img: torch.Tensor) -> torch.Tensor:
    """Bilinear x2 down and up: an SR output without its finest detail."""
    x = img[None].float()
    small = F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True, align_corners=False)
    up = F.interpolate(small, size=img.shape[-2:], mode="bilinear", align_corners=False)
    return up[0].clamp(0, 255).round().to(torch.uint8)


def _samples(hrs: list[torch.Tensor], srs: list[torch.Tensor]) -> list[MetricSample]:
    return [MetricSample(f"img{i}", sr, hr, hr[:, ::SCALE, ::SCALE].contiguous(), SCALE)
            for i, (sr, hr) in enumerate(zip(srs, hrs))]


class TinyEdgeFeatures(torch_fidelity.FeatureExtractorBase):
    """16 fixed zero-mean 3x3 filters; features = mean and std of |response| (32 numbers)."""

    calls = 0

    def __init__(self, name: str, features_list: list[str], **kwargs: Any) -> None:
        super().__init__(name, features_list)
        generator = torch.Generator().manual_seed(0)
        weight = torch.randn(16, 3, 3, 3, generator=generator)
        self.register_buffer("weight", weight - weight.mean(dim=(1, 2, 3), keepdim=True))

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return ("edges",)

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return "edges"

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, 32, 32, dtype=torch.uint8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        TinyEdgeFeatures.calls += 1
        response = F.conv2d(x.float() / 255.0, self.weight).abs().flatten(2)
        return (torch.cat([response.mean(dim=2), response.std(dim=2)], dim=1),)


@pytest.fixture(scope="module")
def tiny_extractor() -> Iterator[str]:
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    if TINY_EXTRACTOR not in FEATURE_EXTRACTORS_REGISTRY:
        torch_fidelity.register_feature_extractor(TINY_EXTRACTOR, TinyEdgeFeatures)
    yield TINY_EXTRACTOR


def _tiny_options(**overrides: Any) -> PatchFidelityOptions:
    values: dict[str, Any] = {"patch_size": 32, "feature_extractor": TINY_EXTRACTOR, "kid_subsets": 20, "device": "cpu"}
    values.update(overrides)
    return PatchFidelityOptions(**values)


# -- unavailable: no weights on disk ------------------------------------------------------------

@pytest.mark.parametrize(("metric", "missing_file"), [(Lpips(), ALEXNET_FILE), (PatchFid(), INCEPTION_FILE),
                                                      (PatchKid(), INCEPTION_FILE)])
def test_missing_weights_make_the_metric_unavailable(empty_torch_home: Path, metric: Any, missing_file: str) -> None:
    reason = metric.unavailable_reason()
    expected_path = empty_torch_home / "hub" / "checkpoints" / missing_file
    assert reason is not None and "\n" not in reason
    assert str(expected_path) in reason
    assert "https://" in reason and missing_file in reason.split("https://")[1]  # where to download it from
    assert list(empty_torch_home.iterdir()) == []  # nothing was downloaded or created


def test_evaluate_stores_none_and_the_reason(empty_torch_home: Path) -> None:
    hrs = _photo_tiles(2, 64)
    images = [SimpleNamespace(id=f"img{i}", hr=hr, lr=hr[:, ::SCALE, ::SCALE].contiguous()) for i, hr in enumerate(hrs)]
    metrics = {"lpips": Lpips(), "fid": PatchFid(), "kid": PatchKid()}
    result = evaluate(lambda x: F.interpolate(x, scale_factor=SCALE, mode="bicubic"), images, metrics,
                      scale=SCALE, degradation=None, device=torch.device("cpu"))
    assert result.mean == {"lpips": None, "fid": None, "kid": None}
    assert ALEXNET_FILE in result.unavailable["lpips"]
    assert INCEPTION_FILE in result.unavailable["fid"] and INCEPTION_FILE in result.unavailable["kid"]
    assert all(set(row) == {"id"} for row in result.per_image)  # no per-image number was made up


def test_explicit_weights_path_that_does_not_exist_is_named(empty_torch_home: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INCEPTION_WEIGHTS_ENV, str(empty_torch_home / "nope.pth"))
    reason = PatchFid().unavailable_reason()
    assert reason is not None and "nope.pth" in reason and INCEPTION_WEIGHTS_ENV in reason
    reason = Lpips(LpipsOptions(weights=str(empty_torch_home / "missing-alex.pth"))).unavailable_reason()
    assert reason is not None and "missing-alex.pth" in reason and "lpips.weights" in reason


def test_unknown_feature_extractor_is_unavailable_with_the_known_ones(empty_torch_home: Path) -> None:
    reason = PatchFid(PatchFidelityOptions(feature_extractor="no-such-net")).unavailable_reason()
    assert reason is not None and "no-such-net" in reason and "inception-v3-compat" in reason


def test_builtin_extractor_that_would_download_needs_a_weights_path(empty_torch_home: Path) -> None:
    reason = PatchKid(PatchFidelityOptions(feature_extractor="vgg16")).unavailable_reason()
    assert reason is not None and "kid.weights" in reason


# -- lpips with a random-init AlexNet ---------------------------------------------------------

def test_lpips_is_zero_for_identical_and_positive_for_different_images(alexnet_files: SimpleNamespace,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(alexnet_files.home))
    metric = Lpips(LpipsOptions(device="cpu"))
    assert metric.unavailable_reason() is None
    hr = _photo_tiles(1, 64)[0]
    same = metric.compute(_samples([hr], [hr.clone()])[0])
    different = metric.compute(_samples([hr], [_blur(hr)])[0])
    assert same == 0.0
    assert math.isfinite(different) and different > 0.0


def test_lpips_handles_grayscale(alexnet_files: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(alexnet_files.home))
    gray = _photo_tiles(1, 64)[0][:1]
    value = Lpips(LpipsOptions(device="cpu")).compute(_samples([gray], [_blur(gray)])[0])
    assert math.isfinite(value) and value > 0.0


def test_lpips_loads_the_trunk_from_the_file_it_is_given(alexnet_files: SimpleNamespace,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(alexnet_files.home))
    other_path = alexnet_files.other
    sample = _samples(_photo_tiles(1, 64), [_blur(t) for t in _photo_tiles(1, 64)])[0]
    default = Lpips(LpipsOptions(device="cpu")).compute(sample)
    by_option = Lpips(LpipsOptions(weights=str(other_path), device="cpu")).compute(sample)
    monkeypatch.setenv(LPIPS_WEIGHTS_ENV, str(other_path))
    by_env = Lpips(LpipsOptions(device="cpu")).compute(sample)
    assert by_option != default
    assert by_env == by_option


def test_lpips_with_a_file_that_is_not_alexnet_is_unavailable(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pth"
    torch.save({"features.0.weight": torch.zeros(2, 2)}, bogus)
    reason = Lpips(LpipsOptions(weights=str(bogus), device="cpu")).unavailable_reason()
    assert reason is not None and "bogus.pth" in reason and "\n" not in reason


# -- fid / kid with a tiny feature extractor --------------------------------------------------

def test_aligned_patches_take_the_same_positions_in_sr_and_hr() -> None:
    hr = torch.arange(3 * 70 * 100, dtype=torch.int64).reshape(3, 70, 100).remainder(256).to(torch.uint8)
    sr = 255 - hr
    sr_patches, hr_patches = aligned_patches(_samples([hr], [sr]), 32)
    assert sr_patches.shape == hr_patches.shape == (2 * 3, 3, 32, 32)  # 70x100 holds 2 x 3 tiles
    assert torch.equal(sr_patches, 255 - hr_patches)
    assert torch.equal(hr_patches[4], hr[:, 32:64, 32:64])  # row 1, column 1
    capped, _ = aligned_patches(_samples([hr], [sr]), 32, max_patches=3)
    assert capped.shape[0] == 3


def test_fid_and_kid_rank_blurred_patches_below_sharp_ones(tiny_extractor: str) -> None:
    hrs = _photo_tiles()
    identical = _samples(hrs, [h.clone() for h in hrs])
    blurred = _samples(hrs, [_blur(h) for h in hrs])
    options = _tiny_options()  # 3 images of 96 px -> 27 patches of 32 px, far below KID's default subset of 1000
    fid_same, per_image = PatchFid(options).compute_set(identical)
    fid_blur, _ = PatchFid(options).compute_set(blurred)
    kid_same, _ = PatchKid(options).compute_set(identical)
    kid_blur, _ = PatchKid(options).compute_set(blurred)
    assert per_image is None  # set-level
    assert fid_blur > 0.0 and abs(fid_same) < 1e-3 * fid_blur
    assert math.isfinite(kid_blur) and kid_blur > 0.0 and abs(kid_same) < 0.1 * kid_blur


def test_fid_then_kid_on_one_set_extracts_features_once(tiny_extractor: str) -> None:
    hrs = _photo_tiles()
    samples = _samples(hrs, [torch.flip(h, dims=(2,)) for h in hrs])  # a set no other test scores
    options = _tiny_options(batch_size=1000)
    TinyEdgeFeatures.calls = 0
    PatchFid(options).compute_set(samples)
    after_fid = TinyEdgeFeatures.calls
    PatchKid(options).compute_set(samples)
    assert after_fid == 2  # one batch of SR patches, one of HR patches
    assert TinyEdgeFeatures.calls == after_fid


def test_kid_subsets_below_the_number_of_pairs_are_drawn_and_averaged(tiny_extractor: str) -> None:
    hrs = _photo_tiles()
    blurred = _samples(hrs, [_blur(h) for h in hrs])
    whole = PatchKid(_tiny_options()).compute_set(blurred)[0]
    subsets = PatchKid(_tiny_options(kid_subset_size=10, kid_subsets=50)).compute_set(blurred)[0]
    assert subsets != whole and subsets > 0.0
    assert subsets == pytest.approx(whole, rel=0.5)  # both estimate the same MMD


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift() -> None:
    features = torch.randn(500, 8, generator=torch.Generator().manual_seed(0)).double().numpy()
    shift = torch.arange(8, dtype=torch.float64).numpy() / 4
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-9)
    # Same covariance: the trace terms cancel exactly and only |mu1 - mu2|^2 remains.
    assert frechet_distance(features, features + shift) == pytest.approx(float(shift @ shift), rel=1e-9)


def test_paired_kid_is_unbiased_where_the_independent_estimator_is_not() -> None:
    generator = torch.Generator().manual_seed(0)
    content = torch.randn(40, 16, generator=generator, dtype=torch.float64)
    # SR patch i = HR patch i + small error: the same distribution, strongly dependent pairs.
    hr = content.numpy()
    sr = (content + 0.05 * torch.randn(40, 16, generator=generator, dtype=torch.float64)).numpy()
    assert abs(paired_kid(hr, hr)) < 1e-12
    paired = paired_kid(sr, hr)
    from torch_fidelity.metric_kid import kernel_poly, mmd2

    kernel = {"kid_kernel_poly_degree": 3, "kid_kernel_poly_gamma": None, "kid_kernel_poly_coef0": 1}
    independent = mmd2(kernel_poly(sr, sr, **kernel), kernel_poly(sr, hr, **kernel), kernel_poly(hr, hr, **kernel))
    assert abs(paired) < 0.1 * abs(independent)  # the usual estimator sees a difference that is not there
    assert independent < 0.0
    far = (content + 1.0).numpy()
    assert paired_kid(far, hr) > 10 * abs(paired)


def test_too_few_patches_make_the_metric_unavailable(tiny_extractor: str) -> None:
    from srbench.errors import MetricUnavailableError

    hrs = _photo_tiles(1, 40)
    with pytest.raises(MetricUnavailableError, match="patch_size"):
        PatchFid(_tiny_options()).compute_set(_samples(hrs, [_blur(h) for h in hrs]))


# -- registration ---------------------------------------------------------------------------

def test_plugin_registers_lpips_fid_and_kid() -> None:
    from srbench.plugin_manager import load_plugins

    system = load_plugins(autoload=False, objects=[("test-perceptual", perceptual)])
    registry = system.registries.metrics
    assert {"lpips", "fid", "kid"} <= set(registry.names())
    assert isinstance(registry.create("kid"), PatchKid)
