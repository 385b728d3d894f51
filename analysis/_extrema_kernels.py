"""Numba kernels: the per-sample rows the Analyzer derives, and hysteresis turning-point (zig-zag) detection.

`_derive_run`: causal smoothing (two cascaded one-pole low-passes with each sample's own dt, exact
under jitter and gaps) and the vertical velocity and height, in one pass over a block.

`_zigzag_run`: confirms a maximum once the signal has fallen `hysteresis` below the running
maximum (and a minimum symmetrically), so every turning point is reported at the first sample
that proves it, never earlier.

`_scan_trip`, `_first_crossing`, `_first_away`, `_posture_slots`: the live checks over a block (a trip's end,
the rounding cue's level, a lifter leaving the bar, the posture slots), in place of NumPy calls on tiny arrays.
"""

from __future__ import annotations

import math

from numba import njit

from analysis.columns import ACC_DEV as ACC_DEV_ROW
from analysis.columns import FLEX as FLEX_ROW
from analysis.columns import FLEX_SMOOTH as FLEX_SMOOTH_ROW
from analysis.columns import HEIGHT as HEIGHT_ROW
from analysis.columns import LATERAL as LATERAL_ROW
from analysis.columns import RATE_SMOOTH as RATE_SMOOTH_ROW
from analysis.columns import TWIST_RATE as TWIST_ROW
from analysis.columns import VELOCITY as VELOCITY_ROW
from analysis.columns import T as T_ROW

# low-pass state: started, y1, y2, t_prev
LP_STATE_SIZE = 5
VERTICAL_STATE_SIZE = 9
# zig-zag state: direction (+1 seeking a maximum, -1 a minimum, 0 either), max, max index, min, min index
ZZ_DIR, ZZ_MAX, ZZ_MAX_I, ZZ_MIN, ZZ_MIN_I, ZZ_STARTED = range(6)
ZZ_STATE_SIZE = 6


@njit(cache=True)
def _zigzag_run(x, first_index, hysteresis, state, ext_index, ext_confirm, ext_kind):
    """Turning points of x; returns how many were written.

    ext_index: global index of the extreme sample; ext_confirm: global index of the sample that
    proved it; ext_kind: +1 maximum, -1 minimum. Output arrays must hold len(x) entries.
    """
    direction, hi, hi_i, lo, lo_i, started = (state[ZZ_DIR], state[ZZ_MAX], state[ZZ_MAX_I], state[ZZ_MIN],
                                              state[ZZ_MIN_I], state[ZZ_STARTED])
    n_ext = 0
    for i in range(x.size):
        y = x[i]
        gi = first_index + i
        if started == 0.0:
            started, hi, lo, hi_i, lo_i = 1.0, y, y, gi, gi
        if y > hi:
            hi, hi_i = y, gi
        if y < lo:
            lo, lo_i = y, gi
        if direction >= 0.0 and hi - y >= hysteresis:
            ext_index[n_ext], ext_confirm[n_ext], ext_kind[n_ext] = hi_i, gi, 1
            n_ext += 1
            direction, lo, lo_i = -1.0, y, gi
        elif direction <= 0.0 and y - lo >= hysteresis:
            ext_index[n_ext], ext_confirm[n_ext], ext_kind[n_ext] = lo_i, gi, -1
            n_ext += 1
            direction, hi, hi_i = 1.0, y, gi
    state[ZZ_DIR], state[ZZ_MAX], state[ZZ_MAX_I], state[ZZ_MIN], state[ZZ_MIN_I], state[ZZ_STARTED] = (
        direction, hi, hi_i, lo, lo_i, started)
    return n_ext


