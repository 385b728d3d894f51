"""Flag and set rules that need a sequence of reps (built directly, without a signal)."""

from __future__ import annotations

import numpy as np

from analysis.flags import FlagSettings, momentum_flag
from analysis.measure import Measured
from analysis.report import Rep
from analysis.segmentation import SegmentationSettings, trackers_for
from analysis.sets import OpenSet


def _rep(start_s: float, back_peak_dps: float, down_s: float = 2.0, up_s: float = 1.0, hold_s: float = 0.5,
         hip_travel_m: float = 0.08) -> Measured:
    """A plain RDL rep (2 s down, 0.5 s at the bottom, 1 s up to 60 deg, hips 8 cm) with the given return
    speed."""
    end_s = start_s + down_s + hold_s + up_s
    t = np.linspace(start_s, end_s, 36)
    flex = 60.0 * np.sin(np.pi * (t - start_s) / (end_s - start_s))
    return Measured(start_s, start_s + down_s, start_s + down_s + hold_s, end_s, 40.0, back_peak_dps, 60.0, 60.0,
                    0.0, 1.0, 1.0, hip_travel_m, 1.0, None, None, t, flex)


def _open_set() -> OpenSet:
    tracker = trackers_for(SegmentationSettings(), "rdl")[0]
    return OpenSet(tracker, "rdl", 1, FlagSettings(), live=True, t_first=0.0, segmentation=SegmentationSettings())


def _fatigue_flags(speeds_dps: list[float]) -> list[int]:
    open_set = _open_set()
    for k, speed in enumerate(speeds_dps):
        m = _rep(4.0 * k, speed)
        open_set.add(m, m.end)
    return [r.index for r in open_set.reps for f in r.flags if f.kind == "fatigue"]


def test_fatigue_waits_for_two_slow_reps_in_a_row_and_is_said_once():
    # losses from the best (100): 5, 32, 10, 35, 40, 50 % -> rep 3 alone is tempo noise; reps 5 and 6 are two
    # in a row past 30 %, so rep 6 carries the flag; rep 7 is slower still but the set already heard it
    assert _fatigue_flags([100, 95, 68, 90, 65, 60, 50]) == [6]


def test_no_fatigue_without_a_real_loss():
    assert _fatigue_flags([100, 90, 85, 95, 88, 80, 75]) == []


def _reps_kept(first: Measured | None, last: Measured | None) -> list[float]:
    """Start times of the reps a set of five plain reps keeps, with an extra first and/or last one."""
    open_set = _open_set()
    reps = [_rep(10.0 + 4.0 * k, 100.0) for k in range(5)]
    for m in ([first] if first else []) + reps + ([last] if last else []):
        open_set.add(m, m.end)
    return [r.start_s for r in open_set.report("rdl").reps]


def test_a_plate_picked_up_next_to_the_set_is_not_a_rep():
    # down in 1.4 s (0.7 of the set's 2 s) and up in 1.4 s (1.0 per second down, against the set's 0.5)
    pick_up = _rep(5.0, 60.0, down_s=1.4, up_s=1.4)
    after = _rep(31.0, 60.0, down_s=1.4, up_s=1.4)
    assert _reps_kept(pick_up, None) == [10.0, 14.0, 18.0, 22.0, 26.0]
    assert _reps_kept(None, after) == [10.0, 14.0, 18.0, 22.0, 26.0]


def test_a_plate_picked_up_at_the_sets_pace_is_told_by_the_hold_and_the_hips():
    # down in 2 s like the set, up in 1.3 s (1.3x slower per descent), 0.8 s gripping the plate at the bottom
    # (1.6x) and the hips 12 cm down (1.5x): 2.4x the set's hold x hips
    pick_up = _rep(5.0, 60.0, up_s=1.3, hold_s=0.8, hip_travel_m=0.12)
    assert _reps_kept(pick_up, None) == [10.0, 14.0, 18.0, 22.0, 26.0]
    # the same slower rise with the set's hold and hips (1.0x), or its hips and a 0.6 s hold (1.2x): a rep
    assert _reps_kept(_rep(5.0, 60.0, up_s=1.3), None) == [5.0, 10.0, 14.0, 18.0, 22.0, 26.0]
    assert _reps_kept(_rep(5.0, 60.0, up_s=1.3, hold_s=0.6), None) == [5.0, 10.0, 14.0, 18.0, 22.0, 26.0]


def test_a_grinding_last_rep_stays():
    # the same controlled descent, then 2.5 s up: the end of a hard set, not a plate; even with a longer
    # hold at the bottom (0.7 s, 1.4x)
    grinder = _rep(30.0, 50.0, down_s=2.0, up_s=2.5)
    assert _reps_kept(None, grinder) == [10.0, 14.0, 18.0, 22.0, 26.0, 30.0]
    assert _reps_kept(None, _rep(30.0, 50.0, up_s=2.5, hold_s=0.7)) == [10.0, 14.0, 18.0, 22.0, 26.0, 30.0]


def test_a_squat_bounces_when_the_hips_turn_up_hard():
    rep = Rep(index=1, start_s=0.0, turn_s=1.5, end_s=3.0, eccentric_s=1.5, pause_bottom_s=0.0, concentric_s=1.5,
              pause_top_s=None, tempo="2-0-2-?", peak_flexion_deg=40.0, rom_deg=40.0, peak_velocity_dps=80.0,
              sway_deg=None)
    settings = FlagSettings()
    # the hips' timing shows no pause and a 1.5 s concentric either way: the reversal alone decides
    assert momentum_flag(rep, "top-start", 0.0, settings, hips_reversal_mps2=2.9) is None
    flag = momentum_flag(rep, "top-start", 0.0, settings, hips_reversal_mps2=4.2)
    assert (flag.kind, flag.value, flag.threshold, flag.unit, flag.t_s) == ("momentum", 4.2, 3.0, "m/s²", 1.5)
    assert "0.43 g" in flag.message
    # a hinge (no hips' reversal measured) keeps the pause and concentric rule
    assert momentum_flag(rep, "top-start", 0.0, settings) is None
