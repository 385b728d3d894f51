"""A set being built: its reps as they complete, their flags, and the set report when it ends."""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING, NamedTuple

from analysis import _extrema_kernels as zk
from analysis import flags as fl
from analysis.columns import ACC_DEV, FLEX_SMOOTH, T
from analysis.events import Event, FlagRaised, RepCompleted, SetDiscarded, SetEnded, SetStarted
from analysis.exercises import FLOOR_START, TOP_START, TRUNK_STILL, guess_exercise
from analysis.report import Flag, Rep, SetReport
from analysis.segmentation import HINGE_BAND, SegmentationSettings
from analysis.set_summary import speed_reference, summary, tempo
from analysis.squats import squat_like
from analysis.stats import median, middle

if TYPE_CHECKING:
    import numpy as np

    from analysis.buffer import History
    from analysis.measure import Measured
    from analysis.tracker import TripTracker


class _Medians(NamedTuple):
    """The set's medians over its reps so far (the middle of `OpenSet._sorted`)."""

    duration_s: float
    rom_deg: float
    home_flexion_deg: float


def _median_keys(m: Measured) -> tuple[float, float, float]:
    """What a rep adds to each of `OpenSet._sorted` (the fields of `_Medians`): duration, range, home."""
    return m.end - m.start, m.rom_deg, m.home_flexion_deg


def frozen_instance(cls: type, **fields: object) -> object:
    """cls(**fields) for a frozen dataclass given every field, without its __init__'s object.__setattr__
    per field (a 16-field Rep: 3.2 -> 0.4 µs, a PostureUpdate 1.0 -> 0.35 µs; the same object: equal,
    same repr)."""
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


