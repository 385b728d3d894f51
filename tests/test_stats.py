"""analysis.stats: NumPy's population standard deviation, and the statistics module's median."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from analysis.stats import median, std


@pytest.mark.parametrize("seed", range(4))
def test_std_is_numpys(seed):
    rng = np.random.default_rng(seed)
    for n in [*range(1, 40), 127, 128, 129, 300, 1000]:
        x = (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3) + rng.uniform(-5, 5)).tolist()
        assert std(x) == pytest.approx(float(np.std(x)), rel=1e-12, abs=1e-15)
    assert std([2.5] * 7) == 0.0


@pytest.mark.parametrize("seed", range(4))
def test_median_is_the_statistics_modules(seed):
    rng = np.random.default_rng(seed)
    for n in range(1, 30):
        x = (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3)).tolist()
        if n > 3:
            x[1] = x[2]  # ties
        got, want = median(x), statistics.median(x)
        assert got == want and type(got) is type(want)
        assert median(iter(x)) == want
