"""Squats as the hips see them: telling a squat from a hinge, and timing a squat's phases by the trunk.

A squat moves the hips far for little trunk flexion; a hinge or a deadlift flexes the trunk at least
twice as much per metre of hip travel (the hips' height is the Analyzer's leaky double integral of
|acc| - g, analysis.columns.HEIGHT). Where the hips moved slowly their leaky integral is mostly the
integrators' own leak, so a squat found by the hips is timed by the trunk when the trunk swept once;
where they moved briskly the leak still starts and turns them early, so the phases reported take the
trunk's start and turn within the hips' rep. How hard the hips turn at the bottom tells a bounce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from analysis import _extrema_kernels as zk
from analysis.columns import FLEX_SMOOTH, RATE_SMOOTH, VELOCITY, T
from analysis.reps import RepTiming, time_rep
from analysis.segmentation import SegmentationSettings

if TYPE_CHECKING:
    from analysis.analyzer import Analyzer
    from analysis.tracker import Trip


def squat_trunk_timing(analyzer: Analyzer, trip: Trip, cols: np.ndarray) -> RepTiming | None:
    """Phases of a squat found by the hips' travel, timed by the trunk instead when the hips moved
    slowly (peak vertical speed below `squat_brisk_mps`: their doubly integrated acceleration is then
    mostly the integrators' own leak) and the trunk moved in one sweep, from its lowest point since its
    previous turn (up to 1 s before the hips' trip: not a bounced rep's start). Where the pelvis tucks at
    the bottom (butt wink) the trunk sweeps twice and the hips keep the time.
    """
    seg = analyzer.settings.segmentation
    if float(np.max(np.abs(cols[VELOCITY]))) >= seg.squat_brisk_mps:
        return None
    peaks = inner_maxima(cols[FLEX_SMOOTH], seg.hysteresis_deg)
    if peaks.size != 1:
        return None
    wide = analyzer.columns(trip.i_home - int(seg.max_rate_hz), trip.i_done + 1)  # may start 1 s earlier
    wide = wide[:, wide[T] >= cols[T, 0] - 1.0]
    offset = int(np.searchsorted(wide[T], cols[T, 0]))
    i_turn = offset + int(peaks[0])
    before = inner_maxima(wide[FLEX_SMOOTH, : i_turn + 1], seg.hysteresis_deg)  # the previous rep's turn, if any
    after = int(before[-1]) if before.size else 0
    i_home = after + int(np.argmin(wide[FLEX_SMOOTH, after : i_turn + 1]))  # (not the previous rep's way down)
    timing = time_rep(wide[T], wide[RATE_SMOOTH], i_home, i_turn, wide.shape[1] - 1)
    rate = wide[RATE_SMOOTH, i_turn:]
    i_back = int(np.argmin(rate))
    if i_back < rate.size - 1 and -rate[-1] > 0.1 * timing.back_peak_dps:
        # the hips came home before the trunk did: mirror the trunk's return about its peak speed
        end = 2.0 * float(wide[T, i_turn + i_back]) - timing.depart_s
        timing = timing._replace(end_s=max(end, timing.end_s))
    return timing


def squat_trunk_turn(cols: np.ndarray, start_s: float, turn_s: float, end_s: float, hysteresis_deg: float
                     ) -> tuple[float, float, float] | None:
    """Start, arrival at and departure from the bottom of a squat whose start and end the hips timed (s),
    from the trunk's one sweep between them (its lean peaks at the bottom; the hips' leaky height turns
    and starts early); None when the trunk swept more than once (a tuck at the bottom) or not at all."""
    a, b = np.searchsorted(cols[T], [start_s, end_s])
    if b - a < 4:
        return None
    peaks = inner_maxima(cols[FLEX_SMOOTH, a:b], hysteresis_deg)
    if peaks.size != 1:
        return None
    timing = time_rep(cols[T, a:b], cols[RATE_SMOOTH, a:b], 0, int(peaks[0]), b - a - 1)
    if timing.start_s > turn_s:
        return None  # the trunk's sweep began after the hips' bottom: not this squat's lean
    start = max(timing.start_s, start_s)
    arrive = min(max(timing.arrive_s, start), end_s)
    return start, arrive, min(max(timing.depart_s, arrive), end_s)


def _hips_turn(velocity: np.ndarray) -> tuple[int, int]:
    """The samples of the hips' fastest descent and of their fastest rise after it (vertical velocity)."""
    i_down = int(np.argmin(velocity))
    return i_down, i_down + int(np.argmax(velocity[i_down:]))


