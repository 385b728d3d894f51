"""NumPy's sum, mean and standard deviation of a short list of floats, bit for bit, without the arrays;
the median as `statistics.median` computes it.

`np.mean` of a set's handful of rep values costs ~5 µs, mostly building the array; these follow NumPy's
pairwise summation (eight accumulators from 8 values, halves from 128) in plain Python, so a set's
summary statistics are the very numbers NumPy gives (tested against it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def _pairwise_sum(x: Sequence[float], a: int, n: int) -> float:
    if n < 8:
        s = 0.0
        for i in range(a, a + n):
            s += x[i]
        return s
    if n <= 128:
        r = list(x[a : a + 8])
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += x[a + i + j]
            i += 8
        s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for k in range(a + i, a + n):
            s += x[k]
        return s
    half = n // 2
    half -= half % 8
    return _pairwise_sum(x, a, half) + _pairwise_sum(x, a + half, n - half)


def fsum_np(x: Sequence[float]) -> float:
    """`float(np.sum(x))` (NumPy adds the pairwise sum to 0.0, so -0.0 comes out as 0.0)."""
    return 0.0 + _pairwise_sum(x, 0, len(x))


def mean_np(x: Sequence[float]) -> float:
    """`float(np.mean(x))` (NaN for an empty list)."""
    return fsum_np(x) / len(x) if x else math.nan


def std_np(x: Sequence[float]) -> float:
    """`float(np.std(x))`: population standard deviation, NumPy's two-pass order."""
    m = mean_np(x)
    return math.sqrt(fsum_np([(v - m) * (v - m) for v in x]) / len(x))


def median(x: Iterable[float]) -> float:
    """`statistics.median(x)`: the middle of the sorted list, or the mean of the two middle values as
    (a + b) / 2 (a short list: no call into the statistics module's generic path)."""
    return middle(sorted(x))


def middle(s: Sequence[float]) -> float:
    """The median of a list already sorted (as `median`)."""
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
