"""Numba kernel: one trip tracker (analysis.tracker) over a block of the Analyzer's history.

`_track_run` feeds the tracker its detector's turning points and scans the samples between them for
a trip's end (`_scan_trip`), in index order, and logs what an observer needs: every trip completed and
every change of where the lifter left home. The tracker does not depend on the sets it feeds, so the
Analyzer runs it over a whole block first and handles the log in order afterwards.

State (float64, TRACKER_STATE_SIZE): the last home turning point (set, global index, s) and the trip
out (set, home index, home s, turn index, turn s, time of the first sample after the turn or NaN,
band, peak return speed so far); s = sign * signal. Rules (float64, the R_ indices; packed by `TripTracker.__init__`).
Log rows (int64, LOG_COLUMNS): global index, phase (0 at a turning point: the sample itself is scanned
next; 1 found by the scan: scanning goes on after it), left-home index and out-since index after it
(-1: none), and the trip's home, turn and done indices (-1: no trip).
"""

from __future__ import annotations

import math

from numba import njit

from analysis._extrema_kernels import _scan_trip
from analysis.columns import FLEX_SMOOTH as FLEX_SMOOTH_ROW
from analysis.columns import RATE_SMOOTH as RATE_SMOOTH_ROW
from analysis.columns import T as T_ROW

S_HOME, S_HOME_I, S_HOME_S, S_OUT, S_OUT_HOME_I, S_OUT_HOME_S, S_TURN_I, S_TURN_S, S_T_TURN, S_BAND, S_PEAK = range(11)
TRACKER_STATE_SIZE = 11
(R_SIGN, R_MIN_ROM, R_MAX_ROM, R_HOME_MIN, R_HOME_MAX, R_BAND_FRACTION, R_BAND_MIN, R_MIN_RETURN, R_MAX_TRIP,
 R_PLATEAU, R_TOP_START, R_HOLD_WINDOW_N, R_HOLD_MAX_DPS, R_MIN_SWAY, R_HOLD_WINDOW_S) = range(15)
RULES_SIZE = 15
L_INDEX, L_PHASE, L_LEFT, L_OUT, L_HOME, L_TURN, L_DONE = range(7)
LOG_COLUMNS = 7


@njit(cache=True)
def _visible(state, rules):
    """(left-home index, out-since index), -1 for none (TripTracker.left_home_index, .out_since_index)."""
    if state[S_OUT] != 0.0:
        return int(state[S_OUT_HOME_I]), int(state[S_OUT_HOME_I])
    if state[S_HOME] != 0.0 and rules[R_TOP_START] != 0.0:
        return int(state[S_HOME_I]), -1
    return -1, -1


@njit(cache=True)
def _held_before(hist, g0, index, kind, rules):
    """Where the movement into the turning point at global `index` began: the end of the last hold
    (0.1 s or more slower than R_HOLD_MAX_DPS toward it, at least R_MIN_SWAY deg from the turning
    point) within R_HOLD_WINDOW_S (and R_HOLD_WINDOW_N samples) before it; (global index, flexion) or (-1, nan)."""
    a = max(index - int(rules[R_HOLD_WINDOW_N]), g0) - g0
    b = index + 1 - g0
    t_last, flex_last = hist[T_ROW, b - 1], hist[FLEX_SMOOTH_ROW, b - 1]
    while hist[T_ROW, a] < t_last - rules[R_HOLD_WINDOW_S]:
        a += 1
    last = -1  # the last column of the run of held samples being walked back through (-1: none)
    for j in range(b - 1, a - 2, -1):
        held = j >= a and not kind * hist[RATE_SMOOTH_ROW, j] > rules[R_HOLD_MAX_DPS] and abs(
            hist[FLEX_SMOOTH_ROW, j] - flex_last) >= rules[R_MIN_SWAY]
        if held and last < 0:
            last = j
        elif not held and last >= 0:
            if hist[T_ROW, last] - hist[T_ROW, j + 1] >= 0.1:
                return g0 + last, hist[FLEX_SMOOTH_ROW, last]
            last = -1
    return -1, math.nan