def pelvis_tuck_deg(t: np.ndarray, flex: np.ndarray, velocity: np.ndarray, window_s: float) -> float:
    """How far the trunk tipped back and forward again at the bottom of a squat (deg): the deepest dip of
    the flexion below its maxima within window_s before and after (t: s, flex: deg, velocity: the hips'
    vertical velocity, m/s, over the rep's samples), at a sample between the hips' fastest descent and
    their fastest rise after it. The sensor sits on the pelvis and lumbar spine, so the pelvis tucking
    under at the bottom of a squat (a butt wink: the lumbar spine flexing under load) shows as its
    inclination falling and rising again while the hips turn; standing tall between reps is no tuck."""
    n = flex.size
    w = int(round(window_s * (n - 1) / (t[-1] - t[0]))) if n > 1 and t[-1] > t[0] else 0
    if n < 3 or w < 1:
        return 0.0
    i_down, i_up = _hips_turn(velocity)
    padded = np.concatenate((np.full(w, -np.inf), flex, np.full(w, -np.inf)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, w + 1).max(axis=1)  # max of padded[k: k + w + 1]
    dips = np.minimum(windows[:n], windows[w:]) - flex  # (the maxima over flex[j - w: j + 1], flex[j: j + w + 1])
    return float(np.max(dips[i_down : i_up + 1]))


def hips_reversal_mps2(t: np.ndarray, velocity: np.ndarray) -> float:
    """How hard a squat turns at the bottom (m/s²): the hips' mean upward acceleration from their
    fastest descent to their fastest rise after it (vertical velocity, m/s, over the rep's samples at
    times t, s). A controlled squat turns at ~0.3-2 m/s² (simulated: at most 1.2; real bodyweight
    squats without a pause: median 1.7); a bounce out of the bottom at 3-5 m/s²."""
    i_down, i_up = _hips_turn(velocity)
    if i_up == i_down:
        return 0.0
    return float((velocity[i_up] - velocity[i_down]) / (t[i_up] - t[i_down]))


def squat_like(travel_m: float, lean_deg: float, seg: SegmentationSettings, leaning: float = 1.0) -> bool:
    """Hips that travel far (squat_min_hip_travel_m) for little trunk flexion (squat_max_lean_deg_per_m):
    a squat, not a hinge or a deadlift (whose trunk flexes twice as much per metre of hip travel).
    leaning > 1 (inside a set of squats) widens the flexion limit by that factor and lowers the travel to
    min_squat_travel_m (a partial squat's hips travel 0.14-0.27 m); < 1 narrows both."""
    min_travel_m = seg.min_squat_travel_m if leaning > 1.0 else seg.squat_min_hip_travel_m / leaning
    return travel_m >= min_travel_m and lean_deg <= seg.squat_max_lean_deg_per_m * leaning * travel_m


def inner_maxima(x: np.ndarray, hysteresis: float) -> np.ndarray:
    """Inner maxima of x that stand out by `hysteresis` on both sides (the zig-zag kernel's)."""
    idx, conf, kind = (np.empty(x.size, dtype=np.int64) for _ in range(3))
    m = zk._zigzag_run(x, 0, hysteresis, np.zeros(zk.ZZ_STATE_SIZE), idx, conf, kind)
    peaks = idx[:m][kind[:m] == 1]
    return peaks[(peaks > 0) & (peaks < x.size - 1)]
