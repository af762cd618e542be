"""Published PSNR-Y / SSIM-Y of standard SR models, to set beside srbench's own rows.

:mod:`.table` loads ``published_sr.csv`` (one row per model, scale and test set, each with its
paper, training set and where the number was read); :mod:`.render` writes the "published, not
run here" rows under a leaderboard table and compares srbench rows with published rows of the
same training set in dB.
"""

from .render import published_html, published_lines
from .table import (
    PublishedRow,
    canonical_test_set,
    published_rows,
    published_training_set,
)

__all__ = ["PublishedRow", "canonical_test_set", "published_html", "published_lines", "published_rows", "published_training_set"]
