"""Named standard SR datasets under the data root (``$SRBENCH_DATA``): ``sr291``, ``set5``, ...

Layout, relative to a data root (``srbench download NAME`` builds it; a folder you already
have works as is):

=============  ==========================================  ======  ============================
name           folder(s)                                   images  checked by
=============  ==========================================  ======  ============================
``t91``        ``T91/t1.bmp`` ... ``T91/t91.bmp``              91  per-file SHA-256 (pinned)
``bsd200``     ``BSD200/<BSDS300 id>.png``                    200  per-file SHA-256 (pinned)
``sr291``      ``T91/`` + ``BSD200/``                         291  per-file SHA-256 (pinned)
``general100`` ``General100/``                                100  count
``div2k``      ``DIV2K/DIV2K_train_HR/0001.png`` ... 0800     800  names
               ``DIV2K/DIV2K_valid_HR/0801.png`` ... 0900     100  names (the test split)
``flickr2k``   ``Flickr2K/Flickr2K_HR/000001.png`` ... 2650  2650  names
``set5``       ``Set5/HR/{baby,bird,butterfly,head,woman}``     5  names
``set14``      ``Set14/HR/``                                   14  count
``bsd100``     ``BSD100/HR/``                                 100  count
``urban100``   ``Urban100/HR/``                               100  count
``manga109``   ``Manga109/HR/``                               109  count
=============  ==========================================  ======  ============================

Training sets give ``train`` and ``val`` (10% of the training images by pixel hash,
:func:`srbench.data.split.split_train_val`); ``div2k`` adds its official validation images as
``test``. Test sets are all ``test`` (and ``all``). A dataset is checked when opened: a missing
folder or file, or a file whose hash differs, stops the run before anything trains.
"""

from __future__ import annotations

from importlib import resources

from srbench.data.catalog import CatalogEntry, Part, Remote, check_entry, require
from srbench.data.images import load_image
from srbench.data.root import data_roots
from srbench.data.split import split_train_val
from srbench.errors import UsageError
from srbench.interfaces import Dataset, Image, Split

# T91 and BSD200, byte for byte as in this commit of the DCSCN repository (paths data/yang91 and
# data/bsd200); each file's SHA-256 is in manifests/, generated from the files themselves.
_DCSCN = ("https://raw.githubusercontent.com/jiny2001/dcscn-super-resolution/"
          "d382bc30d41c94ac72f8cb148d61cc4864b3b380/data/")
_DIV2K = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"
# SHA-256 of the DIV2K archives as published by TensorFlow Datasets
# (tensorflow/datasets, tensorflow_datasets/url_checksums/div2k.txt: URL, size, sha256).
_TFDS = "tensorflow/datasets: tensorflow_datasets/url_checksums/div2k.txt"
# The EDSR authors' benchmark archive (about 250 MB): benchmark/<Set5|Set14|B100|Urban100>/HR.
# No SHA-256 of it is published anywhere srbench could find: downloads need --sha256 or --unverified.
_EDSR_BENCHMARK = "https://cv.snu.ac.kr/research/EDSR/benchmark.tar"
_FLICKR2K = "https://cv.snu.ac.kr/research/EDSR/Flickr2K.tar"
# LapSRN's training-set archive holds T91, BSDS200 and General100 folders; no published checksum.
_LAPSRN_TRAIN = "http://vllab.ucmerced.edu/wlai24/LapSRN/results/SR_training_datasets.zip"


def _manifest(name: str) -> tuple[tuple[str, str], ...]:
    """``((file, sha256), ...)`` from ``manifests/NAME.sha256`` (``sha256sum`` format)."""
    text = resources.files(__package__).joinpath("manifests", f"{name}.sha256").read_text()
    rows = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return tuple((r[1], r[0]) for r in rows)


def _numbered(first: int, last: int, width: int) -> tuple[str, ...]:
    return tuple(f"{i:0{width}d}.png" for i in range(first, last + 1))


T91 = Part("T91", "train", 91, sha256=_manifest("T91"), base_url=_DCSCN + "yang91/")
BSD200 = Part("BSD200", "train", 200, sha256=_manifest("BSD200"), base_url=_DCSCN + "bsd200/")


