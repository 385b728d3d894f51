"""The one analysis path for live sessions and recordings: push Samples, get events; finish, get a report.

Pipeline per block: trunk orientation (signed flexion, lateral bend, rates) -> causal smoothing ->
turning points (hysteresis) -> trip trackers, one per movement pattern (just the chosen one with
--exercise) -> sets and reps -> flags. Everything carries state sample by sample, so any split of a
recording into blocks gives the identical report and events (tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import NamedTuple

import numpy as np

from analysis import _extrema_kernels as zk
from analysis import _tracker_kernels as tk
from analysis.buffer import History
from analysis.columns import FLEX, LATERAL, N_COLUMNS, SIGNALS, T
from analysis.events import CalibrationDone, Event, ForwardCorrected, PostureUpdate, SetDiscarded
from analysis.exercises import HIPS_TRAVEL, TOP_START, pattern_of
from analysis.flags import FlagSettings
from analysis.measure import Measured, measure
from analysis.orientation import OrientationSettings, StandingPose, TrunkAngles, TrunkOrientation
from analysis.report import RecordingInfo, SessionReport
from analysis.samples import Samples
from analysis.segmentation import SegmentationSettings, trackers_for
from analysis.sets import OpenSet, frozen_instance
from analysis.squats import squat_like
from analysis.stats import median
from analysis.trace import Trace
from analysis.tracker import Trip, TripTracker

CHUNK = 16384  # samples analysed at a time (bounds the history a long block needs)
MAX_LIFT_FLEXION_DEG = 150.0  # a set's median peak past this is not a lift (a deep good morning or a toe touch
# reaches 100-120 deg): the sensor turned or slipped on the body, said in the report's notes


@dataclass(frozen=True)
class AnalyzerSettings:
    orientation: OrientationSettings = field(default_factory=OrientationSettings)
    segmentation: SegmentationSettings = field(default_factory=SegmentationSettings)
    flags: FlagSettings = field(default_factory=FlagSettings)
    posture_update_hz: float = 10.0  # PostureUpdate events per second of data
    keep_trace: bool = True  # keep the whole per-sample trace (for plots); off for bounded memory


def _tilt_deg(acc: np.ndarray) -> float:
    """The sensor's tilt from its nearest axis (deg) with `acc` the still accelerometer reading."""
    up = acc / np.linalg.norm(acc)
    return math.degrees(math.acos(min(1.0, float(np.max(np.abs(up))))))


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


_PLAIN = (float, int, str, type(None))  # (a tuple: `float | int | ...` would build a union per field)


def _as_dict(settings: object) -> dict:
    """`dataclasses.asdict` of settings whose fields are numbers, None or settings (10x faster)."""
    return {name: v if isinstance(v := getattr(settings, name), _PLAIN) else _as_dict(v)
            for name in _field_names(type(settings))}


class StandingFound(NamedTuple):
    """A standing pose found after a first still moment that was not (`Analyzer.standing_found`)."""

    pose: StandingPose  # the standing pose and the sagittal plane from it (`standing` of a new Analyzer)
    first_still_s: float  # when the first still moment, bent over, was (s from the first sample)
    standing_s: float  # when the lifter was first seen standing still (s from the first sample)


