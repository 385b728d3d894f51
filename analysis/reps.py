"""Measuring one rep from its stretch of trunk trace: phase times, depth, range, speed, sway.

A rep is a trip from the set's home position (standing for top-start lifts, the floor for
deadlifts, the held inclination for rows) out to a turning point and back. Work is done in
"excursion" units s = sign * flexion, so the trip always goes up and back down.

Phase boundaries follow the trunk's angular velocity. Human point-to-point movements start and end
smoothly (velocity rising from zero with near-zero acceleration, as in the minimum-jerk model), so a
velocity threshold alone fires late at a start and early at an end. backcheck finds the times where
the velocity passes a low and a four times higher fraction of the phase's peak and extrapolates the
onset as if the velocity grew with the square of time from it: onset = 2 t(low) - t(high) (mirrored
for arrivals). The low fraction is 5 % (the extrapolation then errs by about 1 % of the phase on a
minimum-jerk movement), raised up to 10 % for slow movements so it stays above the sensor's noise.

The phase times (`_time_rep`) and the rep's depth, range, sway, twist and walking RMS
(`_rep_numbers`) come from small Numba kernels, a few µs per rep, called with the trip's earliest start
(`_trip_start`) in one call (`_measure_trip`); their NumPy twins are in tests/naive.py.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from analysis.columns import ACC_DEV as ACC_DEV_ROW
from analysis.columns import FLEX as FLEX_ROW
from analysis.columns import HEIGHT as HEIGHT_ROW
from analysis.columns import LATERAL as LATERAL_ROW
from analysis.columns import RATE_SMOOTH as RATE_SMOOTH_ROW
from analysis.columns import TWIST_RATE as TWIST_ROW
from analysis.columns import T as T_ROW

NOISE_DPS = 1.0  # angular-rate noise the low threshold must stay above (deg/s, after smoothing)


class RepTiming(NamedTuple):
    """Times (s) of one trip home -> turning point -> home; phases in the trip's own order. (A tuple:
    cheap per trip.)"""

    start_s: float  # leaves home
    arrive_s: float  # reaches the turning point
    depart_s: float  # leaves the turning point
    end_s: float  # back home
    out_peak_dps: float  # peak |angular velocity| going out
    back_peak_dps: float  # peak |angular velocity| coming back

    @property
    def turn_s(self) -> float:
        return 0.5 * (self.arrive_s + self.depart_s)


@njit(cache=True)
def _crossing(t, v, sign, level, i_from, step):
    """Time where sign * v first falls below `level` walking from i_from in direction step
    (interpolated); the first or last time if it never does."""
    j = i_from + step
    while 0 <= j < t.size and not sign * v[j] < level:
        j += step
    if j < 0:
        return t[0]
    if j >= t.size:
        return t[-1]
    i = j - step  # sign * v[i] >= level > sign * v[j]: interpolate between the two samples
    vi, vj = sign * v[i], sign * v[j]
    frac = (vi - level) / (vi - vj) if vi != vj else 0.0
    return t[i] + frac * (t[j] - t[i])


@njit(cache=True)
def _onset(t, v, sign, i_peak, step):
    """Extrapolated onset (step=-1) or arrival (step=+1) of a pulse of sign * v peaking at i_peak."""
    peak = sign * v[i_peak]
    low = min(max(0.05, NOISE_DPS / peak), 0.1) if peak > 0 else 0.1
    t_low = _crossing(t, v, sign, low * peak, i_peak, step)
    t_high = _crossing(t, v, sign, 4.0 * low * peak, i_peak, step)  # sqrt(4) = 2: the factor below
    return 2.0 * t_low - t_high


@njit(cache=True)
def _time_rep(t, v, sign, i_start, i_turn, i_end):
    """time_rep on the excursion velocity sign * v; returns RepTiming's six fields."""
    i_out = i_start
    for i in range(i_start + 1, i_turn + 1):
        if sign * v[i] > sign * v[i_out]:
            i_out = i
    i_back = i_turn
    for i in range(i_turn + 1, i_end + 1):
        if sign * v[i] < sign * v[i_back]:
            i_back = i
    start = _onset(t, v, sign, i_out, -1)
    arrive = _onset(t, v, sign, i_out, +1)
    depart = _onset(t, v, -sign, i_back, -1)
    end = _onset(t, v, -sign, i_back, +1)
    start = max(start, t[i_start])
    arrive = max(arrive, start)
    if depart < arrive:  # no dwell at the turn: both meet at the middle
        arrive = depart = 0.5 * (arrive + depart)
    end = max(end, depart)
    return start, arrive, depart, end, sign * v[i_out], -sign * v[i_back]


