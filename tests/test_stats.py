"""analysis.stats gives NumPy's sum, mean and std of a list bit for bit (the set summary relies on it)."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from analysis.stats import fsum_np, mean_np, median, std_np


@pytest.mark.parametrize("seed", range(4))
def test_sum_mean_std_are_numpys_to_the_last_bit(seed):
    rng = np.random.default_rng(seed)
    for n in [*range(1, 40), 127, 128, 129, 255, 256, 300, 1000]:
        x = (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3) + rng.uniform(-5, 5)).tolist()
        assert fsum_np(x) == float(np.sum(np.array(x)))
        assert mean_np(x) == float(np.mean(x))
        assert std_np(x) == float(np.std(x))


def test_signed_zeros_and_empty_lists_as_numpy():
    assert str(fsum_np([-0.0] * 3)) == str(float(np.sum(np.array([-0.0] * 3)))) == "0.0"
    assert str(fsum_np([-0.0] * 9)) == "0.0"
    assert fsum_np([]) == 0.0 and np.isnan(mean_np([]))


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