# "contract" lets LLVM fuse multiply-adds (each sample still runs the same code: chunk invariance holds)
@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _derive_run(t, flexion, rate, lateral, twist, acc_norm, gravity, tau_s, vertical_tau_s, mean_tau_s, gap_s,
                glitch_mps2, lp_flex, lp_rate, vertical, out):
    """One pass per block for what the Analyzer keeps per sample: fills the rows of `out` (see
    analysis.columns) from the orientation's output. twist may be None (accelerometer only): the
    twist row is then 0.

    Smoothed flexion and rate: two cascaded one-pole low-passes with time constant tau_s, using each
    sample's own dt (exact under jitter and gaps); across a gap in the data longer than gap_s the rate
    taken in is the flexion's mean rate over it (a rep's return lost in a dropout still shows as one);
    state (lp_flex, lp_rate): started, y1, y2, t_prev, and in lp_flex the last flexion.

    Vertical velocity (m/s) and height (m) of the sensor from the deviation |acc| - g, which is, to
    first order, the vertical linear acceleration whatever the sensor's orientation. Its slow mean (time
    constant mean_tau_s: the sensor's own reading of gravity, bias and scale error; over the first
    mean_tau_s the plain average so far, so one jolted first sample is soon outweighed) is taken off,
    then two leaky integrators (time constant vertical_tau_s) give velocity and height that return to
    zero at rest, so drift cannot build up. Across a gap longer than gap_s (a dropout, whose acceleration
    is unknown and, over a rep, as often up as down) the sample after it counts as one ordinary step (the
    last one up to gap_s) in the velocity and in the slow mean, not as held over the whole gap; the leaks
    run over the gap. A deviation that jumps by more than glitch_mps2 from the last one (no body moves so
    from one sample to the next: an electrical or bus glitch, a clipped reading) is held at the last one, for
    up to two samples (a longer change is taken in): one spike would otherwise kick the velocity and the
    RMS of a rep's stillness tests (the ACC_DEV row holds the held value too). state (vertical,
    VERTICAL_STATE_SIZE): started, v, h, t_prev, mean, t_first, the last step up to gap_s (the first step,
    before any), the last deviation, how many samples in a row it was held.
    """
    started, t_prev, flex_prev = lp_flex[0], lp_flex[3], lp_flex[4]  # locals: no store per sample
    f1, f2, r1, r2 = lp_flex[1], lp_flex[2], lp_rate[1], lp_rate[2]
    v, h, mean, t_first, step = vertical[1], vertical[2], vertical[4], vertical[5], vertical[6]
    dev_prev, held = vertical[7], vertical[8]
    leak = 1.0 / vertical_tau_s  # (a product, not a division, on the integrators' sample-to-sample chain)
    for i in range(t.size):  # the rows taken as they are (a loop that vectorizes), then the filters' chains
        out[T_ROW, i] = t[i]
        out[FLEX_ROW, i] = flexion[i]
        out[LATERAL_ROW, i] = lateral[i]
        out[TWIST_ROW, i] = 0.0 if twist is None else twist[i]
    for i in range(t.size):
        ti = t[i]
        deviation = acc_norm[i] - gravity
        if started != 0.0 and abs(deviation - dev_prev) > glitch_mps2 and held < 2.0:
            deviation, held = dev_prev, held + 1.0
        else:
            held = 0.0
        dev_prev = deviation
        out[ACC_DEV_ROW, i] = abs(deviation)
        if started == 0.0:
            started = 1.0
            f1 = f2 = flexion[i]
            r1 = r2 = rate[i]
            mean, t_first = deviation, ti
        else:
            dt = ti - t_prev
            a = dt / (tau_s + dt)
            f1 += a * (flexion[i] - f1)
            f2 += a * (f1 - f2)
            r1 += a * ((rate[i] if dt <= gap_s else (flexion[i] - flex_prev) / dt) - r1)
            r2 += a * (r1 - r2)
            if dt <= gap_s or step == 0.0:
                step = dt
            mean += step / (min(mean_tau_s, t_prev - t_first) + step) * (deviation - mean)
            if dt <= gap_s:
                v += dt * (deviation - mean - v * leak)
            else:  # a dropout: one ordinary step's worth of this sample's acceleration, the leak over all of it
                v += step * (deviation - mean) - dt * v * leak
            h += dt * (v - h * leak)
        t_prev, flex_prev = ti, flexion[i]
        out[FLEX_SMOOTH_ROW, i] = f2
        out[RATE_SMOOTH_ROW, i] = r2
        out[VELOCITY_ROW, i] = v
        out[HEIGHT_ROW, i] = h
    lp_flex[0], lp_flex[1], lp_flex[2], lp_flex[3], lp_flex[4] = started, f1, f2, t_prev, flex_prev
    lp_rate[0], lp_rate[1], lp_rate[2], lp_rate[3] = started, r1, r2, t_prev
    vertical[0], vertical[1], vertical[2], vertical[3], vertical[4], vertical[5] = started, v, h, t_prev, mean, t_first
    vertical[6], vertical[7], vertical[8] = step, dev_prev, held


@njit(cache=True)
def _scan_trip(cols, row, rate_row, lo, hi, sign, home_s, band, back_peak, min_return, t_turn, max_trip_s):
    """First column in [lo, hi) of `cols` (rows of analysis.columns; x = cols[row], rate = cols[rate_row])
    where a trip out from home is complete or abandoned (TripTracker.scan).

    Complete: back within `band` of home (s = sign * x), the return having reached min_return and
    slowed to 10 % of its running peak speed. Abandoned: more than max_trip_s after the turn.
    Returns (1 complete | 2 abandoned | 0 neither, column or -1, peak return speed so far).
    """
    peak = back_peak
    for i in range(lo, hi):
        back = -sign * cols[rate_row, i]
        if back > peak:
            peak = back
        if sign * cols[row, i] - home_s <= band and peak >= min_return and back <= 0.1 * peak:
            return 1, i, peak
        if cols[T_ROW, i] - t_turn > max_trip_s:
            return 2, i, peak
    return 0, -1, peak


@njit(cache=True)
def _first_crossing(x, lo, hi, level, above):
    """Index of the first sample of x[lo:hi] above `level` (above=True) or below it (above=False), counted
    from x[0]; -1 if none."""
    for i in range(lo, hi):
        if (x[i] > level) if above else (x[i] < level):
            return i
    return -1


@njit(cache=True)
def _first_away(x, lo, hi, band):
    """Index of the first sample of x[lo:hi] further than `band` from x[lo] (|x[i] - x[lo]| > band),
    counted from x[0]; -1 if none."""
    for i in range(lo, hi):
        if abs(x[i] - x[lo]) > band:
            return i
    return -1


@njit(cache=True)
def _posture_slots(t, t_first, hz, slot, out):
    """Indices of the samples of t that start a posture slot, written into `out`.

    Slot k is data time [t_first + k / hz, t_first + (k + 1) / hz). The slot after `slot` (the last one
    reported) starts at the first sample at or after its beginning; the next is counted from that
    sample's own slot, so a gap in the data skips the slots it covers. Returns (how many were written,
    the last slot reported).
    """
    m = 0
    j = 0
    boundary = t_first + (slot + 1.0) / hz
    while t.size > 0 and t[-1] >= boundary:
        while t[j] < boundary:
            j += 1
        out[m] = j
        m += 1
        slot = max(float(math.floor((t[j] - t_first) * hz)), slot + 1.0)
        boundary = t_first + (slot + 1.0) / hz
    return m, slot