class OpenSet:
    """Reps of one tracker that may form a set; announced live at once with --exercise (no events at all
    with events=False: batch analysis).

    Times reported count from t_first (s, recording clock); a rep's start, turn and end also take off lag_s,
    the delay of the causal smoothing the tracker's rates are timed by, and each movement phase is narrowed
    by spread_s at either end, the smoothing's spread (accelerometer only; a turn without a pause stays where
    it is). The rules keep the times as measured, but for the set-up rule's holds, widened by the spread; a
    rounding flag's crossing is read on the unsmoothed flexion."""

    def __init__(self, tracker: TripTracker, exercise: str | None, index: int,
                 settings: fl.FlagSettings, live: bool, t_first: float,
                 segmentation: SegmentationSettings, lag_s: float = 0.0, spread_s: float = 0.0,
                 events: bool = True, slow_squats: bool = False) -> None:
        self.tracker = tracker
        self.segmentation = segmentation
        self._t_first = t_first
        self._lag_s = lag_s
        self._spread_s = spread_s
        self.exercise = exercise
        self.index = index
        self.settings = settings
        self.live = live
        self.events = events
        self.announced = False
        self.measured: list[Measured] = []
        self._medians_now: _Medians | None = None
        self._sorted: tuple[list[float], ...] = ([], [], [])  # each rep's duration, range and home, sorted
        self.earliest_close_s = math.inf  # `close_due_s` before the trip under way, its least (set when a rep is added)
        self._baseline_now: float | None = None  # `_baseline_deg` as of the set's first `baseline_reps` reps
        self.reps: list[Rep] = []
        self._best_clean_dps = -math.inf  # the fastest rep that can be the set's best (`speed_reference`)
        self._fatigue_flagged = False
        # slow squats (found by the trunk, analysis.measure): the next one shows only once the lean grew by the
        # hysteresis, seconds into a slow descent
        self.slow_squats = slow_squats
        self.cue_threshold_deg: float | None = None
        self.cue_armed = True
        self._cue_flag: Flag | None = None

    @property
    def last_end(self) -> float:
        """End of the last rep (s, recording clock)."""
        return self.measured[-1].end

    def _medians(self) -> _Medians:
        if self._medians_now is None:  # asked every live block and every trip while the set is open
            self._medians_now = _Medians(*map(middle, self._sorted))
        return self._medians_now

    def began_with_set_up(self, second: Measured) -> bool:
        """A top-start "set" whose first turn was held far longer than the second (and over 0.8 s):
        the bend down to a bar on the floor and the set-up before the first pull of a deadlift. Not for the
        hips' tracker: a set-up is a trunk's bend, and the hips' leaky height shows holds that are not."""
        if self.tracker.pattern != TOP_START or self.tracker.detector == "vertical" or len(self.measured) != 1:
            return False
        first = self.measured[0]
        ratio = self.segmentation.set_up_hold_ratio
        return self._turn_hold_s(first) > max(0.8, ratio * self._turn_hold_s(second))

    def _turn_hold_s(self, m: Measured) -> float:
        """How long a rep's turn was held (s): a hold seen through the smoothing is short by its spread at
        either end (`spread_s`)."""
        held_s = m.depart - m.arrive
        return held_s + 2.0 * self._spread_s if held_s > 0 else held_s

    def fits(self, m: Measured) -> bool:
        """Does this trip continue the set? It must start soon after the last rep, not last far
        longer, not be both much smaller and much quicker (leaning to sit or stand up), and not go
        far deeper than the set's reps (picking a plate off the floor); a floor-start rep must put the
        bar down where the set's reps lift it from (not stand up, then bend for a plate), and not deeper
        with no hold at lockout (`unlocked_max_extra_deg`); a squat's
        hips must be driven back up, not sink onto a seat with less lean than the set's reps, and a squat
        must not begin well before the last one ended with a small lean (straightening up after it)."""
        seg, pattern = self.segmentation, self.tracker.pattern
        # (a reset at the bar; breaths at the top: a set still open after set_gap_s had its lifter rest there)
        gap_s = {FLOOR_START: seg.floor_rest_max_s, TOP_START: seg.top_rest_max_s}.get(pattern, seg.set_gap_s)
        if m.start - self.last_end > gap_s:
            return False
        if pattern == TOP_START and m.start - self.last_end > seg.set_gap_s and (
                len(self.measured) < 3 or self._unlike_loaded_reps(m, self.measured, last=True)):
            return False  # after a rest at the top, a rep like the set's (not a plate picked up after it)
        medians = self._medians()
        if self.tracker.pattern == FLOOR_START:  # where this rep put the bar down, against the set's
            deeper_deg = float(m.flex[-1]) - medians.home_flexion_deg
            if abs(deeper_deg) > seg.home_mismatch_deg:
                return False
            if (deeper_deg > seg.unlocked_max_extra_deg and m.depart - m.arrive < 0.1
                    and m.end - m.start > 0.5 * medians.duration_s):
                return False  # not still at the top (0.1 s), nor rushed: stood up, then bent down for a plate
        duration, rom = medians.duration_s, medians.rom_deg
        if self._duration_s(m) > seg.max_duration_ratio * duration:
            return False
        if m.rom_deg < 0.65 * rom and m.end - m.start < 0.6 * duration:
            return False
        if m.hips_rise_ratio < seg.sit_max_hips_rise_ratio and m.rom_deg < seg.sit_max_lean_fraction * rom:
            return False
        if (self.tracker.detector == "vertical" and m.start < self.last_end - seg.stand_max_overlap_s
                and m.rom_deg < seg.stand_max_lean_fraction * rom):
            return False  # the hips' leaky height overshooting as the lifter stands tall after the set
        return m.rom_deg - rom <= seg.max_extra_depth_deg and not self._bend_among_squats(m, rom)

    def _duration_s(self, m: Measured) -> float:
        """A rep's duration for the set's rules (s): a floor-start rep's hold at lockout counts up to
        `max_turn_dwell_s`, the longer holds `lockout_max_hold_s` allows (a breath at the top) no further."""
        extra_s = m.depart - m.arrive - self.segmentation.max_turn_dwell_s
        return m.end - m.start - extra_s if extra_s > 0 and self.tracker.pattern == FLOOR_START else m.end - m.start

    def _left_home_s(self, history: History, last_end: float, t_now: float, rom_deg: float) -> float | None:
        """When, after the last rep ended (last_end) and up to t_now, the smoothed flexion first moved further
        from where it was then than a hinge's home band (`HINGE_BAND`): the lifter stood up from the bar, or went
        down for the next rep; None while the lifter stays there (s, recording clock)."""
        cols, a, b = self._since(history, last_end, t_now)
        band = max(HINGE_BAND.band_min_deg, HINGE_BAND.band_fraction * rom_deg)
        away = zk._first_away(cols[FLEX_SMOOTH], a, b, band)
        return None if away < 0 else cols.item(T, away)

    def _stood_still(self, history: History, last_end: float, t_until: float) -> bool:
        """Has the lifter taken no step from `rest_settle_s` after the last rep ended (last_end) to t_until:
        | |acc| - g | never over `rest_max_activity_mps2` (a top-start set's lifter breathing at the top, not
        walking the bar to the rack)?"""
        seg = self.segmentation
        cols, a, b = self._since(history, last_end + seg.rest_settle_s, t_until)
        return zk._first_crossing(cols[ACC_DEV], a, b, seg.rest_max_activity_mps2, True) < 0

    @staticmethod
    def _since(history: History, t_from: float, t_to: float) -> tuple[np.ndarray, int, int]:
        """The history's columns and the indices [a, b) of its samples from the one at t_from to t_to."""
        cols = history.held()[0]
        t = cols[T]
        return cols, max(int(t.searchsorted(t_from, "right")) - 1, 0), int(t.searchsorted(t_to, "right"))

    def _bend_among_squats(self, m: Measured, rom_deg: float) -> bool:
        """Squats: did this trip lean well past rom_deg (a set's, or the next rep's) for the hips' travel of
        a bend (`bend_min_lean_deg_per_m`): a plate picked up from the floor next to the set?"""
        seg = self.segmentation
        return (self.tracker.detector == "vertical" and m.rom_deg - rom_deg > seg.bend_min_extra_deg
                and m.rom_deg > seg.bend_min_lean_deg_per_m * m.hip_travel_m)

    def close_due_s(self, history: History, t_now: float) -> float:
        """When the set ends for lack of a next rep (s, recording clock), as known at t_now: set_gap_s
        after its last rep (up to `floor_rest_max_s` while a floor-start set's lifter rests at the bar, and
        `top_rest_max_s` while a top-start set's lifter stands at the top without a step), and for a
        floor-start or trunk-still set a rep of median length more (such a trip is first seen once it has
        moved back from its turning point by the hysteresis, slow in a small, slow pull; a top-start lift's
        home turning point shows as soon as the lifter moves down), or, once the lifter has left home again
        within set_gap_s (a slow rep's turn may show only seconds later), when that trip has lasted longer
        than any rep of the set could, a floor-start one with a breath at lockout as long as
        `lockout_max_hold_s` allows (history: the Analyzer's)."""
        if t_now < self.earliest_close_s:
            return self.earliest_close_s  # (the trip under way can only put it later)
        seg, medians = self.segmentation, self._medians()
        last_end = self.measured[-1].end
        breath_s = seg.lockout_max_hold_s - seg.max_turn_dwell_s if self.tracker.pattern == FLOOR_START else 0.0
        due = self.earliest_close_s
        left = self.tracker.left_home_index
        left_t = None if left is None else history.value(T, history.clip(left))
        if self.tracker.pattern != TRUNK_STILL:
            left_s = self._left_home_s(history, last_end, t_now, medians.rom_deg)
            if self.tracker.pattern == FLOOR_START:
                if left_s is None:  # still resting at the bar
                    due = max(due, last_end + seg.floor_rest_max_s + medians.duration_s)
                elif left_s - last_end > seg.floor_rest_min_s:  # rested, then left it: a pull (alike until lockout)
                    due = max(due, left_s + seg.max_duration_ratio * medians.duration_s + breath_s)
            elif len(self.measured) >= 3 and self._stood_still(  # (as `fits` takes a rep after a rest)
                    history, last_end, (t_now if left_s is None else left_s) - seg.rest_settle_s):
                if left_s is None:  # breathing at the top between reps
                    due = max(due, last_end + seg.top_rest_max_s)
                elif left_s - last_end <= seg.top_rest_max_s:  # then went down: a rep's time
                    due = max(due, left_s + seg.max_duration_ratio * medians.duration_s)
        if left_t is not None:
            in_time = left_t - last_end <= seg.set_gap_s  # (a later trip cannot join the set)
            if in_time and (left_t >= last_end or self.tracker.out_since_index is not None):
                due = max(due, left_t + seg.max_duration_ratio * medians.duration_s + breath_s)
        return due

    def rel(self, t_abs: float) -> float:
        return float(t_abs) - self._t_first

    def _rep(self, m: Measured, number: int) -> Rep:
        """The Rep in the lifter's terms (eccentric/concentric by pattern), no flags yet; the pause at home,
        known when the next rep starts, is filled in by `report`."""
        start, arrive, depart, end = m.phases_s or (m.start, m.arrive, m.depart, m.end)
        spread = self._spread_s
        if spread:
            if depart > arrive:
                arrive, depart = arrive - spread, depart + spread
            start, end = min(start + spread, arrive), max(end - spread, depart)
        out_s, turn_pause, back_s = arrive - start, depart - arrive, end - depart
        pattern = self.tracker.pattern
        if pattern == TOP_START:
            ecc, pb, con, pt, vel = out_s, turn_pause, back_s, None, m.back_peak_dps
        else:
            con, pt, ecc, pb, vel = out_s, turn_pause, back_s, None, m.out_peak_dps
        t0 = self._t_first + self._lag_s
        return frozen_instance(
            Rep, index=number, start_s=start - t0, turn_s=0.5 * (arrive + depart) - t0, end_s=end - t0,
            eccentric_s=ecc, pause_bottom_s=pb, concentric_s=con, pause_top_s=pt, tempo=tempo(ecc, pb, con, pt),
            peak_flexion_deg=m.peak_flexion_deg, rom_deg=m.rom_deg, peak_velocity_dps=abs(vel),
            sway_deg=m.rom_deg if pattern == TRUNK_STILL else None,
            peak_lateral_deg=m.peak_lateral_deg, peak_twist_deg=m.peak_twist_deg, flags=())

    def _baseline_deg(self) -> float | None:
        """The median peak flexion of the set's first `baseline_reps` reps (None: fewer, or trunk-still)."""
        return None if len(self.measured) < self.settings.baseline_reps else self._baseline_now

    def _flags(self, rep: Rep, m: Measured) -> tuple[Flag, ...]:
        """Flags known when the rep completes (partial waits for the set's end)."""
        pattern, settings, ms = self.tracker.pattern, self.settings, self.measured
        turn_pause = rep.pause_bottom_s if pattern == TOP_START else None
        if pattern == FLOOR_START and len(ms) > 1:
            turn_pause = max(0.0, m.start - ms[-2].end)  # the dwell on the floor before this pull
        set_reversal = None
        if m.hips_reversal_mps2 is not None:
            earlier = [x.hips_reversal_mps2 for x in ms[:-1] if x.hips_reversal_mps2 is not None]
            set_reversal = median(earlier) if len(earlier) >= 2 else None
        momentum = fl.momentum_flag(rep, pattern, turn_pause, settings, m.hips_reversal_mps2, set_reversal)
        out = []
        baseline = self._baseline_now if len(ms) > settings.baseline_reps else None
        threshold = fl.rounding_threshold_deg(settings, baseline)
        extra = settings.rounding_bounce_extra_deg if momentum is not None else 0.0
        if threshold is not None and rep.peak_flexion_deg > threshold + extra:  # (else no crossing to time)
            over = zk._first_crossing(m.flex, 0, m.flex.size, threshold + extra, True)
            crossed = self.rel(m.t[over]) if over >= 0 else rep.turn_s
            if flag := fl.rounding_flag(rep, threshold, crossed, baseline, settings, extra):
                out.append(flag)
        if not out and m.pelvis_tuck_deg is not None and (flag := fl.tuck_flag(rep, m.pelvis_tuck_deg, settings)):
            out.append(flag)
        if momentum is not None:
            out.append(momentum)
        if settings.tempo_prescribed and (flag := fl.tempo_flag(rep.__dict__, rep.turn_s, settings)):
            out.append(flag)
        if flag := fl.twist_flag(rep, settings):
            out.append(flag)
        if not out and (flag := self._fatigue(rep)):  # a flagged rep is fast for the wrong reason
            out.append(flag)
        return tuple(out)

    def _fatigue(self, rep: Rep) -> Flag | None:
        """Velocity loss, flagged once per set: at the second rep in a row below the best clean rep by
        `fatigue_loss_pct` (one slow rep is tempo noise; the cue is a signal to end the set)."""
        if not self.reps or self._fatigue_flagged:
            return None
        best = max(self._best_clean_dps, rep.peak_velocity_dps)
        if fl.fatigue_flag(self.reps[-1], best, self.settings) is None:
            return None
        return fl.fatigue_flag(rep, best, self.settings)

    def add(self, m: Measured, t_now: float) -> list[Event]:
        """Add a completed rep; returns the events to show now.

        A first "rep" unlike the second (far longer, much smaller or much deeper) was the walk-out, the
        set-up, getting up from a seat or picking up a plate, not a rep: it is dropped, and an already announced set is
        announced again without it.
        """
        events: list[Event] = []
        seg = self.segmentation
        if len(self.measured) == 1:
            first = self.measured[0]
            if (first.end - first.start > seg.max_duration_ratio * (m.end - m.start)
                    or first.rom_deg < self._first_min_fraction() * m.rom_deg
                    or first.rom_deg - m.rom_deg > seg.max_extra_depth_deg
                    or self._bend_among_squats(first, m.rom_deg)
                    or (self.tracker.pattern == TRUNK_STILL and first.rom_deg > seg.still_first_max_ratio * m.rom_deg)):
                self._restart([])
                if self.announced:
                    events.append(SetDiscarded(t_now, self.index))
                    self.announced = False
        self._append(m)
        if len(self.measured) == 4 and self._unloaded_bend(0):
            self._restart(self.measured[1:])
            if self.announced:
                events.append(SetDiscarded(t_now, self.index))
                self.announced = False
        baseline = self._baseline_deg()
        self.cue_threshold_deg = fl.rounding_threshold_deg(self.settings, baseline)
        if self.events and (self.live or self.announced):
            events += self._announce(t_now, all_reps=not self.announced)
        return events

    def _first_min_fraction(self) -> float:
        """A first "rep" smaller than this fraction of the second was not one (a fidget, a lean)."""
        if self.tracker.pattern == TRUNK_STILL:
            return self.segmentation.still_first_min_fraction
        return self.settings.partial_fraction

    def _append(self, m: Measured) -> None:
        ms = self.measured
        ms.append(m)
        durations, roms, homes = self._sorted
        duration, rom, home = _median_keys(m)
        bisect.insort(durations, duration)
        bisect.insort(roms, rom)
        bisect.insort(homes, home)
        self._medians_now = None
        self.earliest_close_s = m.end + self.segmentation.set_gap_s + (
            0.0 if self.tracker.pattern == TOP_START and not self.slow_squats else self._medians().duration_s)
        if len(ms) == self.settings.baseline_reps and self.tracker.pattern != TRUNK_STILL:
            self._baseline_now = median([x.peak_flexion_deg for x in ms])
        rep = self._rep(m, len(ms))
        rep.__dict__["flags"] = self._flags(rep, m)  # (the Rep is not shared yet)
        self.reps.append(rep)
        if speed_reference(rep):
            self._best_clean_dps = max(self._best_clean_dps, rep.peak_velocity_dps)
        if rep.flags and not self._fatigue_flagged:
            self._fatigue_flagged = any(f.kind == "fatigue" for f in rep.flags)

    def _restart(self, kept: list[Measured]) -> None:
        """The set's reps built again from `kept` (a first or an unloaded "rep" left out)."""
        self.measured, self.reps, self._medians_now, self._sorted = [], [], None, ([], [], [])
        self._best_clean_dps, self._fatigue_flagged = -math.inf, False
        for m in kept:
            self._append(m)

    def _unloaded_bend(self, i: int) -> bool:
        """Was rep i (the first or the last) of a top-start set an unloaded bend, such as picking a plate
        up before or after the set, rather than one of its loaded reps? Against the set's other reps
        (medians) it came up more slowly relative to its own descent, and either went down faster
        (`unloaded_descent_ratio`, `unloaded_rise_ratio`) or, counting also the hold at the bottom
        (gripping the plate) and the hips' drop (bending the knees to reach the floor), is unlike them
        by a factor of `unloaded_min_unlikeness` (`unloaded_min_rise_ratio`); or, the last, went
        `rounding_margin_deg` past the set's first reps and held the bottom as long as the set's reps
        (`unloaded_min_hold_ratio`), or held it `unloaded_last_hold_ratio` times as long however deep: a
        rounded rep reaches its depth in a burst and turns, and a loaded rep is not held at the bottom.
        A rep slowing at the end of a hard set keeps its controlled descent, hold and hips, and a bounced
        rep (momentum flag) is a fault of the set, so both stay."""
        if len(self.measured) < 4 or any(f.kind == "momentum" for f in self.reps[i].flags):
            return False
        others = self.measured[:i] + self.measured[i + 1:]
        return self._unlike_loaded_reps(self.measured[i], others, last=i == len(self.measured) - 1)

    def _unlike_loaded_reps(self, m: Measured, others: list[Measured], last: bool) -> bool:
        """`_unloaded_bend` for the trip m against the set's reps `others` (last: it would be the set's last)."""
        if self.tracker.pattern != TOP_START or self.tracker.detector != "coarse":
            return False
        seg = self.segmentation
        m_descent = m.arrive - m.start
        rise_ratio = (m.end - m.depart) / m_descent / median(
            (x.end - x.depart) / (x.arrive - x.start) for x in others)
        if (m_descent < seg.unloaded_descent_ratio * median(x.arrive - x.start for x in others)
                and rise_ratio > seg.unloaded_rise_ratio):
            return True
        hold_ratio = (m.depart - m.arrive) / max(median(x.depart - x.arrive for x in others), 0.1)
        baseline = self._baseline_deg()
        if last and (hold_ratio >= seg.unloaded_last_hold_ratio or (
                hold_ratio >= seg.unloaded_min_hold_ratio and baseline is not None
                and m.peak_flexion_deg > baseline + self.settings.rounding_margin_deg)):
            return True
        travel_ratio = m.hip_travel_m / max(median(x.hip_travel_m for x in others), 0.01)
        return rise_ratio > seg.unloaded_min_rise_ratio and hold_ratio * travel_ratio > seg.unloaded_min_unlikeness

    def take_first(self, others: list[OpenSet]) -> None:
        """Guessing, as this set takes its first rep: another top-start tracker's one-rep "set" that ended
        just before it and is like it (range, duration, and squat-like or not as this set's tracker is,
        with a set's leaning) was the first rep, claimed before a set showed which tracker it belongs to
        (a first squat whose hips travelled just short of squat-like). Both sets go on; the first to be
        confirmed stays."""
        seg = self.segmentation
        if len(self.measured) != 1 or self.tracker.pattern != TOP_START:
            return
        ones = [o.measured[0] for o in others if len(o.measured) == 1 and o.tracker.pattern == TOP_START]
        if not ones:
            return
        m, medians = max(ones, key=lambda x: x.end), self._medians()
        squat = self.tracker.detector == "vertical"
        leaning = seg.squat_set_leaning if squat else 1.0 / seg.squat_set_leaning
        if (not 0.0 <= self.measured[0].start - m.end <= seg.set_gap_s
                or squat_like(m.hip_travel_m, m.rom_deg, seg, leaning) != squat
                or not 0.65 * medians.rom_deg <= m.rom_deg <= medians.rom_deg + seg.max_extra_depth_deg
                or m.end - m.start > seg.max_duration_ratio * medians.duration_s):
            return
        self._restart([m, *self.measured])
        self.cue_threshold_deg = fl.rounding_threshold_deg(self.settings, self._baseline_deg())

    def confirm(self, t_now: float) -> list[Event]:
        return [] if self.announced or not self.events else self._announce(t_now, all_reps=True)

    def _announce(self, t_now: float, all_reps: bool = False) -> list[Event]:
        """Events for the newest rep (or all reps), stamped with the data time they became known."""
        events: list[Event] = []
        reps = self.reps if all_reps else self.reps[-1:]
        if not self.announced:
            self.announced = True
            name = self.exercise or self._guess()
            events.append(SetStarted(t_now, self.index, name, self.exercise is None))
        for rep in reps:  # (built as frozen_instance: one or two events per rep of a live set)
            events.append(frozen_instance(RepCompleted, t_s=t_now, set_index=self.index, rep=rep))
            for flag in rep.flags:
                if flag.kind != "rounding" or self._cue_flag is None:
                    events.append(frozen_instance(FlagRaised, t_s=t_now, set_index=self.index, rep_index=rep.index,
                                                  flag=flag))
            self._cue_flag = None
        return events

    def cue(self, t_s: float, flexion_deg: float) -> FlagRaised:
        """The flexion just crossed the rounding threshold: flag it now, not at the end of the set."""
        self.cue_armed = False
        baseline = self._baseline_deg()
        flag = Flag("rounding", t_s, round(flexion_deg, 2), round(self.cue_threshold_deg, 2), "deg",
                    "Your lower back is rounding: past "
                    + ("the depth of your first reps" if baseline is not None else "your flexion limit")
                    + ". Brace and push the hips back, or rack the weight.")
        self._cue_flag = flag
        return FlagRaised(t_s, self.index, len(self.reps) + 1, flag)

    def _guess(self) -> str:
        if self.tracker.detector == "vertical":
            return "squat"
        peaks = [m.peak_flexion_deg for m in self.measured]
        return guess_exercise(self.tracker.pattern, median(peaks), self.measured[0].home_flexion_deg)

    def report(self, exercise: str | None) -> SetReport:
        """The finished set: pauses at home filled in, partial reps flagged, summary. A last "rep" that
        was an unloaded bend (`_unloaded_bend`) is left out."""
        if self._unloaded_bend(len(self.measured) - 1):
            m = self.measured.pop()
            self.reps.pop()
            for values, value in zip(self._sorted, _median_keys(m), strict=True):
                values.remove(value)
            self._medians_now = None
        reps = []
        ms, settings = self.measured, self.settings
        median_rom, last = self._medians().rom_deg, len(ms) - 1
        # (as `_rep` puts them) the pause at home, and the phase that ends a rep
        home, back = ("pause_top_s", "concentric_s") if self.tracker.pattern == TOP_START else (
            "pause_bottom_s", "eccentric_s")
        for i, rep in enumerate(self.reps):
            partial = fl.partial_flag(rep, median_rom, settings)
            if i == last and partial is None:  # no pause at home to fill in: the rep as added
                reps.append(rep)
                continue
            fields = rep.__dict__.copy()
            if partial is not None:
                fields["flags"] = (*rep.flags, partial)
            if i < last:
                # the next rep began before this one's slow end was seen (a return's tail, timed at a low rate):
                # this one ended there
                cut = min(max(0.0, rep.end_s - self.reps[i + 1].start_s), fields[back])
                fields["end_s"], fields[back] = rep.end_s - cut, fields[back] - cut
                fields[home] = max(0.0, (ms[i + 1].phases_s or ms[i + 1])[0] - ms[i].end + 2.0 * self._spread_s)
                fields["tempo"] = tempo(fields["eccentric_s"], fields["pause_bottom_s"], fields["concentric_s"],
                                        fields["pause_top_s"])
                if settings.tempo_prescribed and not any(f.kind == "tempo" for f in rep.flags) and (
                        rushed := fl.tempo_flag(fields, rep.turn_s, settings)):  # (the pause at home)
                    fields["flags"] = (*fields["flags"], rushed)
            reps.append(frozen_instance(Rep, **fields))
        name = exercise or self._guess()
        return SetReport(index=self.index, exercise=name, exercise_guessed=exercise is None,
                         pattern=self.tracker.pattern, start_s=reps[0].start_s, end_s=reps[-1].end_s,
                         reps=tuple(reps), summary=summary(reps, self._baseline_deg(), self.cue_threshold_deg))

    def ended(self, set_report: SetReport, t_now: float) -> list[Event]:
        """The flags only the set's end could tell (partial; a pause at home cut short), then SetEnded."""
        events: list[Event] = []
        for rep, as_added in zip(set_report.reps, self.reps, strict=True):
            for flag in rep.flags[len(as_added.flags):]:
                events.append(FlagRaised(t_now, self.index, rep.index, flag))
        events.append(SetEnded(t_now, set_report))
        return events