@njit(cache=True)
def _home_start(t, x, v, sign, start, i_turn, home_fraction):
    """The trip's start (s) moved back to the onset of an earlier pulse of sign * v for as long as the
    excursion sign * x there is still more than home_fraction of the way from x[0] to x[i_turn]: a burst
    late in a slow phase (the back rounding at the end of a slow descent) outpeaks the phase itself, and
    the onset of the fastest pulse is then where the burst began, not where the trip did."""
    j = np.searchsorted(t, start)
    while 0 < j <= i_turn and sign * (x[j] - x[0]) > home_fraction * sign * (x[i_turn] - x[0]):
        i_peak = 0
        for i in range(1, j + 1):
            if sign * v[i] > sign * v[i_peak]:
                i_peak = i
        if sign * v[i_peak] <= 0.0:
            break
        earlier = _onset(t, v, sign, i_peak, -1)
        if earlier >= start:
            break
        start = max(earlier, t[0])
        j = np.searchsorted(t, start)
    return start


@njit(cache=True)
def _home_end(t, x, v, sign, end, i_turn, home_fraction):
    """The trip's end (s), moved on to the end of a later pulse of the return likewise (a jerk off the turn
    and then a slow return)."""
    n = t.size - 1
    j = np.searchsorted(t, end)
    while i_turn <= j < n and sign * (x[j] - x[n]) > home_fraction * sign * (x[i_turn] - x[n]):
        i_peak = j
        for i in range(j + 1, n + 1):
            if sign * v[i] < sign * v[i_peak]:
                i_peak = i
        if sign * v[i_peak] >= 0.0:
            break
        later = _onset(t, v, -sign, i_peak, +1)
        if later <= end:
            break
        end = min(later, t[n])
        j = np.searchsorted(t, end)
    return end


def time_rep(t: np.ndarray, v: np.ndarray, i_start: int, i_turn: int, i_end: int, sign: float = 1.0) -> RepTiming:
    """Phase times of one trip.

    t: times (s); sign * v: excursion velocity (deg/s, positive going out); i_start..i_end spans the
    trip (from somewhere in the home dwell before it to its completion) and i_turn is the turning point.
    """
    return RepTiming(*_time_rep(t, v, sign, i_start, i_turn, i_end))


@njit(cache=True)
def _pairwise_sum_of_squares(x, a, n):
    """Sum of x[a:a+n]**2 in NumPy's pairwise order (so an RMS matches np.mean to the last bit)."""
    if n < 8:
        s = 0.0
        for i in range(a, a + n):
            s += x[i] * x[i]
        return s
    if n <= 128:
        r = np.empty(8)
        for j in range(8):
            r[j] = x[a + j] * x[a + j]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += x[a + i + j] * x[a + i + j]
            i += 8
        s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            s += x[a + i] * x[a + i]
            i += 1
        return s
    half = n // 2
    half -= half % 8
    return _pairwise_sum_of_squares(x, a, half) + _pairwise_sum_of_squares(x, a + half, n - half)


@njit(cache=True)
def _mean(x):
    """np.mean(x), bit for bit: NumPy's pairwise sum (eight running sums over blocks of up to 128 values;
    above 128, the sum of two halves, the first a multiple of 8) over the size. The halves are walked
    with a stack: a second recursive kernel in `_measure_trip`'s calls crashes when loaded from Numba's
    cache."""
    starts, sizes, opened = np.empty(64, np.int64), np.empty(64, np.int64), np.zeros(64, np.bool_)
    sums = np.empty(64)
    top, m = 0, 0
    starts[0], sizes[0] = 0, x.size
    while top >= 0:
        a, n = starts[top], sizes[top]
        if n <= 128:
            s = 0.0
            if n < 8:
                for i in range(a, a + n):
                    s += x[i]
            else:
                r = x[a:a + 8].copy()
                i = 8
                while i < n - n % 8:
                    for j in range(8):
                        r[j] += x[a + i + j]
                    i += 8
                s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
                for k in range(a + i, a + n):
                    s += x[k]
            sums[m] = s
            m += 1
            top -= 1
        elif not opened[top]:  # the right half, then the left one on top (summed first)
            opened[top] = True
            half = n // 2 - (n // 2) % 8
            starts[top + 1], sizes[top + 1], opened[top + 1] = a + half, n - half, False
            starts[top + 2], sizes[top + 2], opened[top + 2] = a, half, False
            top += 2
        else:  # both halves summed
            sums[m - 2] += sums[m - 1]
            m -= 1
            top -= 1
    return sums[0] / x.size


@njit(cache=True)
def _rms(x, a, b):
    """Root mean square of x[a:b]; NaN for fewer than two samples (too short to tell)."""
    return math.sqrt(_pairwise_sum_of_squares(x, a, b - a) / (b - a)) if b - a >= 2 else math.nan


