"""Image loading and the built-in datasets (default, folder, synthetic)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from srbench.data.datasets import open_dataset, parse_dataset_spec
from srbench.data.images import list_image_files, load_image
from srbench.errors import DataError, UnknownComponentError, UsageError
from srbench.plugin_manager import load_plugins


@pytest.fixture(scope="module")
def registries():
    return load_plugins().registries


def _rgb(h: int = 20, w: int = 30, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _save(path: Path, array: np.ndarray, mode: str | None = None, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = PILImage.fromarray(array, mode) if mode else PILImage.fromarray(array)
    img.save(path, **kwargs)
    return path


# -- load_image -------------------------------------------------------------------------------

@pytest.mark.parametrize("ext", ["png", "bmp", "tiff"])
def test_lossless_rgb_roundtrip(tmp_path: Path, ext: str) -> None:
    array = _rgb()
    img = load_image(_save(tmp_path / f"x.{ext}", array))
    assert img.id == "x"
    assert img.pixels.dtype == torch.uint8 and tuple(img.pixels.shape) == (3, 20, 30)
    assert torch.equal(img.pixels, torch.from_numpy(array).permute(2, 0, 1))


def test_jpeg_rgb(tmp_path: Path) -> None:
    array = np.full((16, 24, 3), (200, 40, 90), dtype=np.uint8)
    img = load_image(_save(tmp_path / "x.jpg", array, quality=95))
    assert tuple(img.pixels.shape) == (3, 16, 24)
    assert (img.pixels.float().mean((1, 2)) - torch.tensor([200.0, 40.0, 90.0])).abs().max() < 6


def test_webp_if_supported(tmp_path: Path) -> None:
    from PIL import features

    if not features.check("webp"):
        pytest.skip("this Pillow build has no WebP support")
    array = _rgb()
    img = load_image(_save(tmp_path / "x.webp", array, lossless=True))
    assert torch.equal(img.pixels, torch.from_numpy(array).permute(2, 0, 1))


def test_grayscale_stays_one_channel(tmp_path: Path) -> None:
    array = np.arange(20 * 30, dtype=np.uint32).reshape(20, 30).astype(np.uint8)
    img = load_image(_save(tmp_path / "g.png", array, "L"))
    assert img.grayscale and tuple(img.pixels.shape) == (1, 20, 30)
    assert torch.equal(img.pixels[0], torch.from_numpy(array))


def test_16bit_grayscale_scaled_to_8bit(tmp_path: Path) -> None:
    values = np.array([[0, 257, 65535, 32768, 1000]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    PILImage.fromarray(values).save(path)
    img = load_image(path)
    assert img.grayscale
    assert img.pixels[0, 0].tolist() == [0, 1, 255, 128, 4]  # round(v / 257)


def test_rgba_composited_over_white(tmp_path: Path) -> None:
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 0)      # fully transparent red -> white
    rgba[0, 1] = (10, 20, 30, 255)   # opaque -> unchanged
    rgba[0, 2] = (0, 0, 0, 128)      # half-transparent black -> mid gray
    img = load_image(_save(tmp_path / "a.png", rgba, "RGBA"))
    assert tuple(img.pixels.shape) == (3, 1, 3)
    assert img.pixels[:, 0, 0].tolist() == [255, 255, 255]
    assert img.pixels[:, 0, 1].tolist() == [10, 20, 30]
    assert img.pixels[:, 0, 2].tolist() == [127, 127, 127]


def test_la_becomes_gray_over_white(tmp_path: Path) -> None:
    la = np.array([[[0, 0], [50, 255]]], dtype=np.uint8)
    img = load_image(_save(tmp_path / "la.png", la, "LA"))
    assert img.grayscale and img.pixels[0, 0].tolist() == [255, 50]


def test_palette_color_and_gray(tmp_path: Path) -> None:
    colour = PILImage.fromarray(_rgb(8, 8)).quantize(colors=16)
    colour.save(tmp_path / "pc.png")
    img = load_image(tmp_path / "pc.png")
    assert tuple(img.pixels.shape) == (3, 8, 8)
    assert torch.equal(img.pixels, torch.from_numpy(np.array(colour.convert("RGB"))).permute(2, 0, 1))

    gray = PILImage.fromarray(np.array([[0, 1], [2, 1]], dtype=np.uint8), "P")
    gray.putpalette([0, 0, 0, 128, 128, 128, 255, 255, 255] + [0] * (256 * 3 - 9))
    gray.save(tmp_path / "pg.png")
    img = load_image(tmp_path / "pg.png")
    assert img.grayscale and img.pixels[0].tolist() == [[0, 128], [255, 128]]


def test_palette_with_transparency(tmp_path: Path) -> None:
    p = PILImage.fromarray(np.array([[0, 1]], dtype=np.uint8), "P")
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * (254 * 3))
    p.info["transparency"] = 0
    p.save(tmp_path / "pt.png", transparency=0)
    img = load_image(tmp_path / "pt.png")
    assert img.pixels[:, 0, 0].tolist() == [255, 255, 255]
    assert img.pixels[:, 0, 1].tolist() == [0, 0, 255]


def test_cmyk_and_bilevel(tmp_path: Path) -> None:
    PILImage.fromarray(_rgb()).convert("CMYK").save(tmp_path / "c.jpg")
    assert tuple(load_image(tmp_path / "c.jpg").pixels.shape) == (3, 20, 30)
    PILImage.fromarray(np.array([[0, 255]], dtype=np.uint8)).convert("1").save(tmp_path / "b.png")
    img = load_image(tmp_path / "b.png")
    assert img.grayscale and img.pixels[0, 0].tolist() == [0, 255]


def test_corrupt_and_missing_files_raise_data_error_naming_them(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DataError) as exc:
        load_image(bad)
    assert str(bad) in str(exc.value) and "\n" not in str(exc.value)

    truncated = tmp_path / "cut.png"
    _save(tmp_path / "whole.png", _rgb(64, 64))
    truncated.write_bytes((tmp_path / "whole.png").read_bytes()[:200])
    with pytest.raises(DataError, match="cut.png"):
        load_image(truncated)

    with pytest.raises(DataError, match="nothere.png"):
        load_image(tmp_path / "nothere.png")


def test_list_image_files_recursive_sorted_skips_hidden(tmp_path: Path) -> None:
    for rel in ["b.png", "a.JPG", "sub/c.bmp", "sub/deeper/d.tif", ".hidden.png", ".cache/e.png", "notes.txt"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    names = [p.relative_to(tmp_path).as_posix() for p in list_image_files(tmp_path)]
    assert names == ["a.JPG", "b.png", "sub/c.bmp", "sub/deeper/d.tif"]


# -- open_dataset -----------------------------------------------------------------------------

def test_spec_parsing_keeps_everything_after_first_colon() -> None:
    assert parse_dataset_spec("default") == ("default", None)
    assert parse_dataset_spec("folder:C:\\data\\set5") == ("folder", "C:\\data\\set5")
    assert parse_dataset_spec("folder:/a:b") == ("folder", "/a:b")
    assert parse_dataset_spec("synthetic:") == ("synthetic", "")
    for bad in ("", ":x", "   "):
        with pytest.raises(UsageError):
            parse_dataset_spec(bad)


def test_unknown_dataset_lists_names(registries) -> None:
    with pytest.raises(UnknownComponentError) as exc:
        open_dataset("nosuch", registries)
    for name in ("default", "folder", "synthetic"):
        assert name in str(exc.value)


# -- folder -----------------------------------------------------------------------------------

def _folder_of(tmp_path: Path, n: int, sub: str = "") -> Path:
    root = tmp_path / "set"
    for i in range(n):
        _save(root / sub / f"img{i:02d}.png", _rgb(12, 12, seed=i))
    return root


def test_folder_hash_split(tmp_path: Path, registries) -> None:
    root = _folder_of(tmp_path, 30)
    ds = open_dataset(f"folder:{root}", registries)
    train, val, test = ds.images("train"), ds.images("val"), ds.images("test")
    train_ids, val_ids, test_ids = {i.id for i in train}, {i.id for i in val}, {i.id for i in test}
    assert train_ids.isdisjoint(test_ids) and val_ids.isdisjoint(train_ids | test_ids) and val_ids
    assert train_ids | val_ids | test_ids == {f"img{i:02d}" for i in range(30)}
    assert 1 <= len(test) <= 12  # about 20% of 30
    assert {i.id for i in ds.images("all")} == train_ids | val_ids | test_ids
    again = open_dataset(f"folder:{root}", registries)
    assert [i.id for i in again.images("test")] == [i.id for i in test]
    # Adding a file never moves an existing one.
    _save(root / "zzz_new.png", _rgb(12, 12, seed=99))
    grown = open_dataset(f"folder:{root}", registries)
    assert test_ids <= {i.id for i in grown.images("test")} | {"zzz_new"}
    assert train_ids <= {i.id for i in grown.images("train")} | {"zzz_new"}
    assert val_ids <= {i.id for i in grown.images("val")}


def test_folder_small_sets(tmp_path: Path, registries) -> None:
    one = _folder_of(tmp_path / "one", 1)
    ds = open_dataset(f"folder:{one}", registries)
    assert len(ds.images("test")) == 1 and ds.images("train") == []
    assert ds.images("val") == []
    for n in (2, 3):
        root = _folder_of(tmp_path / f"n{n}", n)
        ds = open_dataset(f"folder:{root}", registries)
        assert len(ds.images("test")) >= 1 and len(ds.images("train")) >= 1
    # Three images: one test, and of the two training images one is val, one train.
    ds = open_dataset(f"folder:{tmp_path / 'n3'}", registries)
    assert len(ds.images("val")) == 1 and len(ds.images("train")) == 1


def test_folder_train_test_layout_and_nested_ids(tmp_path: Path, registries) -> None:
    root = tmp_path / "layout"
    _save(root / "train" / "a.png", _rgb(seed=1))
    _save(root / "train" / "deep" / "b.png", _rgb(seed=2))
    _save(root / "test" / "c.png", _rgb(seed=3))
    _save(root / "loose.png", _rgb(seed=4))  # outside train/ and test/: ignored
    ds = open_dataset(f"folder:{root}", registries)
    assert sorted(i.id for i in ds.images("train") + ds.images("val")) == ["a", "deep/b"]
    assert len(ds.images("val")) == 1  # at least one of two training images
    assert [i.id for i in ds.images("test")] == ["c"]
    assert {i.id for i in ds.images("all")} == {"a", "deep/b", "c"}


def test_folder_colliding_ids_keep_extension(tmp_path: Path, registries) -> None:
    root = tmp_path / "dup"
    _save(root / "train" / "x.png", _rgb(seed=1))
    _save(root / "train" / "x.bmp", _rgb(seed=2))
    _save(root / "test" / "x.png", _rgb(seed=3))
    ds = open_dataset(f"folder:{root}", registries)
    ids = [i.id for i in ds.images("all")]
    assert len(set(ids)) == 3


def test_folder_mixed_formats_and_modes(tmp_path: Path, registries) -> None:
    root = tmp_path / "mixed" / "test"
    _save(root / "rgb.png", _rgb())
    _save(root / "photo.jpg", _rgb())
    _save(root / "win.bmp", _rgb())
    _save(root / "gray.png", _rgb()[..., 0], "L")
    _save(root / "alpha.png", np.dstack([_rgb(), np.full((20, 30), 200, np.uint8)]), "RGBA")
    PILImage.fromarray(_rgb()).quantize(colors=8).save(root / "pal.png")
    PILImage.fromarray(np.full((20, 30), 4000, np.uint16)).save(root / "deep.png")
    ds = open_dataset(f"folder:{tmp_path / 'mixed'}", registries)
    got = {i.id: i.pixels for i in ds.images("test")}
    assert set(got) == {"rgb", "photo", "win", "gray", "alpha", "pal", "deep"}
    channels = {k: v.shape[0] for k, v in got.items()}
    assert channels == {"rgb": 3, "photo": 3, "win": 3, "gray": 1, "alpha": 3, "pal": 3, "deep": 1}
    assert all(v.dtype == torch.uint8 and tuple(v.shape[1:]) == (20, 30) for v in got.values())


def test_folder_loads_lazily_and_caches(tmp_path: Path, registries) -> None:
    root = tmp_path / "lazy"
    _save(root / "train" / "good.png", _rgb())
    (root / "test").mkdir()
    (root / "test" / "bad.png").write_bytes(b"garbage")
    ds = open_dataset(f"folder:{root}", registries)  # nothing decoded yet: no error
    first = ds.images("train")
    assert ds.images("train")[0].pixels is first[0].pixels
    with pytest.raises(DataError, match="bad.png"):
        ds.images("test")


def test_folder_errors(tmp_path: Path, registries) -> None:
    with pytest.raises(UsageError, match="does not exist") as exc:
        open_dataset(f"folder:{tmp_path / 'missing'}", registries)
    assert str(tmp_path / "missing") in str(exc.value)
    afile = tmp_path / "file.png"
    afile.write_bytes(b"x")
    with pytest.raises(UsageError, match="not a folder"):
        open_dataset(f"folder:{afile}", registries)
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "readme.txt").write_text("no images")
    with pytest.raises(DataError) as exc2:
        open_dataset(f"folder:{empty}", registries)
    assert str(empty) in str(exc2.value) and ".png" in str(exc2.value)
    for spec in ("folder", "folder:"):
        with pytest.raises(UsageError, match="folder:PATH"):
            open_dataset(spec, registries)


# -- synthetic --------------------------------------------------------------------------------

def test_synthetic_default_split_and_determinism(registries) -> None:
    ds = open_dataset("synthetic", registries)
    train, val, test = ds.images("train"), ds.images("val"), ds.images("test")
    assert len(train) + len(val) == 9 and len(val) >= 1 and len(test) == 3
    assert len({i.id for i in train + val + test}) == 12
    assert all(tuple(i.pixels.shape) == (3, 96, 96) and i.pixels.dtype == torch.uint8 for i in train + test)
    again = open_dataset("synthetic", registries)
    assert all(torch.equal(a.pixels, b.pixels) for a, b in zip(ds.images("all"), again.images("all")))
    # Images differ from each other and have texture.
    pixels = [i.pixels for i in ds.images("all")]
    assert all(not torch.equal(pixels[0], p) for p in pixels[1:])
    assert all(p.float().std() > 10 for p in pixels)


def test_synthetic_argument(registries) -> None:
    small = open_dataset("synthetic:8x64", registries)
    assert len(small.images("all")) == 8 and small.images("all")[0].width == 64
    assert len(small.images("test")) == 2
    big = open_dataset("synthetic:12x64", registries)
    assert all(torch.equal(a.pixels, b.pixels) for a, b in zip(small.images("all"), big.images("all")[:8]))
    assert len(open_dataset("synthetic:5", registries).images("all")) == 5
    for bad in ("x", "1", "0x64", "4x8", "4x64x2", "-3"):
        with pytest.raises(UsageError, match="COUNTxSIZE"):
            open_dataset(f"synthetic:{bad}", registries)


# -- default ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_dataset(registries):
    return open_dataset("default", registries)


def test_default_split(default_dataset) -> None:
    test = default_dataset.images("test")
    train = default_dataset.images("train")
    test_ids = [i.id for i in test]
    assert test_ids == ["astronaut", "chelsea", "coffee"]
    assert all(i.pixels.shape[0] == 3 and i.pixels.dtype == torch.uint8 for i in test)
    sources = {i.id.split("/")[0] for i in train}
    assert sources.isdisjoint(test_ids)
    assert not set(test_ids) & {i.id for i in train}
    assert all(tuple(i.pixels.shape) == (3, 192, 192) for i in train)
    assert len(train) >= 60 and len({i.id for i in train}) == len(train)
    # val: one whole training photo, none of whose tiles is in train.
    val = default_dataset.images("val")
    assert len(val) == 1 and val[0].id not in sources and val[0].id not in test_ids
    assert val[0].height > 192 and val[0].width > 192
    assert "retina/r0c0" not in {i.id for i in train}  # black corner skipped
    # No training tile is a crop of a test photo (content, not only names): the most varied
    # row of each tile must not occur, pixel-aligned, in any row of a test photo.
    test_rows = [row.tobytes() for img in test for row in img.pixels.permute(1, 2, 0).reshape(img.height, -1).numpy()]
    for tile in train:
        rows = tile.pixels.permute(1, 2, 0).reshape(192, -1)
        probe = rows[rows.float().std(dim=1).argmax()].numpy().tobytes()
        for r in test_rows:
            at = r.find(probe)
            while at != -1:
                assert at % 3, f"tile {tile.id} occurs in a test photo"
                at = r.find(probe, at + 1)


def test_default_all_is_test_plus_whole_train_photos(default_dataset) -> None:
    all_ids = [i.id for i in default_dataset.images("all")]
    assert all_ids[:3] == ["astronaut", "chelsea", "coffee"]
    assert set(all_ids[3:]) == ({i.id.split("/")[0] for i in default_dataset.images("train")}
                                | {i.id for i in default_dataset.images("val")})


def test_default_takes_no_argument(registries) -> None:
    with pytest.raises(UsageError):
        open_dataset("default:x", registries)
