"""Measuring one rep from its stretch of trunk trace: phase times, depth, range, speed, sway.

A rep is a trip from the set's home position (standing for top-start lifts, the floor for
deadlifts, the held inclination for rows) out to a turning point and back. Work is done in
"excursion" units s = sign * flexion, so the trip always goes up and back down.

Phase boundaries follow the trunk's angular velocity. Human point-to-point movements start and end
smoothly (velocity rising from zero with near-zero acceleration, as in the minimum-jerk model), so a
velocity threshold alone fires late at a start and early at an end. backcheck finds the times where
the velocity passes a low and a four times higher fraction of the phase's peak and extrapolates the
onset as if the velocity grew with the square of time from it: onset = 2 t(low) - t(high) (mirrored
for arrivals). The low fraction is 5 % (the extrapolation then errs by about 1 % of the phase on a
minimum-jerk movement), raised up to 10 % for slow movements so it stays above the sensor's noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOISE_DPS = 1.0  # angular-rate noise the low threshold must stay above (deg/s, after smoothing)


@dataclass(frozen=True)
class RepTiming:
    """Times (s) of one trip home -> turning point -> home; phases in the trip's own order."""

    start_s: float  # leaves home
    arrive_s: float  # reaches the turning point
    depart_s: float  # leaves the turning point
    end_s: float  # back home
    out_peak_dps: float  # peak |angular velocity| going out
    back_peak_dps: float  # peak |angular velocity| coming back

    @property
    def turn_s(self) -> float:
        return 0.5 * (self.arrive_s + self.depart_s)


def _crossing(t: np.ndarray, v: np.ndarray, level: float, i_from: int, step: int) -> float:
    """Time where v first falls below `level` walking from i_from in direction step (interpolated)."""
    if step > 0:
        below = np.flatnonzero(v[i_from + 1 :] < level)
        if below.size == 0:
            return float(t[-1])
        j = i_from + 1 + int(below[0])
    else:
        below = np.flatnonzero(v[:i_from] < level)
        if below.size == 0:
            return float(t[0])
        j = int(below[-1])
    i = j - step  # v[i] >= level > v[j]: interpolate between the two samples
    frac = (v[i] - level) / (v[i] - v[j]) if v[i] != v[j] else 0.0
    return float(t[i] + frac * (t[j] - t[i]))


def _onset(t: np.ndarray, v: np.ndarray, i_peak: int, step: int) -> float:
    """Extrapolated onset (step=-1) or arrival (step=+1) of a velocity pulse peaking at i_peak."""
    peak = v[i_peak]
    low = min(max(0.05, NOISE_DPS / peak), 0.1) if peak > 0 else 0.1
    t_low = _crossing(t, v, low * peak, i_peak, step)
    t_high = _crossing(t, v, 4.0 * low * peak, i_peak, step)  # sqrt(4) = 2: the factor below
    return 2.0 * t_low - t_high


def time_rep(t: np.ndarray, v: np.ndarray, i_start: int, i_turn: int, i_end: int) -> RepTiming:
    """Phase times of one trip.

    t: times (s); v: excursion velocity (deg/s, positive going out); i_start..i_end spans the trip
    (from somewhere in the home dwell before it to its completion) and i_turn is the turning point.
    """
    out = slice(i_start, i_turn + 1)
    back = slice(i_turn, i_end + 1)
    i_out = i_start + int(np.argmax(v[out]))
    i_back = i_turn + int(np.argmin(v[back]))
    start = _onset(t, v, i_out, -1)
    arrive = _onset(t, v, i_out, +1)
    w = -v
    depart = _onset(t, w, i_back, -1)
    end = _onset(t, w, i_back, +1)
    start = max(start, float(t[i_start]))
    arrive = max(arrive, start)
    if depart < arrive:  # no dwell at the turn: both meet at the middle
        arrive = depart = 0.5 * (arrive + depart)
    end = max(end, depart)
    return RepTiming(start, arrive, depart, end, float(v[i_out]), float(w[i_back]))


def integrate_deg(t: np.ndarray, rate_dps: np.ndarray) -> np.ndarray:
    """Running trapezoidal integral of a rate (deg/s) over t (s), starting at 0 (deg)."""
    if t.size < 2:
        return np.zeros(t.size)
    return np.concatenate(([0.0], np.cumsum(0.5 * (rate_dps[1:] + rate_dps[:-1]) * np.diff(t))))
