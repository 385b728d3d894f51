"""The Analyzer: kernels against their naive twins, chunk invariance, events, bounded memory."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import _extrema_kernels as zk
from analysis import _tracker_kernels as tk
from analysis import reps
from analysis.analyzer import Analyzer, AnalyzerSettings, _as_dict
from analysis.columns import (
    ACC_DEV,
    FLEX,
    FLEX_SMOOTH,
    HEIGHT,
    LATERAL,
    N_COLUMNS,
    RATE_SMOOTH,
    TWIST_RATE,
    VELOCITY,
    T,
)
from analysis.events import (
    CalibrationDone,
    FlagRaised,
    PostureUpdate,
    RepCompleted,
    SetDiscarded,
    SetEnded,
    SetStarted,
)
from analysis.flags import FlagSettings
from analysis.orientation import TrunkOrientation
from analysis.report import Flag, Rep, report_from_dict
from analysis.samples import Samples
from analysis.sets import frozen_instance
from sensor.errors import InputError
from sensor.simulator import random_session_spec, simulate_session
from tests.naive import (
    NaiveTracker,
    naive_deglitch,
    naive_first_away,
    naive_first_crossing,
    naive_held_before,
    naive_lowpass2,
    naive_measure_trip,
    naive_posture_slots,
    naive_rep_numbers,
    naive_scan_trip,
    naive_time_rep,
    naive_trip_start,
    naive_vertical,
    naive_zigzag,
)


def _session(seed: int, exercise: str, **overrides):
    return simulate_session(random_session_spec(seed, exercise=exercise, **overrides))


@pytest.fixture(scope="module")
def short_deadlift():
    """Two sets of five deadlifts with a rounded rep, 100 Hz, and 10 s standing at the end (the last set
    ends live, before the recording does)."""
    return _session(3, "deadlift", sets=2, reps=5, rate_hz=100.0, faults=[(2, 4, "rounding")], end_still_s=10.0)


# -- kernels vs naive twins ------------------------------------------------------------------------

def _derive(t, x, acc_dev, tau_s, vertical_tau_s=1.0, mean_tau_s=3.0, split=None, glitch_mps2=math.inf):
    """_derive_run's rows with x as flexion and as rate, |acc| = acc_dev (gravity 0), optionally in two blocks."""
    out = np.empty((N_COLUMNS, t.size))
    states = np.zeros(zk.LP_STATE_SIZE), np.zeros(zk.LP_STATE_SIZE), np.zeros(zk.VERTICAL_STATE_SIZE)
    for a, b in ((0, split), (split, None)) if split else ((0, None),):
        zk._derive_run(t[a:b], x[a:b], x[a:b], x[a:b], None, acc_dev[a:b], 0.0, tau_s, vertical_tau_s,
                       mean_tau_s, 0.25, glitch_mps2, *states, out[:, a:b])
    return out


