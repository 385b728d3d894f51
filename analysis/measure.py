"""One completed trip measured as a rep: its phase times and numbers from the Analyzer's history, and
the tests that tell a rep from what only looks like one (walking, sitting down, turning around)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from analysis.columns import FLEX, FLEX_SMOOTH, HEIGHT, SIGNALS, VELOCITY, T
from analysis.exercises import FLOOR_START, TOP_START, TRUNK_STILL
from analysis.reps import _measure_trip, _rep_numbers
from analysis.segmentation import HINGE_BAND
from analysis.squats import (
    hips_reversal_mps2,
    inner_maxima,
    pelvis_tuck_deg,
    squat_like,
    squat_trunk_timing,
    squat_trunk_turn,
)

if TYPE_CHECKING:
    from analysis.analyzer import Analyzer
    from analysis.tracker import Trip, TripTracker


class Measured(NamedTuple):
    """One rep measured from the trace; times absolute (s, recording clock). (A tuple: cheap per trip.)"""

    start: float
    arrive: float
    depart: float
    end: float
    out_peak_dps: float
    back_peak_dps: float
    peak_flexion_deg: float
    rom_deg: float
    home_flexion_deg: float
    peak_lateral_deg: float
    peak_twist_deg: float | None
    hip_travel_m: float  # the hips' leaky vertical travel, peak to peak
    hips_rise_ratio: float  # a squat's peak rising speed of the hips over their peak sinking speed (else 1)
    hips_reversal_mps2: float | None  # a squat's turn at the bottom (analysis.squats.hips_reversal_mps2)
    pelvis_tuck_deg: float | None  # a squat's tuck at the bottom (analysis.squats.pelvis_tuck_deg; the tilt of
    # the accelerometer alone is too disturbed at the bottom of a squat to tell one: None without a gyroscope)
    floor_hold_s: float | None  # guessing, a floor-start trip: how long the lifter held the floor position
    # before it (s; `_held_before_s`: a deadlift set begins after a set-up at the bar); else None
    phases_s: tuple[float, float, float, float] | None  # reported (start, arrive, depart, end) where they
    # differ from the rules' four above: a brisk squat's, with the trunk's start and turn (squat_trunk_turn,
    # less the trunk's smoothing delay)
    t: np.ndarray  # the rep's samples (for the rounding crossing)
    flex: np.ndarray



def measure(analyzer: Analyzer, tracker: TripTracker, trip: Trip) -> Measured | None:
    """The rep a completed trip made, timed and measured from the Analyzer's history; None when the trip
    was not a rep (too short or long, not back home, walking, sitting down, turning around, ...)."""
    i_home, i_turn, i_next = trip.i_home, trip.i_turn, trip.i_done + 1
    cols = analyzer.columns(i_home, i_next)
    n = cols.shape[1]
    i_turn -= max(i_home, i_next - n)
    if not 0 < i_turn < n - 1:
        return None
    # a home turning point from before a long rest: the trip starts at most max_trip_s before its turn,
    # and after the lifter last turned around (walking up to the bar); TRUNK_STILL: a few deg/s at most,
    # so the gyroscope's residual bias is taken off the rate
    seg, rules, pattern = analyzer.settings.segmentation, tracker.rules, tracker.pattern
    acc_only = analyzer.accelerometer_only
    row, rate_row = SIGNALS[tracker.detector]
    trunk, hips = row == FLEX_SMOOTH, row == HEIGHT
    squat = analyzer.finds_slow_squats(tracker)
    # a hinge's trip starts and ends near home (not the hips' leaky height, nor a pull's small sway, nor the
    # accelerometer's tilt, which a hinge's own acceleration moves)
    home_fraction = seg.home_fraction if trunk and pattern != TRUNK_STILL and not acc_only else math.inf
    limits = (rules.max_trip_s, 0.5 * seg.max_rep_turn_deg, row, rate_row, tracker.sign, pattern == TRUNK_STILL,
              home_fraction)
    trip_numbers = _measure_trip(cols, i_turn, *limits)
    if hips and trip_numbers[0] >= 0 and trip_numbers[3] - trip_numbers[2] > rules.max_turn_dwell_s:
        # the hips' leaky height drifting on after the last rep, then still through a rest at the top, was timed
        # as the trip out and a long hold at its turn: the trip starts where that drift arrived, if the trunk stood
        # upright there, within a hinge's home band of the trip's least flexion (not a squat held long at the
        # bottom, nor a trip begun in one)
        k = trip_numbers[0] + int(np.searchsorted(cols[T, trip_numbers[0]:], trip_numbers[2]))
        flex_max, flex_min = trip_numbers[9], trip_numbers[10]
        band_deg = max(HINGE_BAND.band_min_deg, HINGE_BAND.band_fraction * (flex_max - flex_min))
        if k < i_turn and cols.item(FLEX_SMOOTH, k) - flex_min <= band_deg:
            trip_numbers = _measure_trip(cols[:, k:], i_turn - k, *limits)
            trip_numbers = (trip_numbers[0] + k if trip_numbers[0] >= 0 else -1, *trip_numbers[1:])
    (late, start, arrive, depart, end, out_dps, back_dps, a, b, flex_max, flex_min, lateral, twist, walk_rms,
     held_rms, out_peak, back_peak, travel_m) = trip_numbers
    if late < 0:
        return None
    hips_rise_ratio, hips_timed = 1.0, hips
    if not trunk:
        hips_rise_ratio = back_dps / max(out_dps, 1e-9)
        timing = squat_trunk_timing(analyzer, trip, cols[:, late:])
        if timing is not None:
            hips_timed = False
            start, arrive, depart, end, out_dps, back_dps = timing
            a, b, flex_max, flex_min, lateral, twist, walk_rms, held_rms, out_peak, back_peak, travel_m = (
                _rep_numbers(cols[:, late:], start, arrive, depart, end, i_turn - late))
    peak_deg = flex_max
    if pattern == FLOOR_START and acc_only:
        # deepest where the bar leaves the floor, which the smoothed turning point the trip starts from shows
        # only the smoothing's delay later: read the peak from that much earlier (0.34 s without a gyroscope;
        # with one, 0.08 s moved the peaks by 0.02 deg on average, not worth a read per trip)
        t_home, lag_s = cols.item(T, 0), analyzer.trunk_lag_s
        wider = analyzer.columns(max(i_home - int(math.ceil(lag_s * seg.max_rate_hz)), analyzer.neutral_since_index),
                                 i_home + 1)  # (not from before a neutral taken again: the angles jumped there)
        peak_deg = max(flex_max, float(wider[FLEX, int(np.searchsorted(wider[T], t_home - lag_s)):].max()))
    hold_s, lean_deg = depart - arrive, flex_max - flex_min
    if hold_s > rules.max_turn_dwell_s or not seg.min_rep_s <= end - start <= rules.max_trip_s:
        return None
    if trunk:  # (the leaky height of a squat overshoots on the way up, so not there)
        home_start = cols.item(row, late)
        rom = abs(cols.item(row, i_turn) - home_start)
        if abs(cols.item(row, n - 1) - home_start) > max(seg.home_mismatch_deg, 0.5 * rom):
            return None
    elif lean_deg < seg.min_rom_deg:
        return None  # the hips dipped but the trunk hardly moved: sitting down or a knee bend, not a squat
    if hips and travel_m < seg.min_squat_travel_m and lean_deg < seg.sit_max_lean_deg:
        return None  # the trunk leaned a little, the hips hardly moved: sitting down or standing up, not a squat
    if pattern == TOP_START:
        if analyzer.exercise is None and hips != squat_like(travel_m, lean_deg, seg, analyzer.squat_leaning()):
            return None  # guessing: a squat belongs to the hips' tracker, a hinge to the trunk's (a floor-start
            # trip that moves like a squat: by its set's set-up, Analyzer._after_set_up)
        if (trunk and not squat and travel_m < seg.sit_max_travel_m
                and lean_deg < seg.sit_max_lean_deg and lean_deg < seg.hinge_min_lean_deg_per_m * travel_m
                and not analyzer.continues_open_set(tracker, start, lean_deg)):
            return None  # the hips dropped far for a small lean: sitting down or standing up, not a hinge (nor the
            # next of a set of such reps: slow squats, whose leaky travel falls short, guessing)
    if not acc_only and twist > seg.max_rep_turn_deg:
        return None  # the lifter turned around (walking back), whatever the trunk's pitch did
    walking = seg.max_still_activity_mps2  # RMS of | |acc| - g | above this (over >= 2 samples)
    if pattern == TRUNK_STILL and (walk_rms > walking or lean_deg > rules.max_rom_deg):
        return None  # walking, not holding the trunk still while the arms pull; or the trunk swept through
        # more than a pull's sway (a squat or a hinge seen from its turn)
    if pattern == FLOOR_START and hold_s >= 0.5 and held_rms > walking:
        return None  # walking about between two bends is not a lockout
    if squat:  # a squat the trunk found: swept once, and slow unless its set of slow squats is under way
        rep_cols = cols[:, late + a : late + b]
        if inner_maxima(rep_cols[FLEX_SMOOTH], seg.hysteresis_deg).size > 1:
            return None
        if analyzer.active_tracker() is not tracker and depart - arrive < seg.squat_paused_min_s and (
                float(np.max(np.abs(rep_cols[VELOCITY]))) >= seg.squat_brisk_mps
                or arrive - start < 2.0 * seg.vertical_time_constant_s):
            return None
    if trunk:  # else timed by the hips (m/s): the speeds reported are the trunk's (deg/s)
        out_peak, back_peak = out_dps, back_dps
    phases_s = None  # the rules kept the hips' timing; the phases reported take the trunk's start and turn, less
    # its smoothing's delay (not a squat timed by the trunk alone, whose times read best as they are)
    if hips_timed and (turn := squat_trunk_turn(cols[:, late:], start, arrive, end, seg.hysteresis_deg)):
        phases_s = (*(x - analyzer.trunk_lag_s for x in turn), end)
    ab = slice(late + a, late + b)  # the rep's samples
    return Measured(start, arrive, depart, end, out_peak, back_peak, peak_deg, lean_deg,
                    cols.item(FLEX_SMOOTH, late), lateral, None if acc_only else twist, travel_m,
                    hips_rise_ratio, hips_reversal_mps2(cols[T, ab], cols[VELOCITY, ab]) if hips else None,
                    pelvis_tuck_deg(cols[T, ab], cols[FLEX, ab], cols[VELOCITY, ab],
                                    analyzer.settings.flags.rounding_tuck_window_s)
                    if hips and not acc_only else None,
                    None if analyzer.exercise is not None or pattern != FLOOR_START else _held_before_s(
                        analyzer, i_next - n + late + a, max(3.0, 0.1 * lean_deg)),
                    phases_s, *cols[T : FLEX + 1, ab].copy())  # (T, FLEX: one copy of the two rows)


def _held_before_s(analyzer: Analyzer, index: int, tolerance_deg: float) -> float:
    """How long before global sample `index` the smoothed flexion stayed within tolerance_deg of its value there
    (s; looked for at least `floor_set_up_min_s` and a second back)."""
    seg = analyzer.settings.segmentation
    window = analyzer.columns(index - int((seg.floor_set_up_min_s + 1.0) * seg.max_rate_hz), index + 1)
    t, flex = window[T], window[FLEX_SMOOTH]
    away = np.flatnonzero(np.abs(flex - flex[-1]) > tolerance_deg)
    return float(t[-1] - t[away[-1] if away.size else 0])
