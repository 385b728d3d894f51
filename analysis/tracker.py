"""Finding trips (home -> turning point -> home) in the trunk trace, one hypothesis per tracker.

A tracker looks at the flexion through a sign (s = sign * flexion) so that every rep is an
excursion upward from home and back: sign +1 for top-start lifts (home = standing), -1 for
floor-start lifts (home = the floor) and trunk-still lifts (home = the held inclination; a pull
raises or leans back the trunk). Turning points come from the hysteresis detector; a trip is
complete when the trunk is back within `band` of home and has slowed to 10 % of its return speed
(or, for a bounce off home, when the next home turning point is confirmed). A plateau-home tracker
(trunk-still) may start a trip from where the movement into its turning point began, after a hold,
when its last home turning point is too far away (the lifter leaned into position, held, then pulled).
The walk itself is the kernel `analysis._tracker_kernels._track_run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from analysis import _tracker_kernels as tk
from analysis.columns import SIGNALS
from analysis.exercises import TOP_START

if TYPE_CHECKING:
    from analysis.segmentation import SegmentationSettings


@dataclass(frozen=True)
class TrackerRules:
    """What a trip must look like to count (degrees, seconds, degrees/second)."""

    min_rom_deg: float
    max_rom_deg: float
    home_min_deg: float  # allowed home flexion (deg, unsigned flexion units)
    home_max_deg: float
    band_fraction: float  # back home = within this fraction of the range ...
    band_min_deg: float  # ... but at least this many degrees
    min_return_dps: float  # the return must reach this speed
    max_trip_s: float  # a trip that does not come home within this is abandoned
    max_turn_dwell_s: float  # a longer dwell at the turning point means it was not a rep (inf = any)


class Trip(NamedTuple):
    """Global sample indices of one completed trip (a tuple: cheap per trip)."""

    i_home: int  # the home turning point before the trip
    i_turn: int  # the turning point
    i_done: int  # the sample that completed it


class TripTracker:
    """One hypothesis (pattern + detector): its rules and the state `_track_run` carries from block to
    block; `left_home_index` and `out_since_index` as of the log the Analyzer has handled so far."""

    def __init__(self, pattern: str, sign: float, detector: str, rules: TrackerRules, min_reps: int,
                 seg: SegmentationSettings, plateau_home: bool = False) -> None:
        """plateau_home: a trip may start from a held level, not only from a turning point (trunk-still)."""
        self.pattern = pattern
        self.sign = sign
        self.detector = detector  # "coarse", "fine" or "vertical" (see analysis.columns.SIGNALS)
        self._row, self._rate_row = SIGNALS[detector]
        self.rules = rules
        self.min_reps = min_reps
        # a plateau-home trip starts where the movement into its turning point began, after a hold: looked for
        # within the 3 s a pull takes and the hold at its turn, which the turning point may end (a squeeze)
        hold_window_s = 3.0 + seg.max_turn_dwell_s
        self._rules = np.array([
            sign, rules.min_rom_deg, rules.max_rom_deg, rules.home_min_deg, rules.home_max_deg,
            rules.band_fraction, rules.band_min_deg, rules.min_return_dps, rules.max_trip_s, float(plateau_home),
            float(pattern == TOP_START), float(int(hold_window_s * seg.max_rate_hz)), 0.25 * seg.min_return_dps,
            seg.min_sway_deg, hold_window_s])
        self._state = np.zeros(tk.TRACKER_STATE_SIZE)
        self.out_since_index: int | None = None
        """Global index of the home the current trip left from, or None when no trip is out."""
        self.left_home_index: int | None = None
        """Global index of the home the lifter last left: the trip's, or, for top-start lifts, the last
        home turning point (confirmed once the lifter moved down by the hysteresis: the turn of a slow
        eccentric may show seconds later). A floor-start or trunk-still home turning point may be the
        stand-up after the set or a resting lifter's sway."""

    def run(self, hist: np.ndarray, g0: int, c0: int, n: int, turning: tuple[np.ndarray, ...], m: int,
            log: np.ndarray) -> int:
        """Track through the history columns [c0, c0 + n) of hist (column 0 = global index g0) given the m
        turning points of this tracker's detector there (index, confirmation, kind arrays); writes the
        log rows (analysis._tracker_kernels) and returns how many."""
        if m == 0 and self._state[tk.S_OUT] == 0.0:
            return 0  # (no trip out, no turning point: nothing can happen)
        return tk._track_run(hist, g0, c0, n, self._row, self._rate_row, *turning, m, self._rules, self._state, log)

    def see(self, left_home_index: int, out_since_index: int) -> None:
        """Take in a log row's visible state (-1: none)."""
        self.left_home_index = None if left_home_index < 0 else left_home_index
        self.out_since_index = None if out_since_index < 0 else out_since_index

    def start_afresh(self) -> None:
        """Forget every turning point and trip so far (the angles moved at once: a neutral taken again)."""
        self._state[:] = 0.0
        self.see(-1, -1)

    def end_of_data(self, index: int, value: float) -> Trip | None:
        """The recording ended at `index` (the detector's signal there: value): a trip already back home
        counts, one still out does not."""
        st = self._state
        out, st[tk.S_OUT] = st[tk.S_OUT], 0.0
        self.see(*tk._visible(st, self._rules))
        if out == 0.0 or self.sign * value - st[tk.S_OUT_HOME_S] > st[tk.S_BAND]:
            return None
        if st[tk.S_PEAK] < self.rules.min_return_dps:
            return None
        return Trip(int(st[tk.S_OUT_HOME_I]), int(st[tk.S_TURN_I]), index)


