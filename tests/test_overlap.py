"""Training data and HR pools that hold a test image are refused before training, by pixels not names."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image as PILImage
from test_cli import assert_one_line_error, run_cli

from srbench.data.overlap import check_disjoint_from_tests, pixel_hash
from srbench.errors import UsageError
from srbench.interfaces.dataset import Image


def _photo(path, seed: int, size: int = 48) -> None:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    PILImage.fromarray(pixels).save(path)


def _folders(tmp_path):
    """A training folder, a test folder and an HR pool of distinct random images."""
    for name, seeds in (("train", range(4)), ("test", range(10, 12)), ("pool", range(20, 23))):
        folder = tmp_path / name / "train" if name != "test" else tmp_path / "test"
        folder.mkdir(parents=True)
        for seed in seeds:
            _photo(folder / f"img{seed}.png", seed)
    return tmp_path / "train", tmp_path / "test", tmp_path / "pool"


def test_pixel_hash_ignores_the_id_and_sees_every_pixel():
    pixels = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    assert pixel_hash(Image("a", pixels)) == pixel_hash(Image("b", pixels.clone()))
    changed = pixels.clone()
    changed[0, 0, 0] ^= 1
    assert pixel_hash(Image("a", changed)) != pixel_hash(Image("a", pixels))
    assert pixel_hash(Image("a", pixels.reshape(3, 4, 16))) != pixel_hash(Image("a", pixels))


def test_check_names_the_role_the_image_and_the_test_set():
    pixels = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    other = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    check_disjoint_from_tests({"pool": [Image("x", other)]}, {"set5": [Image("bird", pixels)]})
    with pytest.raises(UsageError) as refused:
        check_disjoint_from_tests({"pool": [Image("x", other), Image("copy", pixels)]},
                                  {"set5": [Image("bird", pixels)]})
    assert str(refused.value).startswith("pool: image 'copy' is test image 'bird' of test set 'set5'")


def test_a_test_image_copied_into_the_hr_pool_under_another_name_is_refused(capsys, tmp_path):
    train, test, pool = _folders(tmp_path)
    out = tmp_path / "out"
    argv = ["run", "--profile", "smoke", "--methods", "bicubic", "--dataset", f"folder:{train}",
            "--test-datasets", f"folder:{test}", "--hr-source", f"folder:{pool}", "--out", str(out),
            "--set", "profile.patch_size=24", "--set", "profile.iterations=1"]
    shutil.copy(test / "img10.png", pool / "train" / "renamed.png")
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, f"HR pool (--hr-source folder:{pool})", "'renamed'", "'img10'",
                          f"folder:{test}")
    assert not out.exists()


def test_a_test_image_in_the_training_set_is_refused_and_a_clean_run_goes_through(capsys, tmp_path):
    train, test, pool = _folders(tmp_path)
    out = tmp_path / "out"
    argv = ["run", "--profile", "smoke", "--methods", "bicubic", "--dataset", f"folder:{train}",
            "--test-datasets", f"folder:{test}", "--hr-source", f"folder:{pool}", "--out", str(out),
            "--set", "profile.patch_size=24", "--set", "profile.iterations=1", "--metrics", "psnr_y"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err  # cross-domain: HR pool from one folder, LR from another
    shutil.rmtree(out)
    shutil.copy(test / "img11.png", train / "train" / "copy_of_a_test_photo.png")
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, f"training set folder:{train}", "'copy_of_a_test_photo'", "'img11'")
    assert not out.exists()
