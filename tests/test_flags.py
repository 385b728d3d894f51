"""Flag rules that need a sequence of reps (built directly, without a signal)."""

from __future__ import annotations

import numpy as np

from analysis.flags import FlagSettings
from analysis.segmentation import SegmentationSettings, trackers_for
from analysis.sets import Measured, OpenSet


def _rep(start_s: float, back_peak_dps: float) -> Measured:
    """A plain RDL rep (2 s down, 0.5 s at the bottom, 1 s up to 60 deg) with the given return speed."""
    t = np.linspace(start_s, start_s + 3.5, 36)
    flex = 60.0 * np.sin(np.pi * (t - start_s) / 3.5)
    return Measured(start_s, start_s + 2.0, start_s + 2.5, start_s + 3.5, 40.0, back_peak_dps, 60.0, 60.0, 0.0,
                    1.0, 1.0, t, flex)


def _fatigue_flags(speeds_dps: list[float]) -> list[int]:
    tracker = trackers_for(SegmentationSettings(), "rdl")[0]
    open_set = OpenSet(tracker, "rdl", 1, FlagSettings(), live=True, t_first=0.0)
    for k, speed in enumerate(speeds_dps):
        m = _rep(4.0 * k, speed)
        open_set.add(m, 2.0, 25.0, m.end)
    return [r.index for r in open_set.reps for f in r.flags if f.kind == "fatigue"]


def test_fatigue_waits_for_two_slow_reps_in_a_row_and_is_said_once():
    # losses from the best (100): 5, 32, 10, 35, 40, 50 % -> rep 3 alone is tempo noise; reps 5 and 6 are two
    # in a row past 30 %, so rep 6 carries the flag; rep 7 is slower still but the set already heard it
    assert _fatigue_flags([100, 95, 68, 90, 65, 60, 50]) == [6]


def test_no_fatigue_without_a_real_loss():
    assert _fatigue_flags([100, 90, 85, 95, 88, 80, 75]) == []
