"""Datasets: named collections of images with a fixed train/test split.

A dataset plugin registers a factory ``factory(argument: str | None) -> Dataset``; the argument
is what follows the colon in ``folder:PATH``. Images are ``uint8`` tensors so that every
method, metric and cache sees exactly the same pixels.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch

#: ``train``: images a method may learn from; ``val``: training images held out for choosing
#: settings (``--eval-split val``; see :func:`srbench.data.split.split_train_val`), never in
#: ``train``; ``test``: held out for scoring; ``all``: every image (a dataset named only in
#: ``--test-datasets``).
Split = Literal["train", "val", "test", "all"]


@dataclass(frozen=True)
class Image:
    """One image.

    :param id: stable identifier, unique within the dataset (file stem, photo name, tile id).
    :param pixels: ``uint8`` tensor ``(C, H, W)``, C = 3 (RGB) or 1 (grayscale).
    """

    id: str
    pixels: torch.Tensor

    @property
    def grayscale(self) -> bool:
        return self.pixels.shape[0] == 1

    @property
    def height(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[2])


class Dataset(ABC):
    """A named set of images split by image into train, val and test.

    The split must be a pure function of the dataset's content and name, so that no test image
    is ever seen in training whatever the seed. ``val`` is taken from the training images by
    content (built-ins use :func:`srbench.data.split.split_train_val`); ``train`` excludes it.
    A dataset without training images may return an empty ``train``/``val``.
    """

    #: Name as typed by users, including any argument (``folder:/data/set5``).
    name: str = ""
    #: Bump when a code change alters the images or the split: trial ids include it (with the
    #: plugin's package version), so results on the old images are not reused.
    revision: ClassVar[int] = 1

    @abstractmethod
    def images(self, split: Split) -> list[Image]:
        """The images of ``split``, in a stable order.

        :raises srbench.errors.DataError: for unreadable files, naming the file.
        """

    def describe(self) -> str:
        """One line for ``srbench list`` and results."""
        return self.name

    def default_test_datasets(self) -> list[str]:
        """Datasets to score on when ``--test-datasets`` is not given; ``[]`` means this dataset's
        own test split. A training set without a test split names the test sets present."""
        return []
