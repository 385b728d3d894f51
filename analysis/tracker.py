"""Finding trips (home -> turning point -> home) in the trunk trace, one hypothesis per tracker.

A tracker looks at the flexion through a sign (s = sign * flexion) so that every rep is an
excursion upward from home and back: sign +1 for top-start lifts (home = standing), -1 for
floor-start lifts (home = the floor) and trunk-still lifts (home = the held inclination; a pull
raises or leans back the trunk). Turning points come from the hysteresis detector; a trip is
complete when the trunk is back within `band` of home and has slowed to 10 % of its return speed
(or, for a bounce off home, when the next home turning point is confirmed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from analysis import _extrema_kernels as zk
from analysis.columns import FLEX_SMOOTH, RATE_SMOOTH, SIGNALS, T
from analysis.exercises import TOP_START

if TYPE_CHECKING:
    from analysis.buffer import History
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


@dataclass
class _Candidate:
    i_home: int
    home_s: float
    i_turn: int
    turn_s: float  # excursion at the turning point (s units, degrees)
    t_turn: float
    band_deg: float
    back_peak_dps: float = 0.0


class TripTracker:
    """One hypothesis (pattern + detector). Feed it turning points and samples in index order."""

    def __init__(self, pattern: str, sign: float, detector: str, rules: TrackerRules, min_reps: int,
                 plateau_home: bool = False) -> None:
        self.pattern = pattern
        self.plateau_home = plateau_home  # may start from a held level, not only from a turning point
        self.sign = sign
        self.detector = detector  # "coarse", "fine" or "vertical" (see analysis.columns.SIGNALS)
        self._row, self._rate_row = SIGNALS[detector]
        self.rules = rules
        self.min_reps = min_reps
        self._home: tuple[int, float] | None = None
        self._cand: _Candidate | None = None
        self._scanned: tuple[float, float] | None = None  # (t_turn, peak speed) seen by the last scan

    @property
    def out_since_index(self) -> int | None:
        """Global index of the home the current trip left from, or None when no trip is out."""
        return None if self._cand is None else self._cand.i_home

    @property
    def left_home_index(self) -> int | None:
        """Global index of the home the lifter last left: the trip's, or, for top-start lifts, the last
        home turning point (confirmed once the lifter moved down by the hysteresis: the turn of a slow
        eccentric may show seconds later). A floor-start or trunk-still home turning point may be the
        stand-up after the set or a resting lifter's sway."""
        if self._cand is not None:
            return self._cand.i_home
        if self._home is None or self.pattern != TOP_START:
            return None
        return self._home[0]

    def on_turning_point(self, index: int, kind: int, value_deg: float,
                         held_before: tuple[int, float] | None = None) -> Trip | None:
        """kind: +1 maximum, -1 minimum of flexion. Returns a trip completed by a bounce off home.

        held_before: (index, flexion) where the movement into this turning point began; a tracker
        with `plateau_home` starts there when the last home turning point is out of range (the lifter
        leaned into position and held it, then pulled).
        """
        s = self.sign * value_deg
        r = self.rules
        if kind * self.sign < 0:  # a home-side turning point
            cand = self._cand
            if cand is None:
                self._home = (index, s)
                return None
            came_back = (cand.turn_s - s) / (cand.turn_s - cand.home_s)
            if s - cand.home_s > cand.band_deg and came_back < 0.5:
                return None  # a dip near the turning point (a wobble at the bottom): the rep goes on
            self._cand = None
            self._home = (index, s)
            if cand.back_peak_dps >= r.min_return_dps:
                return Trip(cand.i_home, cand.i_turn, index)
            return None
        cand = self._cand
        if cand is not None:
            if s > cand.turn_s:  # deeper after a dip: the turning point moves
                cand.i_turn, cand.turn_s = index, s
                cand.band_deg = max(r.band_min_deg, r.band_fraction * (s - cand.home_s))
            return None
        if self._home is not None:
            i_home, home_s = self._home
            rom = s - home_s
            if rom > r.max_rom_deg and self.plateau_home and held_before is not None:
                i_home, home_s = held_before[0], self.sign * held_before[1]
                rom = s - home_s
            if r.min_rom_deg <= rom <= r.max_rom_deg and r.home_min_deg <= self.sign * home_s <= r.home_max_deg:
                band = max(r.band_min_deg, r.band_fraction * rom)
                self._cand = _Candidate(i_home, home_s, index, s, np.nan, band)
        return None

    def scan(self, index0: int, cols: np.ndarray, lo: int, hi: int) -> tuple[str, int]:
        """Look through the columns [lo, hi) of `cols` (rows of analysis.columns, column 0 at global
        index index0) for the trip's completion or abandonment.

        Returns ("done" | "abandon" | "", global index). Pure: call `advance` with the samples
        actually consumed, then `resolve` for an outcome.
        """
        cand = self._cand
        if cand is None or lo == hi:
            return "", -1
        t_turn = cols.item(T, lo) if math.isnan(cand.t_turn) else cand.t_turn
        code, i, peak = zk._scan_trip(cols, self._row, self._rate_row, lo, hi, self.sign, cand.home_s, cand.band_deg,
                                      cand.back_peak_dps, self.rules.min_return_dps, t_turn, self.rules.max_trip_s)
        self._scanned = (t_turn, peak) if code == 0 else None
        if code == 0:
            return "", -1
        return ("done" if code == 1 else "abandon"), index0 + i

    def advance_scanned(self) -> None:
        """Take in all the samples the last `scan` looked at (it found no outcome in them)."""
        if self._cand is not None and self._scanned is not None:
            self._cand.t_turn, self._cand.back_peak_dps = self._scanned

    def advance(self, t: np.ndarray, rate_dps: np.ndarray) -> None:
        """Take in samples consumed without an outcome (their return speed counts from now on)."""
        cand = self._cand
        if cand is None or t.size == 0:
            return
        if math.isnan(cand.t_turn):
            cand.t_turn = t.item(0)
        back_peak = -rate_dps.min() if self.sign > 0.0 else rate_dps.max()  # max of -sign * rate (sign is +-1)
        cand.back_peak_dps = max(cand.back_peak_dps, float(back_peak))

    def end_of_data(self, index: int, flexion_deg: float) -> Trip | None:
        """The recording ended at `index`: a trip already back home counts, one still out does not."""
        cand = self._cand
        self._cand = None
        if cand is None or self.sign * flexion_deg - cand.home_s > cand.band_deg:
            return None
        if cand.back_peak_dps < self.rules.min_return_dps:
            return None
        return Trip(cand.i_home, cand.i_turn, index)

    def resolve(self, outcome: str, index: int) -> Trip | None:
        cand = self._cand
        self._cand = None
        if outcome == "done" and cand is not None:
            return Trip(cand.i_home, cand.i_turn, index)
        return None


