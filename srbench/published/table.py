"""The published table as data: ``published_sr.csv`` and lookups by test set and scale."""

from __future__ import annotations

import csv
import functools
import math
import re
from dataclasses import dataclass
from importlib import resources

#: Test sets of the table, by the lower-case name srbench knows them by (``--test-datasets set5``).
TEST_SETS = {"set5": "Set5", "set14": "Set14", "bsd100": "BSD100", "b100": "BSD100", "urban100": "Urban100",
             "manga109": "Manga109"}
#: srbench training datasets -> the training-set name papers use.
TRAINING_SETS = {"sr291": "291", "t91": "T91", "div2k": "DIV2K", "general100": "General100"}
CSV_NAME = "published_sr.csv"


@dataclass(frozen=True)
class PublishedRow:
    """One published result (bicubic degradation, PSNR-Y and SSIM-Y with a ``scale``-pixel border).

    :param psnr_y: dB, or NaN where the source gives none. :param ssim_y: or NaN.
    :param training_set: what the model was trained on (``291``, ``DIV2K``; ``-`` for bicubic).
    :param paper: the paper the model comes from. :param source: where the number was read.
    """

    model: str
    scale: int
    test_set: str
    psnr_y: float
    ssim_y: float
    training_set: str
    paper: str
    source: str


def _number(text: str) -> float:
    return float(text) if text.strip() else math.nan


@functools.lru_cache(maxsize=1)
def load_table() -> tuple[PublishedRow, ...]:
    """Every row of ``published_sr.csv``, in file order."""
    text = resources.files(__package__).joinpath(CSV_NAME).read_text()
    return tuple(PublishedRow(r["model"], int(r["scale"]), r["test_set"], _number(r["psnr_y"]),
                              _number(r["ssim_y"]), r["training_set"], r["paper"], r["source"])
                 for r in csv.DictReader(text.splitlines()))


def canonical_test_set(name: str) -> str | None:
    """The table's name for srbench test dataset ``name`` (``set5`` or ``folder:/data/Set5/HR`` ->
    ``Set5``), or ``None`` for anything else (``sr291/val``, ``default``)."""
    key = name.strip().lower()
    if key.startswith("folder:"):  # the folder's own name, or its parent's for an HR/ subfolder
        parts = [p for p in re.split(r"[\\/]+", key[len("folder:"):]) if p]
        if parts and parts[-1] == "hr":
            parts = parts[:-1]
        key = parts[-1] if parts else ""
    return TEST_SETS.get(key)


def published_training_set(dataset: str) -> str | None:
    """The published name of srbench training dataset ``dataset`` (``sr291`` -> ``291``), else ``None``."""
    return TRAINING_SETS.get(dataset.strip().lower())


def published_rows(test_set: str, scale: int) -> list[PublishedRow]:
    """Published rows for a test set (table name or srbench name) at ``scale``, in file order."""
    name = canonical_test_set(test_set) or test_set
    return [r for r in load_table() if r.test_set == name and r.scale == int(scale)]