class Analyzer:
    """Push blocks of Samples in time order; read events; `finish` for the session report."""

    def __init__(
        self,
        settings: AnalyzerSettings = AnalyzerSettings(),
        *,
        exercise: str | None = None,
        accelerometer_only: bool = False,
        events: bool = True,
        standing: StandingPose | None = None,
    ) -> None:
        """events=False: build no events (push returns []; the report is the same), for batch analysis,
        which reads only the report: no cue checks, rep and set announcements or posture updates.
        standing: the lifter's standing pose known before the data begins (`standing_found` of an earlier pass
        over the same recording: analysis.orientation.TrunkOrientation)."""
        if exercise is not None:
            pattern_of(exercise)  # fail early on an unknown name
        self.settings = settings
        self.exercise = exercise
        self.accelerometer_only = accelerometer_only
        seg = settings.segmentation
        self._standing = standing
        self._orientation = TrunkOrientation(settings.orientation, accelerometer_only=accelerometer_only,
                                             standing=standing)
        self._trackers = trackers_for(seg, exercise, accelerometer_only)
        flags = settings.flags
        # the trunk's smoothed flexion and rate lag by the group delay of two cascaded one-pole low-passes
        # (2 tau), and the tilt of the accelerometer alone by its own low-pass too (s): reported rep times
        # take it off (and without a gyroscope a deadlift's peak is read from that much before its trip);
        # without a gyroscope the wider filters also spread each movement by their impulse response's standard
        # deviation (the root sum of squares of the time constants, 0.2 s) at either end, so reported phases
        # are narrowed back by it and the set-up rule's holds widened (with one, 0.06 s: within the phases'
        # other errors, and what the rules were set on)
        taus = ((seg.accelerometer_only_smoothing_s,) * 2 + (settings.orientation.accelerometer_only_time_constant_s,)
                if accelerometer_only else (seg.smoothing_time_constant_s,) * 2)
        self.trunk_lag_s = sum(taus)
        self.trunk_spread_s = math.sqrt(sum(tau * tau for tau in taus)) if accelerometer_only else 0.0
        self._flag_settings = flags if not accelerometer_only else replace(
            flags, momentum_max_concentric_s=flags.momentum_max_concentric_accelerometer_only_s,
            rounding_bounce_extra_deg=flags.rounding_bounce_extra_accelerometer_only_deg)
        self._detectors = {  # detector -> (signal row, hysteresis, zig-zag state, turning points' buffers)
            name: (SIGNALS[name][0], h, np.zeros(zk.ZZ_STATE_SIZE),
                   tuple(np.empty(CHUNK, dtype=np.int64) for _ in range(3)))
            for name, h in (("coarse", seg.hysteresis_deg), ("fine", seg.fine_hysteresis_deg),
                            ("vertical", seg.vertical_hysteresis_m))
            if any(tr.detector == name for tr in self._trackers)
        }
        self._log = np.empty((2 * CHUNK + 1, tk.LOG_COLUMNS), dtype=np.int64)
        self._lp_flex = np.zeros(zk.LP_STATE_SIZE)
        self._lp_rate = np.zeros(zk.LP_STATE_SIZE)
        self._vertical = np.zeros(zk.VERTICAL_STATE_SIZE)
        seg_history = int(seg.history_s * seg.max_rate_hz)
        self._history = History(N_COLUMNS, seg_history + CHUNK)
        self._n_seen = 0
        self._t_first: float | None = None
        self._calibrated = False
        self._posture_slot = -math.inf
        self._events_on = events
        self._posture_on = settings.posture_update_hz > 0 and events
        self._posture_buffer = np.empty(CHUNK, dtype=np.int64)
        self._open: dict[int, OpenSet] = {}  # tracker id -> set being built by that tracker
        self._active: OpenSet | None = None  # the confirmed set in progress
        self._sets: list = []
        self.neutral_since_index = 0  # global index from which the angles are measured from the current neutral
        self._sets_turn = -math.inf  # where the last rep of the sets reported so far left its turn (s, recording clock)
        self._trace_blocks: list[tuple[np.ndarray, ...]] = []
        self._events: list[Event] = []
        self._event_index: list[int] = []  # the sample each event belongs to (events are put in its order)
        self.final_events: list[Event] = []  # what `finish` raised (the sets it closed)

    # -- public -----------------------------------------------------------------------------------

    def push(self, block: Samples) -> list[Event]:
        """Analyse the next block (it must follow the previous one in time); returns its events."""
        self._events, self._event_index = [], []
        n = block.t.size
        if n == 0:
            return []
        if n <= CHUNK:
            self._push_chunk(block, n)
        else:
            for start in range(0, n, CHUNK):
                chunk = block[start : start + CHUNK]
                self._push_chunk(chunk, chunk.t.size)
        return self._in_order()

    def _in_order(self) -> list[Event]:
        """The events raised since the last push or finish, in the order of the samples they belong to."""
        if len(self._events) > 1:
            order = sorted(range(len(self._events)), key=self._event_index.__getitem__)
            return [self._events[k] for k in order]
        return self._events

    def _push_chunk(self, block: Samples, n: int) -> None:
        if self._t_first is None:
            self._t_first = float(block.t[0])
        angles = self._orientation.process(block)
        cols = self._history.extend(n)  # the kernel writes straight into the history
        if self.settings.keep_trace:
            self._trace_blocks.append((block.t, angles.flexion_deg, angles.lateral_deg,
                                       angles.flexion_rate_dps, angles.twist_rate_dps))
        i0 = self._n_seen
        self._n_seen += n
        if not self._calibrated and angles.calibrated.any():
            self._calibrated = True
            if self._events_on:
                i = int(np.argmax(angles.calibrated))
                up = block.acc[i] if self._standing is None else self._standing.up  # (given: its own tilt)
                self._emit(i0 + i, CalibrationDone(self._rel(block.t[i]), _tilt_deg(up), refreshed=False))
        if self._events_on and angles.flipped.any():
            for i in np.flatnonzero(angles.flipped).tolist():
                self._emit(i0 + i, ForwardCorrected(self._rel(block.t[i])))
        if not angles.reanchored.any():
            self._derive(angles, cols)
            self._walk(i0, cols, self._tracked(i0, cols))
            return
        # a standing neutral taken again (the sensor turned on the body, or the first still moment was not standing:
        # item 3 of orientation) moves every angle at once: the smoothing, the turning points and the trips start
        # afresh there, and the sets under way end, so that no rep spans angles measured from two neutrals
        cuts = np.flatnonzero(angles.reanchored).tolist()
        starts = cuts if cuts[0] == 0 else [0, *cuts]  # (a block may begin at its reanchor)
        for a, b in zip(starts, [*starts[1:], n], strict=True):
            if angles.reanchored[a]:
                if self._events_on:
                    self._emit(i0 + a, CalibrationDone(self._rel(block.t[a]), _tilt_deg(block.acc[a]), refreshed=True))
                self._start_afresh(i0 + a, angles.flexion_deg[a], angles.flexion_rate_dps[a])
            if b > a:
                part = cols[:, a:b]
                self._derive(TrunkAngles(*(x[a:b] for x in angles)), part)
                self._walk(i0 + a, part, self._tracked(i0 + a, part))

    def _derive(self, angles: TrunkAngles, cols: np.ndarray) -> None:
        """The history's rows `cols` of the samples of `angles`."""
        seg = self.settings.segmentation
        tau = seg.accelerometer_only_smoothing_s if self.accelerometer_only else seg.smoothing_time_constant_s
        zk._derive_run(angles.t_s, angles.flexion_deg, angles.flexion_rate_dps, angles.lateral_deg,
                       None if self.accelerometer_only else angles.twist_rate_dps, angles.acc_norm_mps2,
                       self.settings.orientation.gravity_mps2, tau, seg.vertical_time_constant_s,
                       seg.gravity_time_constant_s, self.settings.orientation.gap_s, seg.glitch_jump_mps2,
                       self._lp_flex, self._lp_rate, self._vertical, cols)

    def _start_afresh(self, index: int, flexion_deg: float, rate_dps: float) -> None:
        """At global sample `index`, where the neutral was taken again: the sets under way end, the smoothed flexion
        and rate start from the sample's own, and the turning points and trips from nothing."""
        self.neutral_since_index = index
        if self._active is not None:
            self._close(self._active, index - 1)
        for open_set in list(self._open.values()):
            self._close(open_set, index - 1)
        if self._lp_flex[0]:  # (started: else the first sample starts them)
            self._lp_flex[1:3], self._lp_flex[4], self._lp_rate[1:3] = flexion_deg, flexion_deg, rate_dps
        for _, _, state, _ in self._detectors.values():
            state[:] = 0.0
        for tracker in self._trackers:
            tracker.start_afresh()

    def finish(self, info: RecordingInfo | None = None) -> SessionReport:
        """Close what is open and return the session report. The events that raised (a last rep, SetEnded and
        the end-of-set flags of the sets it closed) are in `final_events`."""
        self._events, self._event_index = [], []
        end = self._n_seen
        if end:
            last = self._history.get(end - 1, end)[:, 0]
            for tracker in self._trackers:
                trip = tracker.end_of_data(end - 1, float(last[SIGNALS[tracker.detector][0]]))
                if trip is not None:
                    self._on_trip(tracker, trip, end - 1)
        if self._active is not None:
            self._close(self._active, end - 1)
        for open_set in list(self._open.values()):  # (too few reps for a set: discarded, if it was announced)
            self._close(open_set, end - 1)
        self.final_events = self._in_order()
        if info is None:
            info = RecordingInfo(path=None, format="samples", duration_s=self._duration(),
                                 sample_rate_hz=self._rate(), accelerometer_only=self.accelerometer_only)
        notes = []
        if self.accelerometer_only:
            notes.append("Accelerometer-only recording: trunk angles come from the accelerometer alone and "
                         "err by several degrees during fast reps; tempo phases are about 0.2-0.25 s off (a "
                         "short pause at the bottom mostly merges into the phases around it); twist is not "
                         "measured.")
        if not self._calibrated:
            notes.append("The lifter never stood still for a second, so angles are relative to the first "
                         "sample rather than to a calibrated standing pose.")
        if (flipped := self._orientation.sign_flipped_t_s) is not None:
            notes.append(f"A large trunk movement taken for a bend forward was a lean back: until "
                         f"{self._rel(flipped):.1f} s (a bend forward showed it) forward and back are swapped in the "
                         f"angles, and sets measured from the same neutral before then are mirrored.")
        if (standing := self._orientation.reanchored_t_s) is not None and self._orientation.neutral_t_s is not None:
            notes.append(f"The first still moment ({self._rel(self._orientation.neutral_t_s):.1f} s) was not standing "
                         f"(bent over: a set-up or a row's hold): until "
                         f"{self._rel(standing):.1f} s, when the lifter stood still, angles are measured from that "
                         f"pose, and from standing after it.")
        moves, last_s, last_deg = self._orientation.sensor_moves
        if moves:
            notes.append(f"The sensor turned on the body {moves} time{'s' if moves > 1 else ''} (the last seen at "
                         f"{self._rel(last_s):.1f} s, by {last_deg:.0f}°: a phone put back in its pack another way): "
                         f"each time, from when the lifter had stood still twice in the new position, angles are "
                         f"measured from it; between the turn and then they are off.")
        if odd := [s.index for s in self._sets if median([r.peak_flexion_deg for r in s.reps]) > MAX_LIFT_FLEXION_DEG]:
            notes.append(f"Set{'s' if len(odd) > 1 else ''} {', '.join(map(str, odd))} peaked past "
                         f"{MAX_LIFT_FLEXION_DEG:.0f}° of trunk flexion, further than any lift bends the trunk: the "
                         f"sensor most likely turned or slipped on the body, and its angles there are off.")
        if self.exercise is None and self._sets:
            notes.append("No exercise was given: each set's exercise is a guess from the movement "
                         "(pass --exercise for exact rep boundaries).")
        settings = _as_dict(self.settings)
        settings["exercise"] = self.exercise
        return SessionReport(recording=info, sets=tuple(self._sets), settings=settings, notes=tuple(notes))

    @property
    def standing_found(self) -> StandingFound | None:
        """The standing pose found in place of a first still moment that was not standing, or None: given to a new
        Analyzer over the same recording (`standing`), every set is measured from it (`backcheck analyze`)."""
        o = self._orientation
        if (pose := o.standing_found) is None or o.neutral_t_s is None:
            return None
        return StandingFound(pose, self._rel(o.neutral_t_s), self._rel(o.reanchored_t_s))

    def trace(self) -> Trace:
        """The whole per-sample trace (requires settings.keep_trace); set_index from the report."""
        if not self._trace_blocks:
            z = np.zeros(0)
            return Trace(z, z, z, z, z, np.zeros(0, dtype=np.int64))
        cols = [np.concatenate(c) for c in zip(*self._trace_blocks, strict=True)]
        t = cols[0]
        set_index = np.zeros(t.size, dtype=np.int64)
        for s in self._sets:
            a, b = np.searchsorted(t - self._t_first, [s.start_s, s.end_s])
            set_index[a:b] = s.index
        return Trace(t - self._t_first, cols[1], cols[2], cols[3], cols[4], set_index)

    # -- internals --------------------------------------------------------------------------------

    def _rel(self, t: float) -> float:
        return float(t) - self._t_first

    def _emit(self, index: int, event: Event) -> None:
        self._event_index.append(index)
        self._events.append(event)

    def _duration(self) -> float:
        h = self._history
        return 0.0 if h is None or h.end_index == 0 else self._rel(h.get(h.end_index - 1, h.end_index)[T, 0])

    def _rate(self) -> float:
        return (self._n_seen - 1) / self._duration() if self._duration() > 0 else float("nan")

    def _tracked(self, i0: int, cols: np.ndarray) -> list:
        """The trackers' log rows (analysis._tracker_kernels) over the chunk `cols` just added to the
        history (global indices from i0), each as a list ending with its tracker, in the walk's order."""
        hist, g0 = self._history.held()
        found = {name: zk._zigzag_run(cols[row], i0, h, state, *turning)
                 for name, (row, h, state, turning) in self._detectors.items()}
        rows = []
        for tracker in self._trackers:
            turning = self._detectors[tracker.detector][3]
            k = tracker.run(hist, g0, i0 - g0, cols.shape[1], turning, found[tracker.detector], self._log)
            if k:
                rows += [row + [tracker] for row in self._log[:k].tolist()]
        if len(self._trackers) > 1:  # at one sample turning points first, then in the trackers' order (stable)
            rows.sort(key=lambda r: (r[tk.L_INDEX], r[tk.L_PHASE]))
        return rows

    def _walk(self, a: int, cols: np.ndarray, rows: list) -> None:
        """Process the chunk `cols` (global indices from a) in index order: the trackers' log (trips,
        and where the lifter left home), and between its rows the set closes and cues."""
        lo = 0
        for index, phase, left, out, home, turn, done, tracker in rows:
            x = index - a
            if lo < x and (self._open or self._posture_on):  # (else nothing to close, cue or post)
                self._quiet(a, cols, lo, x)
            if phase and self._posture_on:  # (found by a scan: the sample is taken in)
                self._posture(a, cols, x, x + 1)
            tracker.see(left, out)
            if home >= 0:
                self._on_trip(tracker, Trip(home, turn, done), index)
            lo = x + phase
        if lo < cols.shape[1]:
            self._quiet(a, cols, lo, cols.shape[1])

    def _quiet(self, a: int, cols: np.ndarray, lo: int, hi: int) -> None:
        """The columns [lo, hi) of the chunk `cols` (global indices from a), where no tracker's state
        changes: set closes and rounding cues, in index order (a close before a cue at one sample)."""
        if not self._posture_on and (self._active is None or not self._events_on):  # only closes to look for
            t_last = cols.item(T, hi - 1)
            for open_set in self._open.values():
                if t_last >= open_set.earliest_close_s:
                    break
            else:
                return  # (no set can end by hi: most segments)
        while lo < hi:
            closing = self._close_index(a, cols[T], lo, hi) if self._open else None
            cue_i = self._cue_index(a, cols[FLEX], lo, hi) if self._active is not None and self._events_on else None
            if closing is None and cue_i is None:
                if self._posture_on:
                    self._posture(a, cols, lo, hi)
                return
            i = closing[0] if cue_i is None or (closing is not None and closing[0] <= cue_i) else cue_i
            if self._posture_on:
                self._posture(a, cols, lo, i + 1 - a)
            if closing is not None and closing[0] == i:
                self._close(closing[1], i)
            else:
                self._cue(i)
            lo = i + 1 - a

    def _posture(self, a: int, cols: np.ndarray, lo: int, hi: int) -> None:
        """A PostureUpdate at the first sample of each 1/posture_update_hz slot of data time, in the columns
        [lo, hi) of the chunk `cols` (global indices from a)."""
        hz = self.settings.posture_update_hz
        m, self._posture_slot = zk._posture_slots(cols[T, lo:hi], self._t_first, hz, self._posture_slot,
                                                  self._posture_buffer)
        in_set = self._active is not None
        for j in self._posture_buffer[:m].tolist():
            j += lo
            self._emit(a + j, frozen_instance(PostureUpdate, t_s=cols.item(T, j) - self._t_first,
                                              flexion_deg=cols.item(FLEX, j), lateral_deg=cols.item(LATERAL, j),
                                              in_set=in_set))

    # sets and reps -------------------------------------------------------------------------------

    def _on_trip(self, tracker: TripTracker, trip, index: int) -> None:
        if self._active is not None and self._active.tracker is not tracker:
            return
        key = id(tracker)
        open_set = self._open.get(key)
        rep = measure(self, tracker, trip)
        if rep is None or rep.start < self._sets_turn:
            return  # (not a rep; or one begun before a reported set's last rep turned: the same movement, seen by
            # another tracker; the next rep of a set may start before the last one's slow end, not before its turn)
        if open_set is not None and not open_set.fits(rep):
            self._close(open_set, index)
            open_set = None
        if rep.floor_hold_s is not None and not self._after_set_up(open_set, rep):
            return
        if open_set is not None and self.exercise is None and open_set.began_with_set_up(rep):
            del self._open[key]  # guessing: that was a deadlift's set-up, not a squat or RDL
            return
        if open_set is None:
            open_set = OpenSet(tracker, self.exercise, len(self._sets) + 1, self._flag_settings,
                               live=self.exercise is not None and not self.finds_slow_squats(tracker),
                               events=self._events_on, t_first=self._t_first,
                               slow_squats=self.finds_slow_squats(tracker),
                               segmentation=self.settings.segmentation,
                               lag_s=0.0 if tracker.detector == "vertical" else self.trunk_lag_s,
                               spread_s=0.0 if tracker.detector == "vertical" else self.trunk_spread_s)
            self._open[key] = open_set
        t_now = self._rel(self._history.value(T, index))
        for event in open_set.add(rep, t_now):
            self._emit(index, event)
        if self.exercise is None:
            open_set.take_first([s for s in self._open.values() if s is not open_set])
        if self._active is None and len(open_set.reps) >= tracker.min_reps and not self._slow_squat_pending(tracker):
            # confirmed: the others' sets go
            self._active = open_set
            for other in [s for s in self._open.values() if s is not open_set]:
                del self._open[id(other.tracker)]
                if other.announced:
                    self._emit(index, SetDiscarded(t_now, other.index))
            for event in open_set.confirm(t_now):
                self._emit(index, event)

    def _after_set_up(self, open_set: OpenSet | None, rep: Measured) -> bool:
        """Guessing, a floor-start trip: one that moves like a squat (`squat_like`: little lean for its hips'
        travel) counts only in a set that began after a set-up at the bar (held `floor_set_up_min_s`): seen from
        its bottom, a squat set looks like deadlifts half a rep off, but it begins standing."""
        seg = self.settings.segmentation
        if not squat_like(rep.hip_travel_m, rep.rom_deg, seg, self.squat_leaning()):
            return True
        first = rep if open_set is None or not open_set.fits(rep) else open_set.measured[0]
        return first.floor_hold_s >= seg.floor_set_up_min_s

    def _close_index(self, a: int, t: np.ndarray, lo: int, hi: int) -> tuple[int, OpenSet] | None:
        """The first open set to end for lack of a next rep (`OpenSet.close_due_s`) within the columns
        [lo, hi) of the chunk's times t (global indices from a), and where."""
        t_last = t.item(hi - 1)
        best = None
        for open_set in self._open.values():
            due = open_set.close_due_s(self._history, t_last)
            if t_last >= due:
                i = a + lo + int(t[lo:hi].searchsorted(due))
                if best is None or i < best[0]:
                    best = (i, open_set)
        return best

    def _close(self, open_set: OpenSet | None, index: int) -> None:
        if open_set is None:
            return
        t_now = self._rel(self._history.value(T, self._history.clip(index)))
        self._open.pop(id(open_set.tracker), None)
        if open_set is self._active:
            self._active = None
        if len(open_set.reps) >= open_set.tracker.min_reps and open_set.measured[0].start >= self._sets_turn:
            set_report = open_set.report(self.exercise)
            self._sets.append(set_report)
            self._sets_turn = max(self._sets_turn, open_set.measured[-1].depart)
            if self._events_on:
                for event in open_set.ended(set_report, t_now):
                    self._emit(index, event)
        elif open_set.announced:
            self._emit(index, SetDiscarded(t_now, open_set.index))

    # live rounding cue --------------------------------------------------------------------------

    def _cue_index(self, a: int, flex: np.ndarray, lo: int, hi: int) -> int | None:
        s = self._active
        if s is None or s.cue_threshold_deg is None:
            return None
        if s.cue_armed:
            i = zk._first_crossing(flex, lo, hi, s.cue_threshold_deg, True)
        else:
            rearm_deg = s.cue_threshold_deg - self.settings.flags.rounding_margin_deg / 2
            i = zk._first_crossing(flex, lo, hi, rearm_deg, False)
        return None if i < 0 else a + i

    def _cue(self, index: int) -> None:
        s = self._active
        if s.cue_armed:
            flag_event = s.cue(self._rel(self._history.value(T, index)), self._history.value(FLEX, index))
            self._emit(index, flag_event)
        else:
            s.cue_armed = True

    # helpers for OpenSet ------------------------------------------------------------------------

    def squat_leaning(self) -> float:
        """Guessing: how far a set under way (before one is confirmed, the open set with the most reps)
        tips the squat-or-hinge call its way (analysis.squats.squat_like): a borderline rep (a shallow
        squat, a deep-knee hinge) goes with the set's other reps."""
        under_way = self._active
        if under_way is None and self._open:
            by_reps = sorted(self._open.values(), key=lambda s: len(s.reps))
            if len(by_reps) == 1 or len(by_reps[-1].reps) > len(by_reps[-2].reps):
                under_way = by_reps[-1]
        if under_way is None:
            return 1.0
        bias = self.settings.segmentation.squat_set_leaning
        return bias if under_way.tracker.detector == "vertical" else 1.0 / bias

    def finds_slow_squats(self, tracker: TripTracker) -> bool:
        """Is this the trunk's tracker of squats, which finds the slow ones (a descent the hips' leaky height
        cannot follow, analysis.measure)? Its set is announced once confirmed; the hips' one-rep set, announced
        at its rep, is then discarded."""
        return self.exercise in HIPS_TRAVEL and tracker.detector != "vertical"

    def _slow_squat_pending(self, tracker: TripTracker) -> bool:
        """Does the trunk's tracker hold a slow squat, or is it still out on a trip it began with the hips' set (a
        squat paused at the bottom), while the hips' one would confirm a set (with a gyroscope: the
        accelerometer's tilt lets brisk squats pass for slow ones)? The hips' set waits: it is confirmed at a
        later rep, reported when it ends, or discarded once the trunk's set is confirmed."""
        if tracker.detector != "vertical" or self.accelerometer_only:
            return False
        if any(s.slow_squats for s in self._open.values()):
            return True
        # the trunk still out on a trip it began with the hips' set: a squat paused at the bottom, which the hips'
        # leaky height (decaying through the pause) shows as two half reps
        own = self._open.get(id(tracker))
        first_s = own.measured[0].start if own is not None and own.measured else math.inf
        return any(t.detector != "vertical" and t.pattern == TOP_START and t.out_since_index is not None
                   and self._history.value(T, self._history.clip(t.out_since_index)) <= first_s
                   + self.settings.segmentation.squat_paused_min_s for t in self._trackers)

    def continues_open_set(self, tracker: TripTracker, start: float, lean_deg: float) -> bool:
        """Does a trip starting at `start` (s, recording clock) continue the tracker's open set of two reps or more,
        within `set_gap_s` of its last rep and leaning at least nine tenths as far as its shallowest rep? A lifter
        sits down once, not rep after rep."""
        open_set = self._open.get(id(tracker))
        return (open_set is not None and len(open_set.measured) >= 2
                and start - open_set.last_end <= self.settings.segmentation.set_gap_s
                and lean_deg >= 0.9 * min(m.rom_deg for m in open_set.measured))

    def active_tracker(self) -> TripTracker | None:
        """The tracker of the confirmed set in progress, if any."""
        return None if self._active is None else self._active.tracker

    def columns(self, a: int, b: int) -> np.ndarray:
        """The history's rows (analysis.columns) for global sample indices [a, b), as far as held."""
        return self._history.get(a, b)
