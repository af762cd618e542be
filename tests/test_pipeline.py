"""The data pipeline: patch alignment, reproducibility, cache, errors, HR sources, test sets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from srbench.data.pipeline import build_test_set, build_training_data, derive_seed
from srbench.data.split import split_by_hr_fraction
from srbench.data.training_data import HRPool, LROnlySet, PairedSet
from srbench.errors import DataError, UsageError
from srbench.interfaces import Degradation, Image
from srbench.training.profiles import PROFILES

PROFILE = PROFILES["smoke"].with_overrides(patch_size=16, patches_per_image=5)


class AvgPool(Degradation):
    """Local-only degradation: each LR pixel is the mean of its scale x scale HR block."""

    calls = 0

    def apply(self, hr: torch.Tensor, params: dict) -> torch.Tensor:
        AvgPool.calls += 1
        return F.avg_pool2d(hr, self.scale)


class NoisyPool(Degradation):
    """Random degradation: average pooling plus noise of a per-image random strength."""

    random = True

    def sample_params(self, batch_size: int, generator: torch.Generator | None = None) -> dict:
        return {"sigma": torch.rand(batch_size, generator=generator) * 0.05,
                "seed": torch.randint(0, 2**31 - 1, (batch_size,), generator=generator)}

    def apply(self, hr: torch.Tensor, params: dict) -> torch.Tensor:
        lr = F.avg_pool2d(hr, self.scale)
        g = torch.Generator().manual_seed(int(params["seed"][0]))
        return lr + params["sigma"].view(-1, 1, 1, 1) * torch.randn(lr.shape, generator=g)


def _images(n: int = 8, size: int = 34, seed: int = 0, gray_every: int = 0) -> list[Image]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        c = 1 if gray_every and i % gray_every == 0 else 3
        out.append(Image(f"im{i}", torch.randint(0, 256, (c, size, size + i), generator=g, dtype=torch.uint8)))
    return out


def _quant(x: torch.Tensor) -> torch.Tensor:
    return torch.floor(x.clamp(0, 1) * 255 + 0.5).to(torch.uint8)


def test_shapes_types_and_subsets() -> None:
    imgs = _images()
    data, manifest = build_training_data(imgs, degradation=AvgPool(2), hr_fraction=0.25, seed=1, profile=PROFILE)
    assert isinstance(data.paired, PairedSet) and isinstance(data.lr_only, LROnlySet)
    assert isinstance(data.hr_pool, HRPool)
    assert data.scale == 2
    assert len(manifest.paired_ids) == 2 and len(manifest.lr_only_ids) == 6
    assert tuple(data.paired.tensors["hr"].shape) == (10, 3, 16, 16)
    assert tuple(data.paired.tensors["lr"].shape) == (10, 3, 8, 8)
    assert tuple(data.lr_only.tensors["lr"].shape) == (30, 3, 8, 8)
    assert data.paired.tensors["hr"].dtype == torch.uint8
    assert data.paired.image_ids == list(manifest.paired_ids)
    assert data.lr_only.image_ids == [f"lr-only-{k:05d}" for k in range(len(manifest.lr_only_ids))]  # opaque
    assert len(data.paired.images["hr"]) == 2 and len(data.lr_only.images["lr"]) == 6
    # Whole images are modcropped: widths 34+i cropped to even numbers.
    for hr, lr in zip(data.paired.images["hr"], data.paired.images["lr"]):
        assert hr.shape[1] % 2 == 0 and hr.shape[2] % 2 == 0
        assert tuple(lr.shape[1:]) == (hr.shape[1] // 2, hr.shape[2] // 2)
    lr, hr = data.paired.batch(4)
    assert lr.shape == (4, 3, 8, 8) and hr.shape == (4, 3, 16, 16) and lr.dtype == torch.float32


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_patches_are_aligned(scale: int) -> None:
    profile = PROFILE.with_overrides(patch_size=4 * scale * 2)
    imgs = _images(4, size=40)
    data, _ = build_training_data(imgs, degradation=AvgPool(scale), hr_fraction=1.0, seed=3, profile=profile)
    hr, lr = data.paired.tensors["hr"], data.paired.tensors["lr"]
    expected = _quant(F.avg_pool2d(hr.float() / 255, scale))
    assert torch.equal(expected, lr)
    # And each patch really is a crop of its image's whole HR/LR at a scale-aligned position.
    for k in range(len(data.paired)):
        idx = data.paired.image_ids.index(data.paired.ids[k])
        whole_lr = data.paired.images["lr"][idx]
        windows = whole_lr.unfold(1, lr.shape[2], 1).unfold(2, lr.shape[3], 1)  # (C, y, x, p, p)
        hits = (windows == lr[k][:, None, None]).flatten(3).all(-1).all(0).nonzero()
        assert len(hits) >= 1
        y, x = hits[0].tolist()
        assert torch.equal(data.paired.images["hr"][idx][:, y * scale:(y + lr.shape[2]) * scale,
                                                         x * scale:(x + lr.shape[3]) * scale], hr[k])


def test_reproducible_from_seed_and_seed_matters() -> None:
    imgs = _images()
    kw = dict(degradation=NoisyPool(2), hr_fraction=0.5, profile=PROFILE)
    a, ma = build_training_data(imgs, seed=7, **kw)
    b, mb = build_training_data(imgs, seed=7, **kw)
    c, mc = build_training_data(imgs, seed=8, **kw)
    assert ma == mb
    for key in ("lr", "hr"):
        assert torch.equal(a.paired.tensors[key], b.paired.tensors[key])
    assert torch.equal(a.lr_only.tensors["lr"], b.lr_only.tensors["lr"])
    assert all(torch.equal(x, y) for x, y in zip(a.paired.batch(6), b.paired.batch(6)))
    assert torch.equal(a.all_lr(5), b.all_lr(5))
    assert not torch.equal(a.lr_only.batch(6), c.lr_only.batch(6))


def test_lr_of_an_image_does_not_depend_on_the_fraction() -> None:
    imgs = _images()
    quarter, m = build_training_data(imgs, degradation=NoisyPool(2), hr_fraction=0.25, seed=4, profile=PROFILE)
    full, _ = build_training_data(imgs, degradation=NoisyPool(2), hr_fraction=1.0, seed=4, profile=PROFILE)
    lr_full = dict(zip(full.paired.image_ids, full.paired.images["lr"]))
    assert quarter.lr_only.image_ids == [f"lr-only-{k:05d}" for k in range(len(m.lr_only_ids))]  # opaque
    for image_id, lr in zip(m.lr_only_ids, quarter.lr_only.images["lr"]):
        assert torch.equal(lr, lr_full[image_id])


def test_batch_generators_are_independent_and_checkpointable() -> None:
    data, _ = build_training_data(_images(), degradation=AvgPool(2), hr_fraction=0.5, seed=0, profile=PROFILE)
    gens = {id(data.paired.generator), id(data.lr_only.generator), id(data.hr_pool.generator)}
    assert len(gens) == 3
    state = data.rng_state()
    first = data.paired.batch(4)
    data.hr_pool.batch(4)
    data.load_rng_state(state)
    again = data.paired.batch(4)
    assert all(torch.equal(x, y) for x, y in zip(first, again))


def test_grayscale_training_images_become_three_channels() -> None:
    imgs = _images(6, gray_every=2)
    data, _ = build_training_data(imgs, degradation=AvgPool(2), hr_fraction=0.5, seed=0, profile=PROFILE)
    assert data.paired.tensors["hr"].shape[1] == 3 and data.lr_only.tensors["lr"].shape[1] == 3
    gray_hr = [h for h in data.paired.images["hr"] if torch.equal(h[0], h[1]) and torch.equal(h[1], h[2])]
    assert gray_hr  # at least one replicated grayscale image among the paired


def test_cache_hit_returns_identical_tensors(tmp_path: Path) -> None:
    imgs = _images()
    kw = dict(degradation=AvgPool(2), hr_fraction=0.25, seed=2, profile=PROFILE, cache_dir=tmp_path)
    a, ma = build_training_data(imgs, **kw)
    files = list(tmp_path.glob("*.pt"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    calls = AvgPool.calls
    b, mb = build_training_data(imgs, **kw)
    assert AvgPool.calls == calls  # nothing degraded again: served from the cache
    assert ma == mb
    for attr in ("paired", "lr_only", "hr_pool"):
        sa, sb = getattr(a, attr), getattr(b, attr)
        assert sa.ids == sb.ids
        assert sa.tensors.keys() == sb.tensors.keys()
        assert all(torch.equal(sa.tensors[k], sb.tensors[k]) for k in sa.tensors)
        assert all(torch.equal(x, y) for k in sa.images for x, y in zip(sa.images[k], sb.images[k]))
    assert torch.equal(a.lr_only.batch(3), b.lr_only.batch(3))
    # A different seed, fraction or image content is a different entry.
    build_training_data(imgs, **{**kw, "seed": 3})
    build_training_data(imgs, **{**kw, "hr_fraction": 0.5})
    changed = [Image(i.id, i.pixels.clone()) for i in imgs]
    changed[0].pixels[0, 0, 0] ^= 1
    build_training_data(changed, **kw)
    assert len(list(tmp_path.glob("*.pt"))) == 4


def test_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    imgs = _images()
    kw = dict(degradation=AvgPool(2), hr_fraction=0.5, seed=2, profile=PROFILE, cache_dir=tmp_path)
    a, _ = build_training_data(imgs, **kw)
    (path,) = tmp_path.glob("*.pt")
    path.write_bytes(b"truncated")
    b, _ = build_training_data(imgs, **kw)
    assert torch.equal(a.paired.tensors["hr"], b.paired.tensors["hr"])
    assert path.stat().st_size > 100


def test_image_smaller_than_patch_is_a_data_error() -> None:
    imgs = _images(3) + [Image("tiny", torch.zeros(3, 10, 40, dtype=torch.uint8))]
    with pytest.raises(DataError) as exc:
        build_training_data(imgs, degradation=AvgPool(2), hr_fraction=0.5, seed=0, profile=PROFILE)
    msg = str(exc.value)
    assert "'tiny'" in msg and "40x10" in msg and "16-px" in msg and "patch_size" in msg and "\n" not in msg


def test_patch_size_must_be_a_multiple_of_scale() -> None:
    with pytest.raises(UsageError, match="patch_size 16"):
        build_training_data(_images(), degradation=AvgPool(3), hr_fraction=0.5, seed=0, profile=PROFILE)


def test_duplicate_ids_rejected() -> None:
    imgs = _images(3)
    with pytest.raises(DataError, match="'im0'"):
        build_training_data(imgs + [imgs[0]], degradation=AvgPool(2), hr_fraction=0.5, seed=0, profile=PROFILE)


def test_hr_source_paired_none_and_list() -> None:
    imgs = _images()
    paired, _ = build_training_data(imgs, degradation=AvgPool(2), hr_fraction=0.5, seed=0, profile=PROFILE)
    assert torch.equal(paired.hr_pool.tensors["hr"], paired.paired.tensors["hr"])
    assert paired.hr_pool.ids == paired.paired.ids
    assert paired.hr_pool.generator is not paired.paired.generator

    none, _ = build_training_data(imgs, degradation=AvgPool(2), hr_fraction=0.5, seed=0, profile=PROFILE,
                                  hr_source="none")
    assert none.hr_pool is None

    other = [Image(f"other{i}", img.pixels) for i, img in enumerate(_images(3, size=20, seed=9))]
    listed, _ = build_training_data(imgs, degradation=AvgPool(2), hr_fraction=0.5, seed=0, profile=PROFILE,
                                    hr_source=other)
    assert listed.hr_pool.image_ids == ["other0", "other1", "other2"]
    assert tuple(listed.hr_pool.tensors["hr"].shape) == (15, 3, 16, 16)
    assert listed.hr_pool.tensors.keys() == {"hr"} and len(listed.hr_pool.images["hr"]) == 3
    assert listed.hr_pool.batch(2).shape == (2, 3, 16, 16)

    with pytest.raises(UsageError, match="'bogus'"):
        build_training_data(imgs, degradation=AvgPool(2), hr_fraction=0.5, seed=0, profile=PROFILE,
                            hr_source="bogus")
    with pytest.raises(DataError, match="HR source image 'small'"):
        build_training_data(imgs, degradation=AvgPool(2), hr_fraction=0.5, seed=0, profile=PROFILE,
                            hr_source=[Image("small", torch.zeros(3, 8, 8, dtype=torch.uint8))])


def test_fraction_zero_and_one() -> None:
    imgs = _images()
    zero, m0 = build_training_data(imgs, degradation=AvgPool(2), hr_fraction=0.0, seed=0, profile=PROFILE)
    assert len(zero.paired) == 0 and zero.hr_pool is None and len(zero.lr_only) == 40
    assert tuple(zero.paired.tensors["hr"].shape) == (0, 3, 16, 16)
    assert zero.all_lr(4).shape == (4, 3, 8, 8)
    one, m1 = build_training_data(imgs, degradation=AvgPool(2), hr_fraction=1.0, seed=0, profile=PROFILE)
    assert len(one.lr_only) == 0 and len(one.paired) == 40
    assert m0.paired_ids == () and m1.lr_only_ids == ()


def test_split_matches_split_function() -> None:
    imgs = _images(20)
    _, manifest = build_training_data(imgs, degradation=AvgPool(2), hr_fraction=0.25, seed=11, profile=PROFILE)
    assert manifest == split_by_hr_fraction([i.id for i in imgs], 0.25, 11)


def test_derive_seed_is_stable_and_label_dependent() -> None:
    assert derive_seed(1, "lr", "a") == derive_seed(1, "lr", "a")
    assert len({derive_seed(1, "lr", "a"), derive_seed(2, "lr", "a"), derive_seed(1, "lr", "b"),
                derive_seed(1, "crop", "a")}) == 4
    assert 0 <= derive_seed(5, "x") < 2**63


# -- test sets ----------------------------------------------------------------------------------

def test_build_test_set_modcrop_lr_and_channels() -> None:
    imgs = [Image("rgb", torch.randint(0, 256, (3, 37, 50), dtype=torch.uint8)),
            Image("gray", torch.randint(0, 256, (1, 41, 30), dtype=torch.uint8))]
    tests = build_test_set(imgs, degradation=AvgPool(4), seed=0)
    assert [t.id for t in tests] == ["rgb", "gray"]
    rgb, gray = tests
    assert tuple(rgb.hr.shape) == (3, 36, 48) and tuple(rgb.lr.shape) == (3, 9, 12) and not rgb.grayscale
    assert tuple(gray.hr.shape) == (1, 40, 28) and tuple(gray.lr.shape) == (1, 10, 7) and gray.grayscale
    assert torch.equal(rgb.hr, imgs[0].pixels[:, :36, :48])
    assert torch.equal(rgb.lr, _quant(F.avg_pool2d(rgb.hr[None].float() / 255, 4))[0])
    assert rgb.hr.data_ptr() != imgs[0].pixels.data_ptr()


def test_build_test_set_centre_crop_and_reproducible() -> None:
    img = Image("big", torch.randint(0, 256, (3, 100, 70), dtype=torch.uint8))
    (t,) = build_test_set([img], degradation=NoisyPool(4), seed=3, max_side=50)
    assert tuple(t.hr.shape) == (3, 48, 48)
    assert torch.equal(t.hr, img.pixels[:, 26:74, 10:58])  # modcrop to 100x68, then centre
    (t2,) = build_test_set([img], degradation=NoisyPool(4), seed=3, max_side=50)
    (t3,) = build_test_set([img], degradation=NoisyPool(4), seed=4, max_side=50)
    assert torch.equal(t.lr, t2.lr) and not torch.equal(t.lr, t3.lr)
    (whole,) = build_test_set([img], degradation=AvgPool(4), seed=3, max_side=0)
    assert tuple(whole.hr.shape) == (3, 100, 68)
    with pytest.raises(DataError, match="'dot'"):
        build_test_set([Image("dot", torch.zeros(3, 2, 2, dtype=torch.uint8))], degradation=AvgPool(4), seed=0)


def test_with_the_registered_bicubic_degradation() -> None:
    from srbench.ops.imresize import imresize
    from srbench.plugin_manager import load_plugins

    registries = load_plugins().registries
    if "bicubic" not in registries.degradations:
        pytest.skip("the bicubic degradation plugin is not available")
    bicubic = registries.degradations.create("bicubic", 4)
    images = [Image(f"im{i}", img.pixels) for i, img in enumerate(_images(3, size=50))]
    data, _ = build_training_data(images, degradation=bicubic, hr_fraction=1.0, seed=0,
                                  profile=PROFILE.with_overrides(patch_size=24))
    for hr, lr in zip(data.paired.images["hr"], data.paired.images["lr"]):
        expected = _quant(imresize(hr[None].float() / 255, scale=0.25))[0]
        assert torch.equal(lr, expected)
    (t,) = build_test_set([Image("g", images[0].pixels[:1])], degradation=bicubic, seed=0)
    assert t.grayscale and tuple(t.lr.shape) == (1, 12, 12)
