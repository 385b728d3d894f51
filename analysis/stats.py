"""A short list's standard deviation and median, without building arrays.

`np.mean` / `np.std` of a set's handful of rep values cost ~5 µs each, mostly building the array. The
sums here are `math.fsum`'s, exactly rounded (so they do not depend on the order or the platform); the
median is `statistics.median`'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def std(x: Sequence[float]) -> float:
    """Population standard deviation (as `np.std`): two passes, exactly rounded sums."""
    m = math.fsum(x) / len(x)
    return math.sqrt(math.fsum([(v - m) * (v - m) for v in x]) / len(x))


def median(x: Iterable[float]) -> float:
    """`statistics.median(x)`: the middle of the sorted list, or the mean of the two middle values as
    (a + b) / 2 (a short list: no call into the statistics module's generic path)."""
    return middle(sorted(x))


def middle(s: Sequence[float]) -> float:
    """The median of a list already sorted (as `median`)."""
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
