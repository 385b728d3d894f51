"""How sets and reps are found: the settings, and the trip trackers each exercise gets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from analysis.exercises import FLOOR_START, HIPS_TRAVEL, TOP_START, TRUNK_STILL, pattern_of
from analysis.tracker import TrackerRules, TripTracker


class HomeBand(NamedTuple):
    """Back home = within band_fraction of a rep's range of where it started, but at least band_min_deg."""

    band_fraction: float
    band_min_deg: float


HINGE_BAND = HomeBand(0.35, 2.0)  # hinges, squats and deadlifts, on the smoothed trunk flexion


@dataclass(frozen=True)
class SegmentationSettings:
    """How sets and reps are found (degrees, seconds)."""

    smoothing_time_constant_s: float = 0.04  # low-pass of flexion and its rate before turning points ...
    accelerometer_only_smoothing_s: float = 0.12  # ... without a gyroscope (the tilt is noisier)
    hysteresis_deg: float = 5.0  # hinge turning points must stand out by this much
    fine_hysteresis_deg: float = 0.4  # trunk-still turning points (small excursions)
    min_rom_deg: float = 8.0  # hinge reps smaller than this are not reps
    floor_start_min_rom_deg: float = 15.0  # floor-start reps at least this big
    min_sway_deg: float = 0.5  # trunk-still excursions from this ...
    max_sway_deg: float = 20.0  # ... to this
    still_first_min_fraction: float = 0.5  # trunk-still: a first "rep" swaying less than this fraction of the
    # second is a fidget before the set, not a rep (a row's sway varies 2-3.5 deg from rep to rep; hinges use
    # flags.partial_fraction)
    still_first_max_ratio: float = 3.0  # trunk-still: a first "rep" swaying over this many times the second is
    # sitting down or leaning into position (a partial second pull sways 0.4-0.6 of a full one)
    max_still_activity_mps2: float = 1.5  # RMS of | |acc| - g | above this is walking: not in a trunk-still
    # rep, nor while holding a turning point
    max_rep_turn_deg: float = 90.0  # a trip turning the trunk this far about the vertical is turning around
    # (walking back and forth), not a rep (a twisted rep: 10-40 deg)
    min_return_dps: float = 4.0  # hinge return speed at least this (trunk-still: a twentieth of it, 0.2 deg/s:
    # a partial row lowers its 0.9 deg in 1-3 s)
    min_rep_s: float = 0.7  # shorter trips are not reps (walking steps, fidgets)
    max_trip_s: float = 12.0  # a rep that does not come home within this is abandoned
    max_turn_dwell_s: float = 3.0  # a longer hold at the turning point is not part of a rep ...
    lockout_max_hold_s: float = 6.0  # ... except a floor-start rep's, at lockout, where lifters breathe between reps,
    bottom_max_hold_s: float = 5.0  # ... and, the exercise given, a hinge's or squat's at the bottom (paused RDLs,
    # pause squats: a 4 s pause on every rep of seeds 300-309 left 2 of 32 RDL sets, F1 0.09); not without a
    # gyroscope (the accelerometer's tilt while walking made such "reps")
    home_fraction: float = 0.25  # a hinge's rep starts and ends this close to home, as a fraction of its range:
    # where the trunk is further out at the onset found, it was a burst's (the back rounding at the end of
    # a slow descent) and the rep began at the earlier pulse's
    max_duration_ratio: float = 2.0  # a rep this many times longer than the set's median ends the set
    max_extra_depth_deg: float = 25.0  # a trip this much deeper than the set's reps ends it (a plate pick-up)
    unloaded_descent_ratio: float = 0.85  # a first or last top-start "rep" lowered faster than this
    # fraction of the set's reps' descent ...
    unloaded_rise_ratio: float = 1.5  # ... and rising this many times slower (per its own descent) than
    # they do, is an unloaded bend (a plate picked up next to the set), not a rep; so is one rising
    unloaded_min_rise_ratio: float = 1.2  # ... this many times slower (per its descent) whose hold at the
    unloaded_min_unlikeness: float = 1.5  # bottom x hips' travel is this many times the set's (gripping a
    # plate, bending the knees to reach the floor; seeds 0-119: up to 1.28 for reps rising 1.2x slower,
    # 1.6-21 for most plates picked up 0.5-2 s from a set)
    unloaded_min_hold_ratio: float = 1.05  # a last top-start "rep" rounding_margin_deg past the set's first reps that
    # held at the bottom this many times as long as the set's reps is an unloaded bend (gripping a plate);
    # a rounded rep reaches its depth in a burst and turns (simulated rounded reps: 0.2-0.96)
    unloaded_last_hold_ratio: float = 2.0  # ... and so is a last one held this many times as long, however deep
    # (simulated true last reps: 99th percentile 1.26, one of ~1900 at 2.12; plates held 1-7.5 times)
    set_gap_s: float = 5.0  # a set ends when no rep starts within this after the last one ...
    floor_rest_max_s: float = 10.0  # ... or, a floor-start set's lifter resting at the bar (not having left the
    # floor position since the last rep: a dead-stop reset, a re-grip), within this; one who leaves the bar more
    floor_rest_min_s: float = 3.0  # than this after the last rep had rested there: a pull, given a rep's time
    # (standing up after the set leaves it sooner: simulated within 1-2.2 s)
    top_rest_max_s: float = 12.0  # ... or, a top-start set's lifter standing at the top without a step since the
    # last rep (breaths between heavy squats or RDLs: 3-10 s), within this; walking the bar to the rack ends it
    rest_max_activity_mps2: float = 1.5  # a step: | |acc| - g | over this (standing still: under 0.35 simulated;
    # walking: 2-5 peaks) ...
    rest_settle_s: float = 1.0  # ... from this long after the rep's end to this long before the trunk left the top
    # again, or before now (a squat's lockout: 1.8 in its last 0.3 s; the hips' dip that starts the next: 1.7, 0.5-0.7 s
    # before the trunk leans past its home band)
    min_reps_per_set: int = 2  # fewer reps are not a set (a single bend to pick up a plate)
    upright_max_deg: float = 20.0  # without --exercise: top-start reps start and end this close to neutral
    floor_home_min_deg: float = 25.0  # floor-start reps start and end at least this flexed (bar on the floor)
    home_mismatch_deg: float = 12.0  # a rep ends this close to where it started (or half its range)
    unlocked_max_extra_deg: float = 6.0  # a floor-start rep not still at lockout (0.1 s) and not rushed (over
    # half the set's median duration) ends at most this much deeper than the set's reps start (standing up
    # after the set and bending for a plate: 4-12 deg deeper; simulated reps 99 % within 2.5 deg)
    still_home_min_deg: float = 4.0  # without --exercise: trunk-still home at least this far from neutral (a
    # pulldown leaning back 5 deg; standing sways 1-2 deg)
    set_up_dwell_s: float = 1.2  # without --exercise: a top-start turn held this long was a set-up
    set_up_hold_ratio: float = 1.5  # without --exercise: a top-start "set" whose first turn was held over 0.8 s
    # and this many times as long as the second's began with a deadlift's set-up (simulated RDLs and good
    # mornings: at most 1.38; deadlift set-ups held 0.9-1.2 s against 0.5-0.8 s on the floor between reps)
    floor_set_up_min_s: float = 1.5  # without --exercise: a deadlift set that moves like squats (little lean for
    # its hips' travel, `squat_max_lean_deg_per_m`) is one only when its first pull follows a hold at the bar
    # this long, the set-up (simulated set-ups 1.7-2.4 s; a squat's bottom pause, seen as the "floor", 0.2-1.4 s)
    vertical_time_constant_s: float = 1.0  # leak of the vertical velocity and height integrators
    gravity_time_constant_s: float = 3.0  # the sensor's own |g| (bias, scale) as a slow mean of |acc|
    glitch_jump_mps2: float = 30.0  # | |acc| - g | jumping by more than this between two samples is a glitch (a
    # spike, a clipped reading: no trunk moves so in 10-40 ms), held at the last value for up to two samples
    vertical_hysteresis_m: float = 0.03  # squats: a turning point of the hips' height stands out this much
    min_squat_depth_m: float = 0.05  # squats: a smaller dip of the (leaky) height is not a rep
    min_squat_travel_m: float = 0.10  # squats: a rep leaning less than sit_max_lean_deg whose hips' leaky height
    # travels less than this, peak to peak, was a lean with the hips nearly still (sitting down, standing up:
    # 0.06-0.09 m, 18-28 deg; simulated squats 1st percentile 0.18 m, a few deep-leaning ones under 0.1;
    # real 0.22 and up)
    squat_min_hip_travel_m: float = 0.25  # without --exercise: a rep whose hips travel this far (leaky
    # height, peak to peak, m) ...
    squat_max_lean_deg_per_m: float = 150.0  # ... while the trunk flexes at most this much per metre of it is
    # a squat, found and timed by the hips; otherwise a hinge or deadlift, found by the trunk
    squat_set_leaning: float = 1.25  # without --exercise, inside a set of squats the lean limit above widens by
    # this factor and the travel need only pass min_squat_travel_m (inside a set of hinges both narrow): a
    # shallow squat stays with its set (real partial squats: 0.24-0.29 m for 36-43 deg, 130-165 deg/m;
    # simulated partials 0.14-0.27 m)
    sit_max_lean_deg: float = 40.0  # a top-start hinge trip leaning less than this ...
    hinge_min_lean_deg_per_m: float = 300.0  # ... and less than this per metre of the hips' (leaky) travel
    # is sitting down or standing up (RDLs and good mornings: 430-2100 deg/m, 5th-95th percentile;
    # sitting down or up: 100-370 deg/m, leaning 18-30 deg) ...
    sit_max_travel_m: float = 0.2  # ... when the hips' leaky height travelled less than this (guessing, the
    # trunk's tracker holds a squat's first rep until the hips' set claims it: 0.23-0.25 m for 36-39 deg;
    # sitting down or up, seeds 0-359 guessed: under 0.2 m in 603 of 608 trips)
    sit_max_hips_rise_ratio: float = 0.6  # squats: a trip whose hips rise at less than this fraction of the
    # speed they sank (the seat stopped them: 0.43-0.53; squats 0.63 and up on the real sets) ...
    sit_max_lean_fraction: float = 0.8  # ... with less trunk lean than this fraction of the set's reps is
    # sitting down after the set, not a rep (simulated squat sets exact 87 -> 93 %)
    stand_max_overlap_s: float = 0.25  # squats: a trip that begins more than this before the last rep ended ...
    stand_max_lean_fraction: float = 0.5  # ... leaning less than this fraction of the set's reps is the hips'
    # leaky height overshooting as the lifter stands tall after the set, not a rep (unseen simulated squat
    # sets exact 89.5 -> 92.8 %; real squats unchanged)
    bend_min_extra_deg: float = 10.0  # squats: a trip leaning this much past the set's reps ...
    bend_min_lean_deg_per_m: float = 350.0  # ... and this much per metre of the hips' (leaky) travel is a bend
    # for a plate, not a squat (simulated: half the plates, leaning 70-95 deg; squats leaning 10 deg past
    # their set's, rounded ones, at most 268 deg/m; every real squat at most 178)
    squat_brisk_mps: float = 0.6  # squats slower than this (peak vertical speed) are timed by the trunk ...
    squat_paused_min_s: float = 1.5  # ... and so are squats paused this long at the bottom (the hips' leaky height
    # decays through the pause: 3 s pause squats came out bottom to bottom, F1 0.80); the hips' set waits while the
    # trunk is out on a trip begun within this of the set's first rep
    history_s: float = 30.0  # trace kept for measuring reps (memory bound of a live session) ...
    max_rate_hz: float = 1000.0  # ... at sample rates up to this



