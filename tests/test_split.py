"""The hr-fraction split (nesting, determinism, counts, validation) and the train/val split."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from srbench.data.datasets import open_dataset
from srbench.data.pipeline import build_training_data
from srbench.data.split import (SplitManifest, paired_count, rank_by_content, split_by_hr_fraction,
                                split_train_val, val_keys)
from srbench.errors import DataError, UsageError
from srbench.interfaces import Image
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import get_profile


@pytest.fixture(scope="module")
def registries():
    return load_plugins().registries

IDS = [f"img{i:03d}" for i in range(200)]
FRACTIONS = (0.01, 0.05, 0.25, 1.0)


@pytest.mark.parametrize("seed", [0, 1, 7, 123456])
def test_paired_subsets_are_nested_across_fractions(seed: int) -> None:
    subsets = [set(split_by_hr_fraction(IDS, f, seed).paired_ids) for f in FRACTIONS]
    sizes = [len(s) for s in subsets]
    assert sizes == [2, 10, 50, 200]
    for smaller, larger in zip(subsets, subsets[1:]):
        assert smaller < larger


@pytest.mark.parametrize("n", [1, 3, 10, 81])
def test_nesting_holds_for_small_sets(n: int) -> None:
    ids = IDS[:n]
    previous: set[str] = set()
    for f in (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0):
        current = set(split_by_hr_fraction(ids, f, seed=3).paired_ids)
        assert previous <= current
        previous = current


def test_same_seed_same_split_and_other_seed_differs() -> None:
    a = split_by_hr_fraction(IDS, 0.25, seed=5)
    b = split_by_hr_fraction(list(IDS), 0.25, seed=5)
    assert a == b
    assert a.sha256 == b.sha256
    c = split_by_hr_fraction(IDS, 0.25, seed=6)
    assert set(c.paired_ids) != set(a.paired_ids)
    assert c.sha256 != a.sha256


def test_split_does_not_depend_on_input_order() -> None:
    forward = split_by_hr_fraction(IDS, 0.25, seed=2)
    backward = split_by_hr_fraction(IDS[::-1], 0.25, seed=2)
    assert set(forward.paired_ids) == set(backward.paired_ids)
    assert forward.sha256 == backward.sha256
    # Lists keep the caller's order.
    assert list(backward.paired_ids) == [i for i in IDS[::-1] if i in set(backward.paired_ids)]


def test_partition_covers_every_image_once() -> None:
    m = split_by_hr_fraction(IDS, 0.3, seed=0)
    assert set(m.paired_ids).isdisjoint(m.lr_only_ids)
    assert sorted(m.paired_ids + m.lr_only_ids) == sorted(IDS)
    assert len(m.paired_ids) == 60


@pytest.mark.parametrize("n", [1, 2, 5, 30])
def test_at_least_one_paired_when_fraction_positive(n: int) -> None:
    m = split_by_hr_fraction(IDS[:n], 0.01, seed=4)
    assert len(m.paired_ids) == 1
    assert len(m.lr_only_ids) == n - 1


def test_fraction_zero_and_one() -> None:
    none = split_by_hr_fraction(IDS[:20], 0.0, seed=0)
    assert none.paired_ids == () and len(none.lr_only_ids) == 20
    every = split_by_hr_fraction(IDS[:20], 1.0, seed=0)
    assert len(every.paired_ids) == 20 and every.lr_only_ids == ()
    assert split_by_hr_fraction([], 0.5, seed=0).paired_ids == ()


def test_counts_round_half_up() -> None:
    assert paired_count(81, 0.01) == 1
    assert paired_count(81, 0.05) == 4
    assert paired_count(81, 0.25) == 20
    assert paired_count(10, 0.25) == 3  # 2.5 -> 3
    for n in (7, 50, 81):
        for f in (0.1, 0.33, 0.9):
            assert paired_count(n, f) == max(1, math.floor(f * n + 0.5))


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), "0.5", None, True])
def test_bad_fraction_rejected_naming_the_value(bad: object) -> None:
    with pytest.raises(UsageError) as exc:
        split_by_hr_fraction(IDS, bad, seed=0)  # type: ignore[arg-type]
    assert repr(bad) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(DataError, match="'a'"):
        split_by_hr_fraction(["a", "b", "a"], 0.5, seed=0)


def test_manifest_to_dict_and_frozen() -> None:
    m = split_by_hr_fraction(IDS[:10], 0.5, seed=9)
    d = m.to_dict()
    assert d["paired_ids"] == list(m.paired_ids) and d["lr_only_ids"] == list(m.lr_only_ids)
    assert d["hr_fraction"] == 0.5 and d["seed"] == 9 and d["sha256"] == m.sha256
    assert d["n_paired"] == 5
    with pytest.raises(Exception):
        m.seed = 3  # type: ignore[misc]
    assert isinstance(m, SplitManifest)


# -- validation split --------------------------------------------------------------------------

def _images(n: int, size: int = 8) -> list[Image]:
    rng = np.random.default_rng(5)
    return [Image(f"img{i:03d}", torch.from_numpy(rng.integers(0, 256, (3, size, size), dtype=np.uint8)))
            for i in range(n)]


def test_val_is_disjoint_deterministic_and_about_ten_percent() -> None:
    images = _images(200)
    train, val = split_train_val(images)
    assert {i.id for i in train}.isdisjoint({i.id for i in val})
    assert len(train) + len(val) == 200 and 8 <= len(val) <= 35  # binomial(200, 0.1): mean 20
    again = split_train_val(list(reversed(images)))
    assert {i.id for i in again[1]} == {i.id for i in val}  # order does not matter


def test_val_follows_content_not_names() -> None:
    images = _images(60)
    held = {i.id for i in split_train_val(images)[1]}
    renamed = [Image("renamed-" + i.id, i.pixels) for i in images]
    assert {i.id for i in split_train_val(renamed)[1]} == {"renamed-" + h for h in held}
    # Other pixels, same names: another choice.
    shuffled = [Image(i.id, j.pixels) for i, j in zip(images, images[1:] + images[:1])]
    assert {i.id for i in split_train_val(shuffled)[1]} != held
    # Adding images never moves an existing one.
    grown = images + _images(90)[60:]
    assert held <= {i.id for i in split_train_val(grown)[1]}
    assert {i.id for i in split_train_val(grown)[0]} >= {i.id for i in images} - held


@pytest.mark.parametrize("n", [2, 3, 5])
def test_val_small_sets(n: int) -> None:
    train, val = split_train_val(_images(n))
    assert len(val) >= 1 and len(train) >= 1
    lone_train, lone_val = split_train_val(_images(1))
    assert [i.id for i in lone_train] == ["img000"] and lone_val == []


def test_val_keys_rank_by_content() -> None:
    content = {f"k{i}": f"h{i}" for i in range(50)}
    held = val_keys(content)
    assert held and held == set(rank_by_content(content)[:len(held)])


def test_few_hr_split_never_contains_a_val_image(registries) -> None:
    ds = open_dataset("synthetic:40x48", registries)
    val = {i.id for i in ds.images("val")}
    assert val
    for fraction in (0.05, 0.5, 1.0):
        m = split_by_hr_fraction([i.id for i in ds.images("train")], fraction, seed=3)
        assert val.isdisjoint(m.paired_ids) and val.isdisjoint(m.lr_only_ids)
    # The whole pipeline: nothing of a val image reaches the training data.
    data, manifest = build_training_data(ds.images("train"), degradation=registries.degradations.create("bicubic", 4),
                                         hr_fraction=0.5, seed=0, profile=get_profile("smoke"))
    assert val.isdisjoint(data.paired.ids) and val.isdisjoint(data.lr_only.ids)
    assert val.isdisjoint(manifest.paired_ids + manifest.lr_only_ids)
