"""Numbers as the leaderboard and report print them: engineering format, no exponent soup.

``110627`` -> ``110.6k``, ``0.000082`` stays positional, NaN -> ``–``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_PREFIXES = {3: "k", 6: "M", 9: "G", 12: "T", 15: "P"}
#: From here up, numbers get an SI suffix (below, 4 significant digits still fit: 9999).
_SUFFIX_FROM = 1e4


def fmt_number(v: Any, digits: int = 4) -> str:
    """``v`` with ``digits`` significant digits: SI suffix from 10 000 up, positional down to 1e-6."""
    if v is None:
        return "–"
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        return str(v)
    x = float(v)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    a = abs(x)
    if a == 0:
        return "0"
    if a >= _SUFFIX_FROM:
        exp = 3 * math.floor(math.log10(a) / 3)
        mant = x / 10 ** exp
        if abs(float(_positional(mant, digits))) >= 1000:  # 999.96k rounds up to 1000k: 1M
            exp, mant = exp + 3, mant / 1000
        if exp in _PREFIXES:
            return _positional(mant, digits) + _PREFIXES[exp]
        return f"{x:.{digits}e}"
    if a >= 1e-6:
        return _positional(x, digits)
    return f"{x:.{max(digits - 1, 0)}e}"


def _positional(x: float, digits: int) -> str:
    """``digits`` significant digits without an exponent (integer digits are kept: 110.6 -> ``111``)."""
    return np.format_float_positional(x, precision=digits, unique=False, fractional=False, trim="-")


def fmt_signed(v: Any, digits: int = 3) -> str:
    """:func:`fmt_number` with a sign (``+0.05``), for differences."""
    s = fmt_number(v, digits)
    return s if s in ("–", "0") or s.startswith("-") else "+" + s