@given(st.integers(0, 2**31 - 1), st.integers(1, 400), st.floats(0.001, 1.0))
@settings(max_examples=60, deadline=None)
def test_lowpass_matches_naive_twin(seed, n, tau_s):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.001, 0.05, n))
    x = rng.normal(0, 10, n)
    out = _derive(t, x, np.zeros(n), tau_s)
    np.testing.assert_allclose(out[FLEX_SMOOTH], naive_lowpass2(t, x, tau_s), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(out[RATE_SMOOTH], out[FLEX_SMOOTH])
    np.testing.assert_array_equal(_derive(t, x, np.zeros(n), tau_s, split=n // 2), out)  # state carried


@given(st.integers(0, 2**31 - 1), st.integers(1, 600), st.floats(0.05, 20.0))
@settings(max_examples=80, deadline=None)
def test_zigzag_matches_naive_twin(seed, n, hysteresis):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0, 1.5, n))  # a random walk has turning points of every size
    idx, conf, kind = (np.empty(n, dtype=np.int64) for _ in range(3))
    m = zk._zigzag_run(x, 1000, hysteresis, np.zeros(zk.ZZ_STATE_SIZE), idx, conf, kind)
    got = [(int(idx[j]) - 1000, int(conf[j]) - 1000, int(kind[j])) for j in range(m)]
    assert got == naive_zigzag(x, hysteresis)


@given(st.integers(0, 2**31 - 1), st.integers(1, 400), st.floats(0.2, 5.0), st.floats(0.5, 20.0))
@settings(max_examples=60, deadline=None)
def test_vertical_matches_naive_twin(seed, n, tau_s, mean_tau_s):
    """With dropouts (steps over _derive's gap_s of 0.25 s) among the ordinary steps."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(np.where(rng.random(n) < 0.05, rng.uniform(0.3, 1.0, n), rng.uniform(0.001, 0.05, n)))
    acc_dev = rng.normal(0.2, 2.0, n)
    out = _derive(t, np.zeros(n), acc_dev, 0.04, tau_s, mean_tau_s)
    v_naive, h_naive = naive_vertical(t, acc_dev, tau_s, mean_tau_s, gap_s=0.25)
    np.testing.assert_allclose(out[VELOCITY], v_naive, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out[HEIGHT], h_naive, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(_derive(t, np.zeros(n), acc_dev, 0.04, tau_s, mean_tau_s, split=n // 2), out)


@given(st.integers(0, 2**31 - 1), st.integers(1, 400), st.integers(1, 4))
@settings(max_examples=60, deadline=None)
def test_glitches_are_held_as_the_naive_twin_holds_them(seed, n, spike_len):
    """Spikes of 1-4 samples (16 g) among ordinary readings: held at the last value for up to two samples."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.005, 0.05, n))
    acc_dev = rng.normal(0.2, 2.0, n)
    for start in rng.integers(0, n, max(1, n // 50)):
        acc_dev[start:start + spike_len] = 150.0
    out = _derive(t, np.zeros(n), acc_dev, 0.04, glitch_mps2=30.0)
    held = naive_deglitch(acc_dev, 30.0)
    np.testing.assert_array_equal(out[ACC_DEV], np.abs(held))
    v_naive, h_naive = naive_vertical(t, held, 1.0, 3.0, gap_s=0.25)
    np.testing.assert_allclose(out[VELOCITY], v_naive, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(_derive(t, np.zeros(n), acc_dev, 0.04, split=n // 2, glitch_mps2=30.0), out)


def test_vertical_mean_is_not_set_by_a_jolted_first_sample():
    """A recording that starts 0.2 m/s² off (the sensor still settling), then reads still: the slow mean
    is the average so far, so the hips do not seem to sink (a real squat set's first rep had started at
    the first sample, the hips 6 cm down after 1.5 s of standing)."""
    t = np.arange(0.0, 3.0, 0.01)
    acc_dev = np.zeros(t.size)
    acc_dev[0] = 0.2
    out = _derive(t, np.zeros(t.size), acc_dev, 0.04, 1.0, 3.0)
    assert np.abs(out[VELOCITY]).max() < 0.005  # m/s (0.09 with the first sample as the mean)
    assert np.abs(out[HEIGHT]).max() < 0.002  # m


def test_vertical_takes_a_dropout_as_one_ordinary_step():
    """Standing still at 100 Hz, a 0.6 s dropout, and the first sample after it caught mid-movement (+3 m/s²):
    that sample counts for one 0.01 s step, not for the whole gap (0.6 s x 3 m/s² = 1.8 m/s, which had sunk
    the hips' leaky height by 0.75 m in a real dropout during a squat's rise and lost the rep), in the
    velocity and in the slow mean of |acc| alike."""
    t = np.concatenate((np.arange(0.0, 5.0, 0.01), np.arange(5.6, 8.0, 0.01)))
    acc_dev = np.where(np.isclose(t, 5.6), 3.0, 0.0)
    out = _derive(t, np.zeros(t.size), acc_dev, 0.04, 1.0, 3.0)
    assert np.abs(out[VELOCITY]).max() < 0.05  # m/s (one step: 0.03)
    assert np.abs(out[HEIGHT]).max() < 0.02  # m
    assert np.abs(out[VELOCITY, -1]) < 0.01 and np.abs(out[HEIGHT, -1]) < 0.01  # and it leaks away


def test_rate_across_a_gap_is_the_flexions_mean_rate_over_it():
    """A dropout longer than gap_s (0.25 s) while the trunk comes back: the gyroscope's rate is missing
    for it, so the smoothed rate takes in the flexion's mean rate over the gap instead; elsewhere the
    gyroscope's rate, as before."""
    t = np.concatenate((np.arange(0.0, 1.0, 0.01), np.arange(2.0, 3.0, 0.01)))  # 1 s without data
    flexion = np.where(t < 1.5, 60.0, 0.0)  # back from 60 deg to 0 during the gap
    rate = np.zeros(t.size)
    out = _derive(t, flexion, np.zeros(t.size), 0.05)  # (x as flexion and as rate: rebuild with rate 0)
    states = np.zeros(zk.LP_STATE_SIZE), np.zeros(zk.LP_STATE_SIZE), np.zeros(zk.VERTICAL_STATE_SIZE)
    zk._derive_run(t, flexion, rate, flexion, None, np.zeros(t.size), 0.0, 0.05, 1.0, 3.0, 0.25, math.inf, *states,
                   out)
    taken_in = rate.copy()
    taken_in[100] = (0.0 - 60.0) / (t[100] - t[99])  # -60 deg/s over the 1.01 s step
    np.testing.assert_allclose(out[RATE_SMOOTH], naive_lowpass2(t, taken_in, 0.05), rtol=1e-12, atol=1e-9)
    assert out[RATE_SMOOTH, 100] < -50.0  # deg/s: the return shows, fast enough for a rep's


@given(st.integers(0, 2**31 - 1), st.integers(1, 300), st.booleans())
@settings(max_examples=40, deadline=None)
def test_derive_matches_its_parts(seed, n, with_twist):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.001, 0.05, n))
    flexion, rate, lateral, twist = (rng.normal(0, 20, n) for _ in range(4))
    acc_norm = rng.normal(9.8, 2.0, n)
    out = np.full((N_COLUMNS, n), np.nan)
    zk._derive_run(t, flexion, rate, lateral, twist if with_twist else None, acc_norm, 9.80665, 0.05, 1.0, 3.0, 0.25,
                   math.inf, np.zeros(zk.LP_STATE_SIZE), np.zeros(zk.LP_STATE_SIZE), np.zeros(zk.VERTICAL_STATE_SIZE),
                   out)
    velocity, height = naive_vertical(t, acc_norm - 9.80665, 1.0, 3.0)
    np.testing.assert_array_equal(out[T], t)
    np.testing.assert_array_equal(out[FLEX], flexion)
    np.testing.assert_array_equal(out[TWIST_RATE], twist if with_twist else np.zeros(n))
    np.testing.assert_allclose(out[FLEX_SMOOTH], naive_lowpass2(t, flexion, 0.05), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(out[RATE_SMOOTH], naive_lowpass2(t, rate, 0.05), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(out[ACC_DEV], np.abs(acc_norm - 9.80665), rtol=1e-12)
    np.testing.assert_allclose(out[VELOCITY], velocity, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out[HEIGHT], height, rtol=1e-10, atol=1e-12)


@given(st.integers(0, 2**31 - 1), st.integers(1, 300), st.sampled_from([1.0, -1.0]))
@settings(max_examples=80, deadline=None)
def test_scan_trip_matches_naive_twin(seed, n, sign):
    rng = np.random.default_rng(seed)
    cols = np.full((N_COLUMNS, n + 3), np.nan)[:, 1:-2]  # a strided view, as the history gives
    cols[T] = np.cumsum(rng.uniform(0.001, 0.05, n))
    cols[FLEX_SMOOTH] = np.cumsum(rng.normal(0, 2.0, n))
    cols[RATE_SMOOTH] = rng.normal(0, 20.0, n)
    lo = int(rng.integers(0, n))
    hi = int(rng.integers(lo + 1, n + 1))
    t, x, rate = cols[T, lo:hi], cols[FLEX_SMOOTH, lo:hi], cols[RATE_SMOOTH, lo:hi]
    args = (sign, float(rng.normal(0, 5)), float(rng.uniform(0.5, 10)), float(rng.uniform(0, 30)),
            float(rng.uniform(0, 10)), float(t[0] + rng.uniform(-1, 1)), float(rng.uniform(0.1, 5)))
    code, i, peak = zk._scan_trip(cols, FLEX_SMOOTH, RATE_SMOOTH, lo, hi, *args)
    want_code, want_i, want_peak = naive_scan_trip(t, x, rate, *args)
    assert (code, i, peak) == (want_code, want_i if want_i < 0 else lo + want_i, want_peak)


@given(st.integers(0, 2**31 - 1), st.integers(2, 800))
@settings(max_examples=150, deadline=None)
def test_held_before_matches_naive_twin(seed, n):
    """Holds of random length in a random walk, looked for within a random window (s and samples)."""
    rng = np.random.default_rng(seed)
    hist = np.full((N_COLUMNS, n), np.nan)
    t = hist[T] = np.cumsum(rng.uniform(0.005, 0.05, n))
    steps = rng.normal(0, 1.0, n) * (rng.uniform(size=n) < rng.uniform(0.1, 0.9))  # still in between
    x = hist[FLEX_SMOOTH] = np.cumsum(steps)
    v = hist[RATE_SMOOTH] = np.gradient(x, t)
    rules = np.zeros(tk.RULES_SIZE)
    rules[tk.R_HOLD_WINDOW_N], rules[tk.R_HOLD_MAX_DPS] = int(rng.integers(5, 800)), float(rng.uniform(0, 20))
    rules[tk.R_MIN_SWAY], rules[tk.R_HOLD_WINDOW_S] = float(rng.uniform(0.0, 3.0)), float(rng.uniform(0.2, 10.0))
    index, kind = int(rng.integers(0, n)), int(rng.choice([-1, 1]))
    got = tk._held_before(hist, 0, index, kind, rules)
    want = naive_held_before(t, x, v, index, kind, int(rules[tk.R_HOLD_WINDOW_N]), rules[tk.R_HOLD_MAX_DPS],
                             rules[tk.R_MIN_SWAY], rules[tk.R_HOLD_WINDOW_S])
    assert (got[0], got[1]) == ((-1, got[1]) if want is None else want) and (want is not None or np.isnan(got[1]))


@given(st.integers(0, 2**31 - 1), st.integers(2, 600), st.integers(1, 4))
@settings(max_examples=150, deadline=None)
def test_track_run_matches_naive_twin(seed, n, blocks):
    """The tracker kernel against NaiveTracker: random rules, a random walk with its rate, the zig-zag's
    turning points, the run split into blocks (state carried across); every log row and the state left."""
    rng = np.random.default_rng(seed)
    hist = np.full((N_COLUMNS, n), np.nan)
    t = hist[T] = np.cumsum(rng.uniform(0.005, 0.05, n))
    x = hist[FLEX_SMOOTH] = np.cumsum(rng.normal(0, 2.0, n))
    v = hist[RATE_SMOOTH] = np.gradient(x, t) + rng.normal(0, 5.0, n)
    inf = math.inf
    sign, top_start, plateau = float(rng.choice([-1.0, 1.0])), bool(rng.integers(2)), bool(rng.integers(2))
    min_rom = float(rng.uniform(1, 10))
    rules = dict(sign=sign, min_rom=min_rom, max_rom=float(rng.choice([inf, min_rom + rng.uniform(0, 20)])),
                 home_min=float(rng.choice([-inf, rng.uniform(-20, 5)])),
                 home_max=float(rng.choice([inf, rng.uniform(5, 40)])), band_fraction=float(rng.uniform(0.2, 0.8)),
                 band_min=float(rng.uniform(0.5, 3)), min_return=float(rng.uniform(0, 40)),
                 max_trip_s=float(rng.uniform(0.5, 8)), plateau=plateau, top_start=top_start,
                 window_n=int(rng.integers(5, 300)), hold_max_dps=float(rng.uniform(0, 20)),
                 min_sway_deg=float(rng.uniform(0.5, 4)), window_s=float(rng.uniform(0.5, 8)))
    packed = np.array([rules[k] for k in ("sign", "min_rom", "max_rom", "home_min", "home_max", "band_fraction",
                                          "band_min", "min_return", "max_trip_s", "plateau", "top_start",
                                          "window_n", "hold_max_dps", "min_sway_deg", "window_s")], dtype=float)
    state, zz = np.zeros(tk.TRACKER_STATE_SIZE), np.zeros(zk.ZZ_STATE_SIZE)
    naive, h = NaiveTracker(rules), float(rng.uniform(1, 8))
    idx, conf, kind = (np.empty(n, dtype=np.int64) for _ in range(3))
    log = np.empty((2 * n + 1, tk.LOG_COLUMNS), dtype=np.int64)
    cuts = [0, *sorted(rng.choice(np.arange(1, n), size=min(blocks - 1, n - 1), replace=False)), n]
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        m = zk._zigzag_run(x[lo:hi], lo, h, zz, idx, conf, kind)
        k = tk._track_run(hist, 0, lo, hi - lo, FLEX_SMOOTH, RATE_SMOOTH, idx, conf, kind, m, packed, state, log)
        want = naive.run(t, x, v, x, v, lo, hi, list(zip(idx[:m].tolist(), conf[:m].tolist(), kind[:m].tolist(),
                                                         strict=True)))
        assert log[:k].tolist() == want
    assert tk._visible(state, packed) == naive.visible()


def _random_rep(rng, n):
    """A noisy velocity pulse out and a negative one back, with random sample times."""
    t = np.cumsum(rng.uniform(0.005, 0.05, n))
    x = np.linspace(0, 1, n)
    v = 40 * np.sin(2 * np.pi * x) * rng.uniform(0.2, 1.5) + rng.normal(0, rng.choice([0.01, 2.0]), n)
    return t, v


@given(st.integers(0, 2**31 - 1), st.integers(4, 500), st.sampled_from([1.0, -1.0]))
@settings(max_examples=100, deadline=None)
def test_time_rep_matches_naive_twin(seed, n, sign):
    rng = np.random.default_rng(seed)
    t, v = _random_rep(rng, n)
    i_start, i_end = int(rng.integers(0, n // 4 + 1)), int(rng.integers(3 * n // 4, n))
    i_turn = int(rng.integers(i_start, i_end + 1))
    got = reps._time_rep(t, sign * v, sign, i_start, i_turn, i_end)
    assert got == naive_time_rep(t, v, i_start, i_turn, i_end, reps.NOISE_DPS)


@given(st.integers(0, 2**31 - 1), st.integers(4, 1300))
@settings(max_examples=100, deadline=None)
def test_rep_numbers_match_naive_twin(seed, n):
    rng = np.random.default_rng(seed)
    t, _ = _random_rep(rng, n)
    cols = np.full((N_COLUMNS, n + 3), np.nan)[:, 1:-2]  # a strided view, as the history gives
    cols[T] = t
    for row in (FLEX, LATERAL, TWIST_RATE, RATE_SMOOTH, HEIGHT):
        cols[row] = np.cumsum(rng.normal(0, 3, n))
    cols[ACC_DEV] = np.abs(rng.normal(0, rng.uniform(0.1, 3), n))
    times = np.sort(rng.uniform(t[0] - 0.2, t[-1] + 0.2, 4))
    if rng.random() < 0.3:  # no hold at the turn
        times[2] = times[1]
    i_turn = int(rng.integers(0, n))
    got = reps._rep_numbers(cols, *times, i_turn)
    want = naive_rep_numbers(cols[T], cols[FLEX], cols[LATERAL], cols[TWIST_RATE], cols[ACC_DEV], cols[RATE_SMOOTH],
                             cols[HEIGHT], *times, i_turn)
    np.testing.assert_array_equal(np.array(got), np.array(want))  # bit for bit, NaN for a too short hold


@given(st.integers(0, 2**31 - 1), st.integers(2, 800), st.floats(0.1, 30.0), st.floats(1.0, 200.0))
@settings(max_examples=100, deadline=None)
def test_trip_start_matches_naive_twin(seed, n, max_trip_s, limit_deg):
    rng = np.random.default_rng(seed)
    cols = np.full((N_COLUMNS, n + 3), np.nan)[:, 1:-2]  # a strided view, as the history gives
    cols[T] = np.cumsum(rng.uniform(0.005, 0.05, n))
    cols[TWIST_RATE] = rng.normal(0, 1, n).cumsum() * rng.uniform(1, 60)
    i_turn = int(rng.integers(1, n))
    got = reps._trip_start(cols[T], cols[TWIST_RATE], i_turn, max_trip_s, limit_deg)
    assert got == naive_trip_start(cols[T], cols[TWIST_RATE], i_turn, max_trip_s, limit_deg)


@given(st.integers(0, 2**31 - 1), st.integers(3, 1300), st.sampled_from([1.0, -1.0]), st.booleans())
@settings(max_examples=100, deadline=None)
def test_measure_trip_matches_naive_twin(seed, n, sign, still):
    rng = np.random.default_rng(seed)
    t, v = _random_rep(rng, n)
    cols = np.full((N_COLUMNS, n + 3), np.nan)[:, 1:-2]  # a strided view, as the history gives
    cols[T], cols[RATE_SMOOTH] = t, v
    for row in (FLEX, FLEX_SMOOTH, LATERAL, HEIGHT):
        cols[row] = np.cumsum(rng.normal(0, 3, n))
    cols[TWIST_RATE] = rng.normal(0, 1, n).cumsum() * rng.uniform(1, 30)
    cols[ACC_DEV] = np.abs(rng.normal(0, rng.uniform(0.1, 3), n))
    i_turn = int(rng.integers(1, n - 1))  # (measure asks for a turn inside the trip)
    args = (i_turn, float(rng.uniform(0.5, 30)), float(rng.uniform(5, 200)))
    home_fraction = float(rng.choice([0.25, rng.uniform(0.0, 1.0), np.inf]))
    got = reps._measure_trip(cols, *args, FLEX_SMOOTH, RATE_SMOOTH, sign, still, home_fraction)
    want = naive_measure_trip(cols[T], cols[FLEX], cols[LATERAL], cols[TWIST_RATE], cols[ACC_DEV], cols[RATE_SMOOTH],
                              cols[HEIGHT], cols[FLEX_SMOOTH], cols[RATE_SMOOTH], *args, sign, still, home_fraction)
    if want is None:
        assert got[0] == -1
    else:
        np.testing.assert_array_equal(np.array(got), np.array(want))  # bit for bit


@given(st.integers(0, 2**31 - 1), st.integers(1, 3000))
@settings(max_examples=60, deadline=None)
def test_mean_is_numpys(seed, n):
    x = np.random.default_rng(seed).normal(0, 10, n + 5)[n % 5:][:n]  # (any start in memory)
    assert reps._mean(x) == float(np.mean(x))


@given(st.integers(0, 2**31 - 1), st.integers(0, 60), st.booleans())
@settings(max_examples=80, deadline=None)
def test_first_crossing_matches_naive_twin(seed, n, above):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 10, n)
    level = float(rng.normal(0, 15))
    lo = int(rng.integers(0, n + 1))
    hi = int(rng.integers(lo, n + 1))
    want = naive_first_crossing(x[lo:hi], level, above)
    assert zk._first_crossing(x, lo, hi, level, above) == (want if want < 0 else lo + want)


@given(st.integers(0, 2**31 - 1), st.integers(0, 60), st.floats(0.0, 20.0))
@settings(max_examples=80, deadline=None)
def test_first_away_matches_naive_twin(seed, n, band):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 10, n)
    lo = int(rng.integers(0, n + 1))
    hi = int(rng.integers(lo, n + 1))
    want = naive_first_away(x[lo:hi], band)
    assert zk._first_away(x, lo, hi, band) == (want if want < 0 else lo + want)


@given(st.integers(0, 2**31 - 1), st.integers(0, 400), st.floats(0.5, 60.0), st.integers(-1, 30))
@settings(max_examples=80, deadline=None)
def test_posture_slots_match_naive_twin(seed, n, hz, slot):
    rng = np.random.default_rng(seed)
    t = 100.0 + np.cumsum(rng.choice([0.01, 0.003, 0.04, 0.7], n, p=[0.85, 0.05, 0.05, 0.05]))  # jitter, gaps
    t_first = 100.0 + float(rng.uniform(-0.05, 0.05))
    start = -np.inf if slot < 0 else float(slot)
    out = np.empty(n, dtype=np.int64)
    m, last = zk._posture_slots(t, t_first, hz, start, out)
    assert (out[:m].tolist(), last) == naive_posture_slots(t, t_first, hz, start)


def test_zigzag_edge_cases():
    state = np.zeros(zk.ZZ_STATE_SIZE)
    buf = [np.empty(4, dtype=np.int64) for _ in range(3)]
    assert zk._zigzag_run(np.zeros(0), 0, 1.0, state, *buf) == 0  # empty block
    assert zk._zigzag_run(np.array([5.0, 5.0, 5.0]), 0, 1.0, state, *buf) == 0  # plateau: no turning point
    assert zk._zigzag_run(np.array([0.0]), 3, 1.0, state, *buf) == 1  # 5 -> 0 confirms the maximum at 0
    assert (buf[0][0], buf[1][0], buf[2][0]) == (0, 3, 1)


# -- chunk invariance ------------------------------------------------------------------------------

def _run(samples: Samples, cuts: list[int], exercise: str | None):
    analyzer = Analyzer(exercise=exercise)
    events = []
    bounds = [0, *sorted(set(cuts)), len(samples)]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        events += analyzer.push(samples[a:b])
    return analyzer.finish().to_json(), events, analyzer.trace()


@pytest.fixture(scope="module")
def whole_run(short_deadlift):
    rec, _ = short_deadlift
    return {ex: _run(rec.samples, [], ex) for ex in ("deadlift", None)}


@given(cuts=st.lists(st.integers(1, 20000), max_size=30), exercise=st.sampled_from(["deadlift", None]))
@settings(max_examples=12, deadline=None)
def test_any_split_gives_the_identical_report_and_events(short_deadlift, whole_run, cuts, exercise):
    rec, _ = short_deadlift
    n = len(rec.samples)
    report, events, trace = _run(rec.samples, [c % n for c in cuts if c % n], exercise)
    whole_report, whole_events, whole_trace = whole_run[exercise]
    assert report == whole_report
    assert events == whole_events
    np.testing.assert_array_equal(trace.flexion_deg, whole_trace.flexion_deg)


def test_ten_sample_blocks_give_the_identical_report(short_deadlift, whole_run):
    rec, _ = short_deadlift
    report, events, _ = _run(rec.samples, list(range(10, len(rec.samples), 10)), "deadlift")
    assert report == whole_run["deadlift"][0]
    assert events == whole_run["deadlift"][1]


@pytest.mark.parametrize("exercise", ["deadlift", None])
def test_batch_analysis_without_events_gives_the_identical_report(short_deadlift, whole_run, exercise):
    rec, _ = short_deadlift
    analyzer = Analyzer(exercise=exercise, events=False)
    assert analyzer.push(rec.samples[:5000]) == [] and analyzer.push(rec.samples[5000:]) == []
    assert analyzer.finish().to_json() == whole_run[exercise][0]
    assert any(isinstance(e, FlagRaised) for e in whole_run[exercise][1])  # (the live run had cues to skip)


# -- events ----------------------------------------------------------------------------------------

def test_events_tell_the_story_of_the_sets(short_deadlift, whole_run):
    rec, truth = short_deadlift
    _, events, _ = whole_run["deadlift"]
    started = [e for e in events if isinstance(e, SetStarted)]
    ended = [e for e in events if isinstance(e, SetEnded)]
    reps: list[RepCompleted] = []  # what a live view shows: a discarded set takes its reps away
    for e in events:
        if isinstance(e, RepCompleted):
            reps.append(e)
        elif isinstance(e, SetDiscarded):
            reps = [r for r in reps if r.set_index != e.set_index]
    assert len(ended) == len(truth.sets) == 2
    assert len(started) - sum(isinstance(e, SetDiscarded) for e in events) == 2
    assert len(reps) == sum(len(s.reps) for s in truth.sets)
    times = [e.t_s for e in events]
    assert times == sorted(times)  # events come in data-time order
    # every rep is reported once it has ended, within 0.5 s of its true end (data time)
    truth_ends = [r.end_s for s in truth.sets for r in s.reps]
    for event, end_s in zip(reps, truth_ends, strict=True):
        assert -0.3 <= event.t_s - end_s <= 0.5
        assert event.t_s >= event.rep.turn_s


def test_a_set_closed_by_the_end_of_the_recording_raises_its_events_at_finish(short_deadlift):
    rec, truth = short_deadlift
    last_end_s = truth.sets[-1].reps[-1].end_s
    analyzer = Analyzer(exercise="deadlift")
    events = analyzer.push(rec.samples.between(rec.samples.t[0], rec.samples.t[0] + last_end_s + 1.0))
    assert sum(isinstance(e, SetEnded) for e in events) == 1  # the second set is still open
    report = analyzer.finish()
    ended = [e for e in analyzer.final_events if isinstance(e, SetEnded)]
    assert len(report.sets) == 2 and [e.set_report.index for e in ended] == [2]
    assert ended[0].set_report == report.sets[1]


def test_sets_do_not_overlap_when_two_trackers_see_one_movement():
    """A deadlift session at 12.5 Hz without a gyroscope, told squat: the hips' and the trunk's trackers both
    follow it, and a trip of one that began within the other's set, reported, ended after that set closed. It
    was taken as the first rep of a new set (two sets sharing a movement, 59.4 s < 61.7 s): a movement belongs to
    one set."""
    rec, _ = _session(3, "deadlift", sets=2, reps=5, rate_hz=100.0, noise=True,
                      fault_kinds=("rounding", "momentum", "partial", "twist"))
    t, acc = rec.samples.t, rec.samples.acc
    t12 = np.arange(t[0], t[-1], 0.08)
    acc12 = np.stack([np.interp(t12, t, acc[:, c]) for c in range(3)], axis=1)
    for exercise in ("squat", "front-squat", None):
        analyzer = Analyzer(exercise=exercise, accelerometer_only=True, events=False)
        analyzer.push(Samples(t12, acc12, None))
        sets = analyzer.finish().sets
        assert len(sets) >= 2
        for earlier, later in zip(sets, sets[1:], strict=False):
            assert later.start_s >= earlier.end_s, (exercise, earlier.end_s, later.start_s)


def test_reps_after_a_sensor_turned_on_the_body_are_measured_from_the_new_neutral():
    """The bundled demo with the sensor turned 180 deg about the skin normal at 60 s, in the rest after set 1 (a phone
    put back in its pack the other way; the gyroscope's bias stays in the sensor's frame). The turn is taken in at
    the second still run standing in the new pose, a lockout of set 3 (136 s): the angles jump from ~175 deg to the
    new neutral's there. Before, the tracker waited for the floor pose of 175 deg to come back, and nothing after the
    jump was a rep; now the smoothing, the turning points and the trips start afresh there, the set under way ends,
    and the set's later reps read as set 1's did. Any split gives the same report."""
    from sensor.recording import read_recording

    demo = read_recording(Path(__file__).resolve().parents[1] / "recordings" / "demo_deadlift.csv").samples
    t_rel = demo.t - demo.t[0]
    bias = demo.gyro[(t_rel > 1.5) & (t_rel < 6.0)].mean(axis=0)  # standing still
    turned = t_rel > 60.0
    rot = np.diag([-1.0, -1.0, 1.0])  # 180 deg about the sensor's z axis, the skin normal
    acc, gyro = demo.acc.copy(), demo.gyro.copy()
    acc[turned], gyro[turned] = acc[turned] @ rot.T, (gyro[turned] - bias) @ rot.T + bias
    samples = Samples(demo.t, acc, gyro)
    reports = []
    for block_n in (len(samples), 777, 10):
        analyzer = Analyzer(exercise="deadlift", events=False)
        for i in range(0, len(samples), block_n):
            analyzer.push(samples[i : i + block_n])
        reports.append(analyzer.finish())
    assert reports[1] == reports[0] and reports[2] == reports[0]
    moved = next(note for note in reports[0].notes if note.startswith("The sensor turned on the body 1 time"))
    moved_s = float(re.search(r"last seen at ([0-9.]+) s", moved).group(1))
    assert 130.0 < moved_s < 140.0
    # live: the same events whether a block begins at the sample the neutral is taken again at, or not
    cut = int(np.flatnonzero(TrunkOrientation().process(samples).reanchored)[0])
    events = []
    for parts in ((samples,), (samples[:cut], samples[cut:]), (samples[: cut + 1], samples[cut + 1 :])):
        analyzer = Analyzer(exercise="deadlift")
        pushed = [e for part in parts for e in analyzer.push(part)]
        analyzer.finish()
        events.append(pushed + analyzer.final_events)
    assert events[1] == events[0] and events[2] == events[0]
    assert sum(isinstance(e, CalibrationDone) and e.refreshed for e in events[0]) == 1
    sets = reports[0].sets
    assert all(s.end_s < moved_s or s.start_s > moved_s for s in sets)
    first_peak = np.median([r.peak_flexion_deg for r in sets[0].reps])
    after = [r.peak_flexion_deg for s in sets if s.start_s > moved_s for r in s.reps]
    assert len(after) >= 2 and all(abs(p - first_peak) < 10.0 for p in after)
    # (the sets between the turn and then read ~175 deg: no lift bends so far, and the notes say so)
    odd = [s.index for s in sets if min(r.peak_flexion_deg for r in s.reps) > 150.0]
    assert odd == [2, 3] and "Sets 2, 3 peaked past 150° of trunk flexion" in " ".join(reports[0].notes)
    as_recorded = Analyzer(exercise="deadlift", events=False)
    as_recorded.push(demo)
    assert not any("peaked past" in note for note in as_recorded.finish().notes)


def test_rounding_is_flagged_as_it_happens(short_deadlift, whole_run):
    rec, truth = short_deadlift
    _, events, _ = whole_run["deadlift"]
    rounded = truth.sets[1].reps[3]
    assert "rounding" in rounded.labels
    cues = [e for e in events if isinstance(e, FlagRaised) and e.flag.kind == "rounding"
            and rounded.start_s - 0.5 <= e.t_s <= rounded.end_s]
    assert len(cues) == 1  # the cue does not wait for the end of the rep or of the set
    cue = cues[0]
    assert cue.set_index == 2 and cue.rep_index == 4
    rep_done = next(e for e in events if isinstance(e, RepCompleted) and e.set_index == 2 and e.rep.index == 4)
    assert cue.t_s < rep_done.t_s
    report = report_from_dict(json.loads(whole_run["deadlift"][0]))
    flagged = [(s.index, r.index) for s in report.sets for r in s.reps if any(f.kind == "rounding" for f in r.flags)]
    assert flagged == [(2, 4)]
    assert cue.flag.unit == "deg" and cue.flag.value > cue.flag.threshold


# -- settings, memory, modes -----------------------------------------------------------------------

def test_unknown_exercise_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="unknown exercise 'curl'; known: .*deadlift"):
        Analyzer(exercise="curl")


def test_live_memory_is_bounded_by_settings(short_deadlift):
    rec, _ = short_deadlift
    analyzer = Analyzer(AnalyzerSettings(keep_trace=False), exercise="deadlift")
    capacity = analyzer._history._data.shape
    for _ in range(3):  # the same session three times over: 3x longer, same memory
        shifted = Samples(rec.samples.t + (_ * (rec.samples.t[-1] + 1.0)), rec.samples.acc, rec.samples.gyro)
        for a in range(0, len(shifted), 50):
            analyzer.push(shifted[a : a + 50])
    assert analyzer._history._data.shape == capacity
    assert analyzer._trace_blocks == []
    assert len(analyzer.finish().sets) >= 6


def test_accelerometer_only_recording_runs_in_reduced_mode(short_deadlift):
    rec, truth = short_deadlift
    analyzer = Analyzer(exercise="deadlift", accelerometer_only=True)
    analyzer.push(Samples(rec.samples.t, rec.samples.acc, None))
    report = analyzer.finish()
    assert any("Accelerometer-only" in note for note in report.notes)
    assert sum(len(s.reps) for s in report.sets) == sum(len(s.reps) for s in truth.sets)
    assert all(r.peak_twist_deg is None for s in report.sets for r in s.reps)


def test_empty_and_one_sample_blocks_are_taken_in_stride(short_deadlift, whole_run):
    rec, _ = short_deadlift
    analyzer = Analyzer(exercise="deadlift")
    assert analyzer.push(Samples.empty()) == []
    events = []
    for a in range(0, 300):  # one sample at a time at the start, with empty blocks between
        events += analyzer.push(rec.samples[a : a + 1]) + analyzer.push(rec.samples[a:a])
    events += analyzer.push(rec.samples[300:])
    assert analyzer.finish().to_json() == whole_run["deadlift"][0]
    assert events == whole_run["deadlift"][1]


def test_analyze_refuses_a_recording_without_samples(tmp_path, capsys):
    from sensor.cli import main
    from sensor.recording import Recording, RecordingMeta, write_recording

    path = tmp_path / "empty.csv"
    write_recording(path, Recording(Samples.empty(), RecordingMeta(format="backcheck")))
    assert main(["analyze", str(path), "--out", str(tmp_path / "out")]) == 3
    assert "the recording holds 0 samples; nothing to analyse" in capsys.readouterr().err


def test_report_settings_are_the_settings_as_dict():
    chosen = AnalyzerSettings(flags=FlagSettings(flexion_limit_deg=40.0), keep_trace=False)
    assert repr(_as_dict(chosen)) == repr(asdict(chosen))


def test_frozen_instance_is_what_the_dataclass_builds():
    flag = Flag("rounding", 3.5, 41.2, 38.0, "deg", "Rounded.")
    rep = Rep(index=2, start_s=1.0, turn_s=2.25, end_s=3.5, eccentric_s=1.25, pause_bottom_s=None, concentric_s=1.0,
              pause_top_s=0.5, tempo="1-?-1-0", peak_flexion_deg=41.2, rom_deg=30.1, peak_velocity_dps=88.0,
              sway_deg=None, peak_lateral_deg=2.0, peak_twist_deg=None, flags=(flag,))
    posture = PostureUpdate(12.5, -3.25, 1.5, True)
    for made in (rep, posture):
        fast = frozen_instance(type(made), **{f.name: getattr(made, f.name) for f in fields(made)})
        assert fast == made and repr(fast) == repr(made) and hash(fast) == hash(made)
        assert asdict(fast) == asdict(made)
        with pytest.raises(AttributeError):  # still frozen
            fast.t_s = 0.0


def test_tempo_option_becomes_the_tempo_settings():
    import argparse

    from analysis.summary_text import prescribed_tempo
    from sensor.cmd_analyze import settings_for, tempo_overrides

    assert tempo_overrides("3-1-X-0") == tempo_overrides("31x0") == [
        "flags.tempo_eccentric_s=3.0", "flags.tempo_pause_bottom_s=1.0", "flags.tempo_pause_top_s=0.0"]
    flags = settings_for(None, overrides=tempo_overrides("2.5-0.5-1-X")).flags
    assert (flags.tempo_eccentric_s, flags.tempo_pause_bottom_s, flags.tempo_concentric_s,
            flags.tempo_pause_top_s) == (2.5, 0.5, 1.0, None)
    for bad in ("3-1", "3-1-1-0-2", "3-a-1-0", "31X", "3--1-0"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected four phases E-P-C-P"):
            tempo_overrides(bad)
    report = Analyzer(settings_for(None, overrides=tempo_overrides("3-1-X-0"))).finish()
    assert prescribed_tempo(report.settings["flags"]) == (
        "Tempo set: 3-1-X-0 (s; X: no target); a phase more than 0.5 s shorter is flagged.")
    assert prescribed_tempo(Analyzer().finish().settings["flags"]) is None


@pytest.mark.parametrize(("overrides", "limit", "message"), [
    (["flags.rounding_margin_deg=none"], None, "flags.rounding_margin_deg needs a value (it cannot be none)"),
    (["flags.rounding_margin_deg=nan"], None, "expected a finite number, 0 or more"),
    (["segmentation.smoothing_time_constant_s=-1"], None, "expected a finite number, 0 or more"),
    (["flags.baseline_reps=0"], None, "expected a whole number from 1"),
    (["flags.baseline_reps=2.5"], None, "'2.5' is not a whole number"),
    (["flags.rounding_margin_deg"], None, "expected SECTION.NAME=VALUE"),
    ([], -10.0, "--flexion-limit -10: expected your hinge limit in degrees, between 0 and 180"),
    ([], math.inf, "--flexion-limit inf: expected your hinge limit in degrees"),
])
def test_settings_from_the_command_line_are_checked(overrides, limit, message):
    """A setting the analysis cannot use is refused in one sentence, not run with (nan turns a flag off
    silently; a negative time constant finds nothing; none where a number is needed is a traceback)."""
    from sensor.cmd_analyze import settings_for

    with pytest.raises(InputError, match=re.escape(message)):
        settings_for(limit, overrides=overrides)
    assert settings_for(60.0, overrides=["flags.flexion_limit_deg=none", "flags.baseline_reps=3"]).flags == (
        FlagSettings(flexion_limit_deg=None, baseline_reps=3))