def _benchmark(folder: str, member: str, count: int, files: tuple[str, ...] = ()) -> Part:
    return Part(f"{folder}/HR", "test", count, files=files, archive=Remote(_EDSR_BENCHMARK, None, f"benchmark/{member}/HR"))


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry("t91", "T91 (Yang et al., TIP 2010): 91 training images of SRCNN", (T91,)),
    CatalogEntry("bsd200", "BSD200: the 200 training images of BSDS300 (Martin et al., ICCV 2001)", (BSD200,)),
    CatalogEntry("sr291", "the 291 images of VDSR, DRRN and LapSRN: T91 + BSD200", (T91, BSD200)),
    CatalogEntry("general100", "General100 (Dong et al., ECCV 2016): 100 training images of FSRCNN",
                 (Part("General100", "train", 100, archive=Remote(_LAPSRN_TRAIN, None, "General100")),)),
    CatalogEntry("div2k", "DIV2K (Agustsson & Timofte 2017): 800 train (0001-0800), 100 valid (0801-0900) 2K "
                          "images, 3.9 GB", (
        Part("DIV2K/DIV2K_train_HR", "train", 800, files=_numbered(1, 800, 4),
             archive=Remote(_DIV2K + "DIV2K_train_HR.zip",
                            "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335", "DIV2K_train_HR", _TFDS)),
        Part("DIV2K/DIV2K_valid_HR", "test", 100, files=_numbered(801, 900, 4),
             archive=Remote(_DIV2K + "DIV2K_valid_HR.zip",
                            "20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc", "DIV2K_valid_HR", _TFDS)))),
    CatalogEntry("flickr2k", "Flickr2K (Lim et al., CVPRW 2017): 2650 2K training images, 20 GB",
                 (Part("Flickr2K/Flickr2K_HR", "train", 2650, files=_numbered(1, 2650, 6),
                       archive=Remote(_FLICKR2K, None, "Flickr2K_HR")),)),
    CatalogEntry("set5", "Set5 (Bevilacqua et al., BMVC 2012): 5 test images",
                 (_benchmark("Set5", "Set5", 5, ("baby.png", "bird.png", "butterfly.png", "head.png", "woman.png")),)),
    CatalogEntry("set14", "Set14 (Zeyde et al., 2010): 14 test images", (_benchmark("Set14", "Set14", 14),)),
    CatalogEntry("bsd100", "BSD100: the 100 test images of BSDS300 (Martin et al., ICCV 2001)",
                 (_benchmark("BSD100", "B100", 100),)),
    CatalogEntry("urban100", "Urban100 (Huang et al., CVPR 2015): 100 test images of buildings",
                 (_benchmark("Urban100", "Urban100", 100),)),
    CatalogEntry("manga109", "Manga109 (Matsui et al., 2017): 109 test images of manga volumes",
                 (Part("Manga109/HR", "test", 109),),
                 manual="Manga109 is given by its authors on request (http://www.manga109.org/en/download.html); "
                        "put its 109 images in DATA_ROOT/Manga109/HR"),
)
#: Test sets, in the order ``default_test_datasets`` lists them.
TEST_SETS = tuple(e.name for e in CATALOG if e.role == "test")


class NamedDataset(Dataset):
    """A catalog entry under the data root, checked complete when opened."""

    def __init__(self, entry: CatalogEntry) -> None:
        self.name = entry.name
        self.entry = entry
        self.status = require(entry, data_roots())
        self._cache: dict[str, list[Image]] = {}

    def _load(self, split: str) -> list[Image]:
        if split not in self._cache:
            multi = len(self.entry.parts) > 1
            self._cache[split] = [
                # Ids are file stems; with several folders (sr291) the folder keeps them apart.
                load_image(f, f"{s.part.folder}/{f.stem}" if multi else f.stem)
                for s in self.status.parts if s.part.split == split for f in s.files]
        return self._cache[split]

    def images(self, split: Split) -> list[Image]:
        if split in ("train", "val"):
            train, val = split_train_val(self._load("train"))
            return train if split == "train" else val
        if split == "test":
            return list(self._load("test"))
        if split == "all":
            return self._load("train") + self._load("test")
        raise UsageError(f"dataset split {split!r}: expected train, val, test or all")

    def describe(self) -> str:
        return f"{self.name}: {self.entry.title}"

    def default_test_datasets(self) -> list[str]:
        """For a training set: its own test split (div2k) and every test set present in the data root."""
        if self.entry.role == "test":
            return []
        roots = data_roots()
        own = [self.name] if any(p.split == "test" for p in self.entry.parts) else []
        # Present, not only complete: a half-copied test set then stops the run, naming its bad file.
        present = [e.name for e in CATALOG if e.role == "test" and check_entry(e, roots).present]
        if not own and not present:
            raise UsageError(f"dataset {self.name} has no test images and no test set ({', '.join(TEST_SETS)}) is "
                             "in the data root; run: srbench download set5 (or another), pass --test-datasets, "
                             "or use --eval-split val")
        return own + present


def factory(entry: CatalogEntry):
    """The registry factory of ``entry``; ``factory.catalog`` is the entry (``srbench download``, ``list``)."""
    def create(argument: str | None) -> Dataset:
        if argument:
            raise UsageError(f"dataset {entry.name!r} takes no argument, got '{entry.name}:{argument}'; "
                             f"write {entry.name}")
        return NamedDataset(entry)
    create.catalog = entry  # type: ignore[attr-defined]
    create.__doc__ = entry.title
    return create