@njit(cache=True)
def _on_turning_point(hist, g0, index, kind, value, rules, state):
    """One turning point (kind +1 maximum, -1 minimum) taken in. Returns the trip's (home, turn) when a
    bounce off home completes it (done at `index`), else (-1, -1)."""
    sign = rules[R_SIGN]
    s = sign * value
    if kind * sign < 0:  # a home-side turning point
        if state[S_OUT] == 0.0:
            state[S_HOME], state[S_HOME_I], state[S_HOME_S] = 1.0, index, s
            return -1, -1
        home_s, turn_s = state[S_OUT_HOME_S], state[S_TURN_S]
        came_back = (turn_s - s) / (turn_s - home_s)
        if s - home_s > state[S_BAND] and came_back < 0.5:
            return -1, -1  # a dip near the turning point (a wobble at the bottom): the rep goes on
        state[S_OUT] = 0.0
        state[S_HOME], state[S_HOME_I], state[S_HOME_S] = 1.0, index, s
        if state[S_PEAK] >= rules[R_MIN_RETURN]:
            return int(state[S_OUT_HOME_I]), int(state[S_TURN_I])
        return -1, -1
    if state[S_OUT] != 0.0:
        if s > state[S_TURN_S]:  # deeper after a dip: the turning point moves
            state[S_TURN_I], state[S_TURN_S] = index, s
            state[S_BAND] = max(rules[R_BAND_MIN], rules[R_BAND_FRACTION] * (s - state[S_OUT_HOME_S]))
        return -1, -1
    if state[S_HOME] != 0.0:
        i_home, home_s = state[S_HOME_I], state[S_HOME_S]
        rom = s - home_s
        if rom > rules[R_MAX_ROM] and rules[R_PLATEAU] != 0.0:
            held_i, held_flex = _held_before(hist, g0, index, kind, rules)
            if held_i >= 0:
                i_home, home_s = held_i, sign * held_flex
                rom = s - home_s
        if (rules[R_MIN_ROM] <= rom <= rules[R_MAX_ROM]
                and rules[R_HOME_MIN] <= sign * home_s <= rules[R_HOME_MAX]):
            state[S_OUT], state[S_OUT_HOME_I], state[S_OUT_HOME_S] = 1.0, i_home, home_s
            state[S_TURN_I], state[S_TURN_S], state[S_T_TURN] = index, s, math.nan
            state[S_BAND] = max(rules[R_BAND_MIN], rules[R_BAND_FRACTION] * rom)
            state[S_PEAK] = 0.0
    return -1, -1


@njit(cache=True)
def _log(log, k, index, phase, state, rules, home, turn, done):
    left, out = _visible(state, rules)
    log[k, L_INDEX], log[k, L_PHASE], log[k, L_LEFT], log[k, L_OUT] = index, phase, left, out
    log[k, L_HOME], log[k, L_TURN], log[k, L_DONE] = home, turn, done


@njit(cache=True)
def _track_run(hist, g0, c0, n, row, rate_row, tp_index, tp_confirm, tp_kind, m, rules, state, log):
    """Run the tracker over the history columns [c0, c0 + n) of `hist` (column 0 = global index g0),
    given the m turning points of its detector confirmed there (global indices, in confirmation order).
    Writes log rows (at most 2 m + 1) for each trip and each change of the visible state; returns how
    many."""
    k = 0
    pos, end = c0, c0 + n
    j = 0
    before = _visible(state, rules)
    while True:
        stop = tp_confirm[j] - g0 if j < m else end
        while state[S_OUT] != 0.0 and pos < stop:
            if math.isnan(state[S_T_TURN]):
                state[S_T_TURN] = hist[T_ROW, pos]
            code, i, peak = _scan_trip(hist, row, rate_row, pos, stop, rules[R_SIGN], state[S_OUT_HOME_S],
                                       state[S_BAND], state[S_PEAK], rules[R_MIN_RETURN], state[S_T_TURN],
                                       rules[R_MAX_TRIP])
            state[S_PEAK] = peak
            if code == 0:
                break
            state[S_OUT] = 0.0
            if code == 1:
                _log(log, k, g0 + i, 1, state, rules, int(state[S_OUT_HOME_I]), int(state[S_TURN_I]), g0 + i)
            else:
                _log(log, k, g0 + i, 1, state, rules, -1, -1, -1)
            k += 1
            before = _visible(state, rules)
            pos = i + 1
        pos = stop
        if j >= m:
            return k
        index, kind = tp_index[j], tp_kind[j]
        j += 1
        if index < g0 or math.isnan(hist[row, index - g0]):
            continue
        home, turn = _on_turning_point(hist, g0, index, kind, hist[row, index - g0], rules, state)
        now = _visible(state, rules)
        if home >= 0 or now[0] != before[0] or now[1] != before[1]:
            _log(log, k, g0 + stop, 0, state, rules, home, turn, index if home >= 0 else -1)
            k += 1
            before = now