def trackers_for(seg: SegmentationSettings, exercise: str | None, accelerometer_only: bool = False,
                 ) -> list[TripTracker]:
    """The trip trackers for an exercise: its pattern's one, or every pattern's when guessing."""
    inf = math.inf
    hinge = dict(band_fraction=HINGE_BAND.band_fraction, band_min_deg=HINGE_BAND.band_min_deg,
                 min_return_dps=seg.min_return_dps, max_trip_s=seg.max_trip_s, max_rom_deg=inf)
    still = dict(band_fraction=0.5, band_min_deg=0.5, min_return_dps=0.05 * seg.min_return_dps,
                 max_trip_s=seg.max_trip_s, min_rom_deg=seg.min_sway_deg, max_rom_deg=seg.max_sway_deg,
                 max_turn_dwell_s=seg.max_turn_dwell_s)
    n = seg.min_reps_per_set
    up = inf if exercise else seg.upright_max_deg  # a told exercise trusts the lifter, not the calibration
    top = TripTracker(TOP_START, 1.0, "coarse", TrackerRules(
        min_rom_deg=seg.min_rom_deg, home_min_deg=-up, home_max_deg=up,
        max_turn_dwell_s=(seg.set_up_dwell_s if not exercise else seg.max_turn_dwell_s if accelerometer_only
                          else seg.bottom_max_hold_s), **hinge), n, seg)
    floor = TripTracker(FLOOR_START, -1.0, "coarse", TrackerRules(
        min_rom_deg=seg.floor_start_min_rom_deg, home_min_deg=seg.floor_home_min_deg, home_max_deg=inf,
        max_turn_dwell_s=seg.lockout_max_hold_s, **hinge), n, seg)
    # the hips' leaky height overshoots home after a fast rep: their rep is back once 20 % of the way up and slow
    hips = TripTracker(TOP_START, -1.0, "vertical", TrackerRules(
        min_rom_deg=seg.min_squat_depth_m, max_rom_deg=inf,
        home_min_deg=-inf, home_max_deg=inf, band_fraction=0.8, band_min_deg=0.02, min_return_dps=0.05,
        max_trip_s=seg.max_trip_s, max_turn_dwell_s=seg.max_turn_dwell_s), n, seg)
    if exercise in HIPS_TRAVEL:
        return [hips, top]
    if exercise is not None:
        pattern = pattern_of(exercise)
        if pattern == TRUNK_STILL:
            rules = TrackerRules(home_min_deg=-inf, home_max_deg=inf, **still)
            return [TripTracker(pattern, -1.0, "fine", rules, n, seg, plateau_home=True)]
        return [top if pattern == TOP_START else floor]
    return [
        top,
        floor,
        TripTracker(TRUNK_STILL, -1.0, "fine", TrackerRules(
            home_min_deg=seg.still_home_min_deg, home_max_deg=inf, **still), n + 1, seg, plateau_home=True),
        TripTracker(TRUNK_STILL, -1.0, "fine", TrackerRules(
            home_min_deg=-inf, home_max_deg=-seg.still_home_min_deg, **still), n + 1, seg, plateau_home=True),
        hips,
    ]