@njit(cache=True)
def _rep_numbers(cols, start, arrive, depart, end, i_turn):
    """What a rep reports from its stretch of history `cols` (rows of analysis.columns), given its
    phase times (s) and the turning point's column.

    Returns a, b: the columns [a, b) from the start to the end (the turn always inside); flexion
    max and min (deg), max |lateral| (deg) and max |twist| (deg, trapezoidal integral of the twist
    rate from a) over [a, b); RMS of acc_dev over [a, b) and over the hold at the turn, [arrive,
    depart] (m/s², see _rms); peak flexion rate over [start, arrive] and peak return rate over
    [depart, end] (deg/s, 0 when no sample lies there); the hips' travel, max - min of the height
    over [a, b) (m).
    """
    t = cols[T_ROW]
    a = min(np.searchsorted(t, start), i_turn)
    b = max(np.searchsorted(t, end), i_turn + 1)
    flex_max = flex_min = cols[FLEX_ROW, a]
    lateral_max = abs(cols[LATERAL_ROW, a])
    height_max = height_min = cols[HEIGHT_ROW, a]
    twist = twist_max = 0.0
    for i in range(a + 1, b):
        flex_max = max(flex_max, cols[FLEX_ROW, i])
        flex_min = min(flex_min, cols[FLEX_ROW, i])
        height_max = max(height_max, cols[HEIGHT_ROW, i])
        height_min = min(height_min, cols[HEIGHT_ROW, i])
        lateral_max = max(lateral_max, abs(cols[LATERAL_ROW, i]))
        twist += 0.5 * (cols[TWIST_ROW, i] + cols[TWIST_ROW, i - 1]) * (t[i] - t[i - 1])
        twist_max = max(twist_max, abs(twist))
    out_peak = back_peak = -math.inf
    for i in range(np.searchsorted(t, start), np.searchsorted(t, arrive, "right")):
        out_peak = max(out_peak, cols[RATE_SMOOTH_ROW, i])
    for i in range(np.searchsorted(t, depart), np.searchsorted(t, end, "right")):
        back_peak = max(back_peak, -cols[RATE_SMOOTH_ROW, i])
    held_a, held_b = np.searchsorted(t, arrive), np.searchsorted(t, depart, "right")
    return (a, b, flex_max, flex_min, lateral_max, twist_max, _rms(cols[ACC_DEV_ROW], a, b),
            _rms(cols[ACC_DEV_ROW], held_a, held_b), 0.0 if out_peak == -math.inf else out_peak,
            0.0 if back_peak == -math.inf else back_peak, height_max - height_min)


@njit(cache=True)
def _trip_start(t, twist_rate, i_turn, max_trip_s, limit_deg):
    """Where a trip whose turning point is column i_turn may start at the earliest: the first column
    at most max_trip_s (s) before the turn (as np.searchsorted), and after the last one, before i_turn,
    from which the trunk has turned more than limit_deg about its long axis by i_turn (trapezoidal
    integral of twist_rate, deg/s, summed back from i_turn; the lifter turned around to walk up to the bar)."""
    first = np.searchsorted(t, t[i_turn] - max_trip_s)
    turned = 0.0  # from column j + 1 to i_turn
    for j in range(i_turn - 1, first - 1, -1):
        if abs(turned) > limit_deg:
            return j + 1
        turned += 0.5 * (twist_rate[j + 1] + twist_rate[j]) * (t[j + 1] - t[j])
    return first


@njit(cache=True)
def _measure_trip(cols, i_turn, max_trip_s, limit_deg, row, rate_row, sign, still, home_fraction):
    """measure.measure's numbers of one trip in one call. cols: the trip's history (rows of
    analysis.columns), i_turn: its turning point's column. The trip is cut at its earliest start
    (`_trip_start`, with max_trip_s and limit_deg), timed by sign * cols[rate_row] (`_time_rep`; with
    still=True less the gyroscope's residual bias: the rate's mean beyond what cols[row] changed; its start
    and end kept within home_fraction of its range from home, `_home_start` and `_home_end`, unless
    home_fraction is inf), and measured (`_rep_numbers`).

    Returns the cut (-1: fewer than 4 columns left, or the turn at an end), the six RepTiming fields and
    the eleven of `_rep_numbers` (a, b counted from the cut).
    """
    late = _trip_start(cols[T_ROW], cols[TWIST_ROW], i_turn, max_trip_s, limit_deg)
    c = cols[:, late:]
    i_turn -= late
    n = c.shape[1]
    if n < 4 or not 0 < i_turn < n - 1:
        return (-1, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, 0, 0, math.nan, math.nan,
                math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    t = c[T_ROW]
    v = c[rate_row]
    if still:
        v = v - (_mean(v) - (c[row, n - 1] - c[row, 0]) / (t[n - 1] - t[0]))
    start, arrive, depart, end, out_dps, back_dps = _time_rep(t, v, sign, 0, i_turn, n - 1)
    if home_fraction < math.inf:
        start = _home_start(t, c[row], v, sign, start, i_turn, home_fraction)
        end = _home_end(t, c[row], v, sign, end, i_turn, home_fraction)
    a, b, flex_max, flex_min, lateral, twist, walk_rms, held_rms, out_peak, back_peak, travel_m = _rep_numbers(
        c, start, arrive, depart, end, i_turn)
    return (late, start, arrive, depart, end, out_dps, back_dps, a, b, flex_max, flex_min, lateral, twist,
            walk_rms, held_rms, out_peak, back_peak, travel_m)