def held_before(h: History, seg: SegmentationSettings, index: int, kind: int) -> tuple[int, float] | None:
    """Where the movement into the turning point at global `index` (kind +1 maximum, -1 minimum) began,
    from the history h: the end of the last hold (0.1 s or more slower than a quarter of min_return_dps
    toward it, at least min_sway_deg from the turning point) within 3 s before it; (index, flexion) or None."""
    start = max(index - int(3.0 * seg.max_rate_hz), h.first_index)
    cols = h.get(start, index + 1)
    cols = cols[:, cols[T] >= cols[T, -1] - 3.0]
    start = index + 1 - cols.shape[1]
    t = cols[T]
    flex = cols[FLEX_SMOOTH]
    moving = kind * cols[RATE_SMOOTH] > 0.25 * seg.min_return_dps
    away = np.abs(flex - flex[-1]) >= seg.min_sway_deg  # not the hold at the turning point itself
    held = np.flatnonzero(~moving & away)
    if held.size == 0:
        return None
    breaks = np.flatnonzero(np.diff(held) > 1)
    firsts = np.concatenate(([held[0]], held[breaks + 1]))
    lasts = np.concatenate((held[breaks], [held[-1]]))
    long_enough = np.flatnonzero(t[lasts] - t[firsts] >= 0.1)
    if long_enough.size == 0:
        return None
    j = int(lasts[long_enough[-1]])
    return start + j, float(flex[j])
