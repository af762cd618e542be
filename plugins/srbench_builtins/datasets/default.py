"""``default``: real photographs embedded in scikit-image, usable offline.

Split by photo, fixed:

* **test** = ``astronaut`` (512x512, portrait: skin, hair, fabric), ``chelsea`` (300x451, cat
  fur: fine texture) and ``coffee`` (400x600, smooth shading and specular highlights). Three
  moderate-sized natural photos with different content keep CPU evaluation in seconds.
* **train** = the training photos ``hubble_deep_field``, ``immunohistochemistry``, ``retina``,
  ``rocket`` and the left view of ``stereo_motorcycle`` but the val one, cut into
  non-overlapping 192x192 tiles (id ``retina/r2c5``: row 2, column 5). Each tile is one training
  "image", so ``--hr-fraction`` 0.01 / 0.05 / 0.25 pair 1 / 4 / 19 of the 77 tiles instead of
  rounding four photos to 0, 0 and 1. Partial tiles at the right and bottom borders are dropped,
  as are near-empty tiles (see :func:`_is_empty`); the five photos give 81 tiles.
* **val** = one whole training photo, untiled, held out from ``train`` by content: the first,
  in the order of :func:`srbench.data.split.rank_by_content` over the photos' pixel hashes,
  of the photos that hold at most :data:`MAX_VAL_TILE_SHARE` of the tiles. Whole photos
  rather than tiles, because tiles of one photo are correlated: a val tile beside a train tile
  of the same sky or retina would flatter every method. The cap keeps ``train`` large: the
  photos give 4 to 45 of the 81 tiles, and holding out retina (45) would more than halve it.
  Today that is ``immunohistochemistry`` (4 tiles), so ``train`` is the 77 tiles of the others.

Test photos are never tiled and never appear in ``train``. ``images("all")`` is the test photos
followed by the whole (untiled) train and val photos.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from srbench.data.split import pixel_hash, rank_by_content
from srbench.errors import UsageError
from srbench.interfaces import Dataset, Image, Split

TEST_PHOTOS: tuple[str, ...] = ("astronaut", "chelsea", "coffee")
TRAIN_PHOTOS: tuple[str, ...] = ("hubble_deep_field", "immunohistochemistry", "retina", "rocket", "motorcycle")
#: 192 px holds two 96-px ``full``-profile patches per side and four 48-px ones.
TILE = 192
# Near-black = every channel below 20/255. Retina's corners are 89-100% near-black and are
# dropped; Hubble's sky tiles are 63-79% near-black around real galaxies and are kept.
_DARK_LEVEL = 20
_MAX_DARK_FRACTION = 0.85
#: A val photo holds at most this share of the tiles (10% val, with room for whole photos).
MAX_VAL_TILE_SHARE = 0.2
# A tile whose luminance std is under 2 grey levels (of 255) is flat: nothing to super-resolve.
_MIN_STD = 2.0


def _load_photo(name: str) -> np.ndarray:
    import skimage.data

    if name == "motorcycle":
        return skimage.data.stereo_motorcycle()[0]
    return getattr(skimage.data, name)()


def _to_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _is_empty(tile: np.ndarray) -> bool:
    """True for tiles that are mostly black background or flat."""
    dark = (tile.max(axis=-1) < _DARK_LEVEL).mean()
    return bool(dark > _MAX_DARK_FRACTION or tile.astype(np.float64).mean(axis=-1).std() < _MIN_STD)


def tile_photo(name: str, array: np.ndarray, tile: int = TILE) -> list[Image]:
    """Non-overlapping ``tile`` x ``tile`` crops of ``array`` (``(H, W, 3)``), empty ones skipped."""
    out = []
    for r in range(array.shape[0] // tile):
        for c in range(array.shape[1] // tile):
            crop = array[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
            if not _is_empty(crop):
                out.append(Image(f"{name}/r{r}c{c}", _to_tensor(crop)))
    return out


class DefaultPhotos(Dataset):
    """scikit-image photos: 3 whole test photos, 1 whole val photo, train = 192-px tiles of 4 other photos."""

    def __init__(self, loader: Callable[[str], np.ndarray] = _load_photo) -> None:
        self.name = "default"
        self._loader = loader
        self._photos: dict[str, np.ndarray] = {}
        self._train: list[Image] | None = None
        self._val_photos: set[str] | None = None

    def _photo(self, name: str) -> np.ndarray:
        if name not in self._photos:
            self._photos[name] = self._loader(name)
        return self._photos[name]

    def val_photos(self) -> set[str]:
        """The training photos held out whole as ``val`` (chosen by pixel hash)."""
        if self._val_photos is None:
            tiles = {n: len(tile_photo(n, self._photo(n))) for n in TRAIN_PHOTOS}
            small = {n: pixel_hash(_to_tensor(self._photo(n))) for n in TRAIN_PHOTOS
                     if tiles[n] <= MAX_VAL_TILE_SHARE * sum(tiles.values())}
            self._val_photos = set(rank_by_content(small)[:1])
        return self._val_photos

    def images(self, split: Split) -> list[Image]:
        if split == "test":
            return [Image(n, _to_tensor(self._photo(n))) for n in TEST_PHOTOS]
        if split == "train":
            if self._train is None:
                self._train = [t for n in TRAIN_PHOTOS if n not in self.val_photos()
                               for t in tile_photo(n, self._photo(n))]
            return list(self._train)
        if split == "val":
            return [Image(n, _to_tensor(self._photo(n))) for n in TRAIN_PHOTOS if n in self.val_photos()]
        if split == "all":
            return self.images("test") + [Image(n, _to_tensor(self._photo(n))) for n in TRAIN_PHOTOS]
        raise UsageError(f"dataset split {split!r}: expected train, val, test or all")

    def describe(self) -> str:
        train = [n for n in TRAIN_PHOTOS if n not in self.val_photos()]
        return (f"default: scikit-image photos; test {', '.join(TEST_PHOTOS)}; val {', '.join(sorted(self.val_photos()))}; "
                f"train {TILE}-px tiles of {', '.join(train)}")


def create(argument: str | None) -> Dataset:
    """Real photos from scikit-image (offline): 3 test photos, val = 1 whole photo, train = 192-px tiles of 4 others."""
    if argument:
        raise UsageError(f"dataset 'default' takes no argument, got 'default:{argument}'; write default")
    return DefaultPhotos()
