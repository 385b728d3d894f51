"""Flag and set rules that need a sequence of reps (built directly, without a signal)."""

from __future__ import annotations

import numpy as np

from analysis.flags import FlagSettings, momentum_flag, tempo_flag, tuck_flag
from analysis.measure import Measured
from analysis.report import Rep
from analysis.segmentation import SegmentationSettings, trackers_for
from analysis.sets import OpenSet
from analysis.squats import pelvis_tuck_deg


def _rep(start_s: float, back_peak_dps: float, down_s: float = 2.0, up_s: float = 1.0, hold_s: float = 0.5,
         hip_travel_m: float = 0.08) -> Measured:
    """A plain RDL rep (2 s down, 0.5 s at the bottom, 1 s up to 60 deg, hips 8 cm) with the given return
    speed."""
    end_s = start_s + down_s + hold_s + up_s
    t = np.linspace(start_s, end_s, 36)
    flex = 60.0 * np.sin(np.pi * (t - start_s) / (end_s - start_s))
    return Measured(start_s, start_s + down_s, start_s + down_s + hold_s, end_s, 40.0, back_peak_dps, 60.0, 60.0,
                    0.0, 1.0, 1.0, hip_travel_m, 1.0, None, None, None, None, t, flex)


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


def test_a_tuck_is_a_dip_of_the_lean_as_the_hips_turn_not_standing_between_reps():
    t = np.arange(0.0, 3.0, 0.01)
    velocity = -np.sin(2 * np.pi * t / 3)  # the hips' fastest descent at 0.75 s, fastest rise at 2.25 s
    lean = 30 * np.sin(np.pi * t / 3)  # one squat, no tuck
    assert pelvis_tuck_deg(t, lean, velocity, 0.6) < 1e-9
    wink = lean - 10 * np.exp(-(((t - 1.5) / 0.15) ** 2))  # the pelvis tips back 10 deg at the bottom
    assert 7.5 < pelvis_tuck_deg(t, wink, velocity, 0.6) <= 10.0  # (below the lean 0.6 s either side)
    slow = lean - 10 * np.exp(-(((t - 1.5) / 0.8) ** 2))  # a lean that eases over seconds is no tuck
    assert pelvis_tuck_deg(t, slow, velocity, 0.6) < 1.0
    # the rep's samples begin with the last one's rise and the lifter standing tall before this one (a dip of
    # 20 deg), and this squat runs from 0.6 s: its hips' fastest descent at 1.2 s
    after = np.where(t > 0.6, np.sin(np.pi * (t - 0.6) / 2.4), 0.0)
    tail = np.where(t < 0.3, 20 * (1 - t / 0.3), 0.0) + 30 * after
    velocity = np.where(t > 0.6, -np.sin(2 * np.pi * (t - 0.6) / 2.4), 0.0)
    assert pelvis_tuck_deg(t, tail, velocity, 0.6) < 1e-9


def test_tuck_flag():
    settings = FlagSettings()
    rep = OpenSet(trackers_for(SegmentationSettings(), "squat")[0], "squat", 1, settings, live=True, t_first=0.0,
                  segmentation=SegmentationSettings())._rep(_rep(0.0, 60.0), 1)
    assert tuck_flag(rep, None, settings) is None and tuck_flag(rep, 5.9, settings) is None
    flag = tuck_flag(rep, 12.3, settings)
    assert (flag.kind, flag.value, flag.threshold, flag.unit) == ("rounding", 12.3, 6.0, "deg")
    assert "pelvis tucked" in flag.message


def _flag_kinds_of_a_bounced_deeper_last_rep(peak_deg: float, settings: FlagSettings) -> list[tuple[str, float]]:
    """Three plain RDL reps to 60 deg, then one bounced (no hold, 0.5 s up) to peak_deg."""
    open_set = OpenSet(trackers_for(SegmentationSettings(), "rdl")[0], "rdl", 1, settings, live=True, t_first=0.0,
                       segmentation=SegmentationSettings())
    reps = [_rep(4.0 * k, 100.0) for k in range(3)]
    bounced = _rep(12.0, 150.0, hold_s=0.0, up_s=0.5)
    reps.append(bounced._replace(peak_flexion_deg=peak_deg, flex=bounced.flex * peak_deg / 60.0))
    for m in reps:
        open_set.add(m, m.end)
    return [(f.kind, f.threshold) for f in open_set.reps[-1].flags]


def test_a_bounce_must_round_further_as_the_accelerometer_alone_measures_it():
    # baseline 60 deg -> threshold 68; without a gyroscope a bounce's rebound reads 3 +- 3 deg deeper (up to
    # 10.5), so a bounced rep is judged against 68 + 8
    gyro = FlagSettings()
    accelerometer_only = FlagSettings(rounding_bounce_extra_deg=gyro.rounding_bounce_extra_accelerometer_only_deg)
    assert _flag_kinds_of_a_bounced_deeper_last_rep(72.0, gyro) == [("rounding", 68.0), ("momentum", 0.7)]
    assert _flag_kinds_of_a_bounced_deeper_last_rep(72.0, accelerometer_only) == [("momentum", 0.7)]
    assert _flag_kinds_of_a_bounced_deeper_last_rep(80.0, accelerometer_only) == [("rounding", 76.0), ("momentum", 0.7)]


def test_tempo_flag_names_the_phase_furthest_short_of_the_prescription():
    phases = {"eccentric_s": 1.2, "pause_bottom_s": 0.1, "concentric_s": 0.9, "pause_top_s": None}
    assert tempo_flag(phases, 5.0, FlagSettings()) is None  # no tempo prescribed
    prescribed = FlagSettings(tempo_eccentric_s=3.0, tempo_pause_bottom_s=1.0, tempo_concentric_s=1.0,
                              tempo_pause_top_s=2.0)
    flag = tempo_flag(phases, 5.0, prescribed)  # 1.3 s short of 2.5 on the way down, 0.4 s short of 0.5 in the pause
    assert (flag.kind, flag.t_s, flag.value, flag.threshold, flag.unit) == ("tempo", 5.0, 1.2, 2.5, "s")
    assert flag.message.startswith("Rushed the way down: 1.2 s where your tempo asks for 3 s")
    only_pause = FlagSettings(tempo_pause_bottom_s=1.0)
    assert tempo_flag(phases, 5.0, only_pause).message.startswith("Cut the pause at the bottom short")
    assert tempo_flag({**phases, "pause_bottom_s": 0.5}, 5.0, only_pause) is None  # within the tolerance, 0.5 s
    assert tempo_flag(phases, 5.0, FlagSettings(tempo_pause_top_s=2.0)) is None  # the pause not known (yet)
