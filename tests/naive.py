"""Slow, obviously-correct twins of the Numba kernels, compared with them on random input."""

from __future__ import annotations

import math

import numpy as np

# ---------------------------------------------------------------------------------------------
# Orientation (analysis/_orientation_kernels.py): TrunkOrientation's filter, one sample at a time
# with numpy vectors and a dict of named state.
# ---------------------------------------------------------------------------------------------


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


class NaiveOrientation:
    """The orientation filter of `analysis.orientation` written plainly, with settings in human units."""

    def __init__(self, settings, accelerometer_only: bool = False, standing=None) -> None:
        """standing: an analysis.orientation.StandingPose to begin from (the neutral, and the plane where given)."""
        self.s = settings
        self.acc_only = accelerometer_only
        self.started = False
        self.bias = np.zeros(3)
        self.bias_time = 0.0
        self.calibrated = False
        self.decided = False
        self.refined = False  # the first excursion has ended: the sagittal plane is fixed
        self.max_tilt_deg = 0.0
        self.scatter = np.zeros((3, 3))
        self.flexion_prev = 0.0
        self.gyro_held = 0  # samples in a row the gyroscope was held at its last reading (a glitch)
        self.sign_final = False
        self.refreshed_t_s = -math.inf  # when the neutral was last refreshed
        self.back_t_s: float | None = None  # when the trunk went past sign_check_deg backward
        self.reanchored_t_s: float | None = None  # when a first neutral that was not standing was replaced
        self.moves: list[tuple[float, float]] = []  # (t, deg): the sensor turned on the body
        self.cand, self.cand_t = np.zeros(3), -math.inf  # a standing pose tried as the sensor having moved
        self.checked_t = -math.inf  # when such a pose was last tried
        if standing is not None:
            self.calibrated, self.n_first = True, _unit(np.asarray(standing.up, dtype=float))
            self.n = self.n_first.copy()
            if standing.flexion_axis is not None:
                self._set_axes(np.asarray(standing.flexion_axis, dtype=float))
                self.decided = self.refined = True
                self.sign_final = bool(standing.sign_final)

    def _principal_axis(self, excursion_axis: np.ndarray) -> np.ndarray:
        """The horizontal rotation's principal axis, signed like the excursion's own axis."""
        plane = np.eye(3) - np.outer(self.n, self.n)
        values, vectors = np.linalg.eigh(plane @ self.scatter @ plane)
        axis = vectors[:, -1]
        if values[-1] <= 0.0 or abs(axis @ excursion_axis) < math.cos(math.radians(30.0)) * np.linalg.norm(
                excursion_axis):
            return excursion_axis
        return axis if axis @ excursion_axis >= 0.0 else -axis

    def _set_axes(self, axis: np.ndarray) -> None:
        axis = axis - (axis @ self.n) * self.n
        if np.linalg.norm(axis) < 1e-9:
            x_axis, y_axis = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
            axis = np.cross(x_axis, self.n) if abs(self.n[0]) < 0.9 else np.cross(self.n, y_axis)
        self.a = _unit(axis)
        self.f = np.cross(self.a, self.n)

    def _start(self, t: float, acc: np.ndarray) -> None:
        s, acc_norm = self.s, np.linalg.norm(acc)
        agrees = (self.started and not self.acc_only and abs(acc_norm - s.gravity_mps2) < s.acceleration_rejection_mps2
                  and self._angle_deg(_unit(self.g), acc / acc_norm) < s.gap_keep_deg)
        if not agrees:  # (after a gap where the accelerometer agrees with the tilt held through it: no settling)
            self.settle = s.settle_time_s
        self.g = _unit(acc)
        self.acc_lp = acc.copy()
        self.acc_slow = acc.copy()
        self.gyro_prev = np.zeros(3)
        self.still_run = 0.0
        self.still_sum = np.zeros(3)
        self.turn_run, self.turn_acc, self.turn_gyro = 0.0, np.zeros(3), np.zeros(3)
        self.reject_time = 0.0
        if not self.started:
            self.started = True
            if not self.calibrated:  # (else a standing pose given)
                self.n = self.g.copy()
            if not self.decided:
                self._set_axes(np.cross(self.n, [0.0, 0.0, 1.0]))

    @staticmethod
    def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
        return math.degrees(math.acos(min(1.0, u @ v)))

    @staticmethod
    def _tilt_of_skin_deg(up: np.ndarray) -> float:
        """How far the skin normal (the sensor's z axis) tips from horizontal, with `up` the still up vector."""
        return math.degrees(math.asin(abs(up[2])))

    def _takes_its_place(self, mean_up: np.ndarray, t: float) -> bool:
        """Does a still pose that can be standing, not the neutral, become the neutral (the kernel's
        `_reanchor_check`)?"""
        s = self.s
        from_first = self._angle_deg(mean_up, self.n_first)
        if self._tilt_of_skin_deg(self.n_first) > s.neutral_max_skin_tilt_deg:
            return from_first > s.reanchor_min_deg
        same_tilt = abs(mean_up[2] - self.n_first[2]) <= math.sin(math.radians(s.sensor_moved_same_deg))
        if from_first <= s.sensor_moved_min_deg or not same_tilt:  # (turned about the skin normal only)
            return False
        if self.cand_t > -math.inf and self._angle_deg(mean_up, self.cand) <= s.sensor_moved_same_deg:
            separate = t - self.cand_t > 3.0  # a separate still run, a movement between (the kernel's SEPARATE_S)
            self.cand_t = -math.inf if separate else t
            return separate
        self.cand, self.cand_t = mean_up, t
        return False

    def _tilt_deg(self, up: np.ndarray) -> float:
        return math.degrees(math.acos(np.clip(up @ self.n, -1.0, 1.0)))

    def step(self, t: float, acc: np.ndarray, gyro: np.ndarray) -> tuple:
        s = self.s
        dt = t - self.t_prev if self.started else 0.0
        if not self.started or dt > s.gap_s:
            self._start(t, acc)
            dt = 0.0
        self.t_prev = t
        if dt > 0.0 and self.gyro_held < 2 and np.linalg.norm(gyro - self.gyro_prev) > math.radians(
                s.gyro_glitch_jump_dps):
            gyro, self.gyro_held = self.gyro_prev.copy(), self.gyro_held + 1  # (a glitch: the last reading held)
        else:
            self.gyro_held = 0
        w = gyro - self.bias
        self.acc_lp = self.acc_lp + dt / (s.accelerometer_only_time_constant_s + dt) * (acc - self.acc_lp)
        acc_norm = np.linalg.norm(acc)
        if self.acc_only:
            self.g = _unit(self.acc_lp)
            tau_s = s.accelerometer_only_decide_time_constant_s
            self.acc_slow = self.acc_slow + dt / (tau_s + dt) * (acc - self.acc_slow)
            decide_up = _unit(self.acc_slow)
            moving = np.linalg.norm(acc - self.acc_lp) >= s.still_acc_mps2
        else:
            rot = -0.5 * dt * (w + self.gyro_prev - self.bias)  # the up vector turns by -w dt
            g = self.g + np.cross(rot, self.g) + 0.5 * np.cross(rot, np.cross(rot, self.g))
            error_deg = math.degrees(math.acos(np.clip(g @ acc / (np.linalg.norm(g) * acc_norm), -1, 1)))
            accepted = (
                error_deg < s.acceleration_rejection_deg
                and abs(acc_norm - s.gravity_mps2) < s.acceleration_rejection_mps2
            )
            self.reject_time = 0.0 if accepted else self.reject_time + dt
            gain = s.gain
            if self.settle > 0.0:
                self.settle = max(0.0, self.settle - dt)
                gain = s.gain + (s.settle_gain - s.gain) * self.settle / s.settle_time_s
                accepted = True
            if accepted or self.reject_time > s.recovery_time_s:
                g = g + min(gain * dt, 1.0) * (acc / acc_norm - g)
            self.g = _unit(g)
            limit = s.still_gyro_dps + (0.0 if self.bias_time > 0.0 else s.gyro_bias_max_dps)
            moving = np.linalg.norm(np.degrees(w)) >= limit
            # a turn the gyroscope reads all along while gravity stays put: the bias is wrong, the run's mean rate
            faster = np.linalg.norm(np.degrees(w)) >= 2.0 * (s.still_gyro_dps + s.gyro_bias_max_dps)
            quiet = np.linalg.norm(np.degrees(w)) < 0.5 * limit  # (the still test's to take in)
            if quiet or faster or abs(acc_norm - s.gravity_mps2) >= s.still_acc_mps2:
                self.turn_run = 0.0
            elif self.turn_run > 0.0 and math.degrees(math.acos(np.clip(
                    acc @ self.turn_acc / (acc_norm * np.linalg.norm(self.turn_acc)), -1.0, 1.0))) <= s.bias_check_deg:
                self.turn_run += dt
                self.turn_gyro = self.turn_gyro + dt * gyro
            else:  # a run begins (again, when gravity's direction moved)
                self.turn_run, self.turn_acc, self.turn_gyro = dt, acc.copy(), dt * gyro
            if self.turn_run >= s.bias_check_s:
                self.bias = self.turn_gyro / self.turn_run
                w = gyro - self.bias
                moving, self.bias_time, self.turn_run = False, self.turn_run, 0.0
            decide_up = self.g
        self.gyro_prev = gyro.copy()

        if moving or abs(acc_norm - s.gravity_mps2) >= s.still_acc_mps2:
            self.still_run, self.still_sum = 0.0, np.zeros(3)
        else:
            self.still_run += dt
            self.still_sum = self.still_sum + acc
        still = self.still_run >= s.still_time_s
        if still:
            if not self.acc_only:
                self.bias_time += dt
                self.bias = self.bias + dt / min(s.bias_time_constant_s, self.bias_time) * w
        flip = False
        bent_first = self.calibrated and self._tilt_of_skin_deg(self.n_first) > s.neutral_max_skin_tilt_deg
        if self.decided and (self.refined or self.acc_only) and not self.sign_final and not bent_first:
            flexion = math.degrees(math.atan2(-(self.g @ self.f), self.g @ self.n))
            if flexion > s.sign_check_deg:
                self.sign_final, self.back_t_s = True, None
            elif flexion < -s.sign_check_deg:
                self.back_t_s = t if self.back_t_s is None else self.back_t_s
            elif self.back_t_s is not None and abs(flexion) < s.sign_return_deg:
                flip = self.sign_final = t - self.back_t_s <= s.sign_check_s
                self.back_t_s = None
        reanchored = False
        if still and t - self.refreshed_t_s >= 0.1:  # at most every 0.1 s (the kernel's REFRESH_EVERY_S)
            mean_up = _unit(self.still_sum)
            refresh = not self.calibrated or self._angle_deg(mean_up, self.n_first) <= s.neutral_refresh_max_deg
            if refresh:
                self.cand_t = -math.inf  # back at the neutral: a pose tried was the lifter's, not the sensor
            elif self._tilt_of_skin_deg(mean_up) < s.standing_max_skin_tilt_deg and t - self.checked_t >= 0.1:
                self.checked_t = t
                refresh = reanchored = self._takes_its_place(mean_up, t)
            if refresh and not self.calibrated:
                self.calibrated, self.neutral_t_s, self.max_tilt_deg = True, t, 0.0
                self.n_first = mean_up
            elif reanchored:  # start again from this one
                if self._tilt_of_skin_deg(self.n_first) > s.neutral_max_skin_tilt_deg:
                    self.reanchored_t_s = t
                else:
                    self.moves.append((t, self._angle_deg(mean_up, self.n_first)))
                self.max_tilt_deg, self.scatter = 0.0, np.zeros((3, 3))
                self.decided = self.refined = self.sign_final = False
                self.back_t_s = None
                self.n_first = mean_up
            if refresh:
                self.n = mean_up
                self._set_axes(self.a)
                self.refreshed_t_s = t
        if flip:
            self.a, self.f = -self.a, -self.f

        tilt_deg = self._tilt_deg(decide_up)
        if self.decided and not self.refined and not self.acc_only:  # until the first excursion turns back
            self.max_tilt_deg = max(self.max_tilt_deg, tilt_deg)  # ... or is held still
            half = 0.5 * s.sagittal_decide_deg
            if not still and tilt_deg > half and tilt_deg > self.max_tilt_deg - half:
                self.scatter += dt * np.outer(w, w)
                axis = self._principal_axis(np.cross(decide_up, self.n))
                self._set_axes(axis if axis @ self.a >= 0.0 else -axis)
            else:
                self.refined = True
        deciding = not self.decided and (self.acc_only or self.settle == 0.0)
        if deciding and tilt_deg > 0.5 * s.sagittal_decide_deg:
            self.scatter += dt * np.outer(w, w)
        if deciding and tilt_deg > self.max_tilt_deg:
            self.max_tilt_deg = tilt_deg
            excursion_axis = np.cross(decide_up, self.n)
            if tilt_deg > s.sagittal_decide_deg:
                self.decided, self.decided_t_s = True, t
                self._set_axes(self._principal_axis(excursion_axis))
            else:
                self._set_axes(excursion_axis)

        flexion = math.degrees(math.atan2(-(self.g @ self.f), self.g @ self.n))
        lateral = math.degrees(math.asin(np.clip(self.g @ self.a, -1.0, 1.0)))
        if self.acc_only:
            rate = (flexion - self.flexion_prev) / dt if dt > 0.0 else 0.0
            twist = math.nan
        else:
            forward, left, up = -(self.g @ self.f), self.g @ self.a, self.g @ self.n
            sideways = left * (forward * (w @ self.f) - up * (w @ self.n)) / max(forward**2 + up**2, 1e-9)
            rate, twist = math.degrees(w @ self.a + sideways), -math.degrees(w @ self.n)
        self.flexion_prev = flexion
        return flexion, lateral, rate, twist, still, self.calibrated, reanchored, flip

    def run(self, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray | None) -> np.ndarray:
        """(8, n): flexion, lateral, flexion rate, twist rate, still, calibrated, reanchored, flipped."""
        gyro = np.zeros_like(acc) if gyro is None else gyro
        return np.array([self.step(t[i], acc[i], gyro[i]) for i in range(t.size)], dtype=float).T.reshape(
            8, t.size
        )


# ---------------------------------------------------------------------------------------------
# Turning points (analysis/_extrema_kernels.py): the low-pass and the hysteresis detector.
# ---------------------------------------------------------------------------------------------


def naive_lowpass2(t: np.ndarray, x: np.ndarray, tau_s: float) -> np.ndarray:
    """Two cascaded one-pole low-passes, each step with its own dt: y += dt / (tau + dt) * (u - y)."""
    y1 = y2 = None
    out = []
    for i in range(len(t)):
        if y1 is None:
            y1 = y2 = float(x[i])
        else:
            a = (t[i] - t[i - 1]) / (tau_s + (t[i] - t[i - 1]))
            y1 = y1 + a * (x[i] - y1)
            y2 = y2 + a * (y1 - y2)
        out.append(y2)
    return np.array(out)


def naive_zigzag(x: np.ndarray, hysteresis: float) -> list[tuple[int, int, int]]:
    """Turning points as (extreme index, confirming index, +1 max / -1 min), written from the definition:
    a maximum is the highest value since the last minimum, confirmed at the first sample that lies
    `hysteresis` below it (and the mirror image for a minimum)."""
    out: list[tuple[int, int, int]] = []
    seeking = 0  # +1 a maximum, -1 a minimum, 0 either
    since = 0  # index where the current search started
    for i in range(len(x)):
        window = x[since : i + 1]
        hi = since + int(np.argmax(window))
        lo = since + int(np.argmin(window))
        if seeking >= 0 and x[hi] - x[i] >= hysteresis:
            out.append((hi, i, 1))
            seeking, since = -1, i
        elif seeking <= 0 and x[i] - x[lo] >= hysteresis:
            out.append((lo, i, -1))
            seeking, since = 1, i
    return out


def naive_deglitch(acc_dev: np.ndarray, glitch_mps2: float) -> np.ndarray:
    """A reading that jumps by more than glitch_mps2 from the last one kept is replaced by it, at most twice in
    a row (written out sample by sample)."""
    out, held = [float(acc_dev[0])], 0
    for x in acc_dev[1:]:
        if abs(x - out[-1]) > glitch_mps2 and held < 2:
            out.append(out[-1])
            held += 1
        else:
            out.append(float(x))
            held = 0
    return np.array(out)


def naive_vertical(t: np.ndarray, acc_dev: np.ndarray, tau_s: float, mean_tau_s: float, gap_s: float = math.inf
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Written out: m += w/(min(tau_m, t - t0) + w) (a - m); v += w (a - m) - dt v/tau; h += dt (v - h/tau)
    (explicit Euler), with w = dt, or across a gap (dt > gap_s) the last step up to gap_s (the first step,
    before any): a dropout takes in one sample's worth of acceleration, and the leak runs over it."""
    m, v, h, w = float(acc_dev[0]), [0.0], [0.0], 0.0
    for i in range(1, len(t)):
        dt = t[i] - t[i - 1]
        w = w if dt > gap_s and w > 0.0 else dt
        m = m + w / (min(mean_tau_s, t[i - 1] - t[0]) + w) * (acc_dev[i] - m)
        v.append(v[-1] + w * (acc_dev[i] - m) - dt * v[-1] / tau_s)
        h.append(h[-1] + dt * (v[-1] - h[-1] / tau_s))
    return np.array(v), np.array(h)


def naive_scan_trip(t, x, rate, sign, home_s, band, back_peak, min_return, t_turn, max_trip_s):
    """The trip-end test with whole-array numpy: running peak of the return speed, then the first
    sample that is home, fast enough before and slowed to 10 % (1), or too late (2); (0, -1) if none;
    with the peak speed up to that sample (or the end)."""
    back = -sign * np.asarray(rate)
    peak = np.maximum.accumulate(np.maximum(back, back_peak))
    done = (sign * np.asarray(x) - home_s <= band) & (peak >= min_return) & (back <= 0.1 * peak)
    hit = done | ((np.asarray(t) - t_turn) > max_trip_s)
    if not hit.any():
        return 0, -1, float(peak[-1])
    i = int(np.argmax(hit))
    return (1 if done[i] else 2), i, float(peak[i])


# ---------------------------------------------------------------------------------------------
# A trip tracker (analysis/_tracker_kernels.py): its state as Python values, the held start with
# numpy masks, the trip's end with naive_scan_trip, driven between turning points as the kernel is.
# ---------------------------------------------------------------------------------------------


def naive_held_before(t, flex, rate, index, kind, window_n, hold_max_dps, min_sway_deg, window_s):
    """(index, flexion) where the movement into the turning point at `index` began (arrays from index 0),
    or None: the end of the last run of >= 0.1 s of samples not moving toward it faster than hold_max_dps
    and at least min_sway_deg away from it, within window_s and window_n samples before it."""
    start = max(index - window_n, 0)
    keep = np.flatnonzero(t[start:index + 1] >= t[index] - window_s) + start
    held = [j for j in keep if not kind * rate[j] > hold_max_dps and abs(flex[j] - flex[index]) >= min_sway_deg]
    runs: list[list[int]] = []
    for j in held:
        if runs and j == runs[-1][-1] + 1:
            runs[-1].append(j)
        else:
            runs.append([j])
    good = [r for r in runs if t[r[-1]] - t[r[0]] >= 0.1]
    return None if not good else (good[-1][-1], float(flex[good[-1][-1]]))


class NaiveTracker:
    """TripTracker's walk in plain Python. rules: dict with sign, min_rom, max_rom, home_min, home_max,
    band_fraction, band_min, min_return, max_trip_s, plateau, top_start, window_n, hold_max_dps,
    min_sway_deg, window_s."""

    def __init__(self, rules: dict) -> None:
        self.r = rules
        self.home = None  # (index, s)
        self.cand = None  # dict: i_home, home_s, i_turn, turn_s, t_turn, band, peak

    def visible(self) -> tuple[int, int]:
        if self.cand is not None:
            return self.cand["i_home"], self.cand["i_home"]
        if self.home is not None and self.r["top_start"]:
            return self.home[0], -1
        return -1, -1

    def turning_point(self, t, x, flex, rate, index, kind):
        """Returns (home, turn) of a trip a bounce off home completed, else None."""
        r, s = self.r, self.r["sign"] * x[index]
        if kind * r["sign"] < 0:
            c = self.cand
            if c is None:
                self.home = (index, s)
                return None
            if s - c["home_s"] > c["band"] and (c["turn_s"] - s) / (c["turn_s"] - c["home_s"]) < 0.5:
                return None
            self.cand, self.home = None, (index, s)
            return (c["i_home"], c["i_turn"]) if c["peak"] >= r["min_return"] else None
        if self.cand is not None:
            if s > self.cand["turn_s"]:
                band = max(r["band_min"], r["band_fraction"] * (s - self.cand["home_s"]))
                self.cand.update(i_turn=index, turn_s=s, band=band)
            return None
        if self.home is None:
            return None
        i_home, home_s = self.home
        if s - home_s > r["max_rom"] and r["plateau"]:
            held = naive_held_before(t, flex, rate, index, kind, r["window_n"], r["hold_max_dps"], r["min_sway_deg"],
                                     r["window_s"])
            if held is not None:
                i_home, home_s = held[0], r["sign"] * held[1]
        rom = s - home_s
        if r["min_rom"] <= rom <= r["max_rom"] and r["home_min"] <= r["sign"] * home_s <= r["home_max"]:
            self.cand = dict(i_home=i_home, home_s=home_s, i_turn=index, turn_s=s, t_turn=math.nan,
                             band=max(r["band_min"], r["band_fraction"] * rom), peak=0.0)
        return None

    def run(self, t, x, v, flex, rate, lo, hi, turning) -> list[list[int]]:
        """Samples [lo, hi) with the turning points (index, confirmation, kind) confirmed there: log rows as
        the kernel writes them (indices from 0)."""
        log, pos, before = [], lo, self.visible()
        for index, conf, kind in [*turning, (None, hi, 0)]:
            while self.cand is not None and pos < conf:
                c = self.cand
                if math.isnan(c["t_turn"]):
                    c["t_turn"] = t[pos]
                code, i, c["peak"] = naive_scan_trip(t[pos:conf], x[pos:conf], v[pos:conf], self.r["sign"], c["home_s"],
                                                     c["band"], c["peak"], self.r["min_return"], c["t_turn"],
                                                     self.r["max_trip_s"])
                if code == 0:
                    break
                self.cand = None
                trip = [c["i_home"], c["i_turn"], pos + i] if code == 1 else [-1, -1, -1]
                log.append([pos + i, 1, *self.visible(), *trip])
                before, pos = self.visible(), pos + i + 1
            pos = conf
            if index is None or math.isnan(x[index]):
                continue
            trip = self.turning_point(t, x, flex, rate, index, kind)
            if trip is not None or self.visible() != before:
                log.append([conf, 0, *self.visible(), *(trip or (-1, -1)), index if trip else -1])
                before = self.visible()
        return log


# ---------------------------------------------------------------------------------------------
# One rep's numbers (analysis/reps.py): phase times and what measure reports, with numpy masks.
# ---------------------------------------------------------------------------------------------


def _naive_crossing(t: np.ndarray, v: np.ndarray, level: float, i_from: int, step: int) -> float:
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
    i = j - step
    frac = (v[i] - level) / (v[i] - v[j]) if v[i] != v[j] else 0.0
    return float(t[i] + frac * (t[j] - t[i]))


def _naive_onset(t: np.ndarray, v: np.ndarray, i_peak: int, step: int, noise_dps: float) -> float:
    peak = v[i_peak]
    low = min(max(0.05, noise_dps / peak), 0.1) if peak > 0 else 0.1
    return 2.0 * _naive_crossing(t, v, low * peak, i_peak, step) - _naive_crossing(t, v, 4.0 * low * peak, i_peak, step)


def naive_time_rep(t, v, i_start, i_turn, i_end, noise_dps=1.0) -> tuple:
    """Phase times on the excursion velocity v: argmax out, argmin back, four extrapolated onsets
    from masks of the samples below each level, clamped in order."""
    i_out = i_start + int(np.argmax(v[i_start : i_turn + 1]))
    i_back = i_turn + int(np.argmin(v[i_turn : i_end + 1]))
    w = -v
    start = max(_naive_onset(t, v, i_out, -1, noise_dps), float(t[i_start]))
    arrive = max(_naive_onset(t, v, i_out, +1, noise_dps), start)
    depart = _naive_onset(t, w, i_back, -1, noise_dps)
    if depart < arrive:
        arrive = depart = 0.5 * (arrive + depart)
    end = max(_naive_onset(t, w, i_back, +1, noise_dps), depart)
    return start, arrive, depart, end, float(v[i_out]), float(w[i_back])


def naive_rep_numbers(t, flex, lateral, twist_rate, acc_dev, rate, height, start, arrive, depart, end,
                      i_turn) -> tuple:
    """The same numbers as _rep_numbers with searchsorted, slices, masks and np.cumsum."""

    def rms(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(x**2))) if x.size >= 2 else math.nan

    def peak(x: np.ndarray, lo: float, hi: float) -> float:
        inside = x[(t >= lo) & (t <= hi)]
        return float(inside.max()) if inside.size else 0.0

    a, b = np.searchsorted(t, [start, end])
    a, b = int(min(a, i_turn)), int(max(b, i_turn + 1))
    steps = 0.5 * (twist_rate[a + 1 : b] + twist_rate[a : b - 1]) * np.diff(t[a:b])
    twist = np.concatenate(([0.0], np.cumsum(steps)))
    held = acc_dev[(t >= arrive) & (t <= depart)]
    return (a, b, float(flex[a:b].max()), float(flex[a:b].min()), float(np.max(np.abs(lateral[a:b]))),
            float(np.max(np.abs(twist))), rms(acc_dev[a:b]), rms(held), peak(rate, start, arrive),
            peak(-rate, depart, end), float(np.ptp(height[a:b])))


def naive_trip_start(t, twist_rate, i_turn, max_trip_s, limit_deg) -> int:
    """The same cut with np.searchsorted, np.cumsum (summed back from i_turn) and np.flatnonzero."""
    first = int(np.searchsorted(t, t[i_turn] - max_trip_s))
    steps = 0.5 * (twist_rate[1 : i_turn + 1] + twist_rate[:i_turn]) * np.diff(t[: i_turn + 1])
    turned = np.concatenate(([0.0], np.cumsum(steps[::-1])))[::-1]  # turned[j]: from column j + 1 to i_turn
    over = np.flatnonzero(np.abs(turned[1:]) > limit_deg)
    return max(first, int(over[-1]) + 1 if over.size else 0)



def naive_measure_trip(t, flex, lateral, twist_rate, acc_dev, rate_smooth, height, x, v, i_turn, max_trip_s,
                       limit_deg, sign, still, home_fraction) -> tuple | None:
    """_measure_trip from the twins of its parts (x, v: the tracked signal and its rate), with np.mean for
    a trunk-still trip's bias; None where the kernel says -1."""
    late = naive_trip_start(t, twist_rate, i_turn, max_trip_s, limit_deg)
    t, flex, lateral, twist_rate, acc_dev, rate_smooth, height, x, v = (
        r[late:] for r in (t, flex, lateral, twist_rate, acc_dev, rate_smooth, height, x, v))
    i_turn -= late
    if t.size < 4 or not 0 < i_turn < t.size - 1:
        return None
    if still:
        v = v - (float(np.mean(v)) - (x[-1] - x[0]) / (t[-1] - t[0]))
    timing = list(naive_time_rep(t, sign * v, 0, i_turn, t.size - 1))
    if home_fraction < np.inf:
        timing[0] = naive_home_start(t, sign * x, sign * v, timing[0], i_turn, home_fraction)
        timing[3] = naive_home_end(t, sign * x, sign * v, timing[3], i_turn, home_fraction)
    return (late, *timing, *naive_rep_numbers(t, flex, lateral, twist_rate, acc_dev, rate_smooth, height,
                                              *timing[:4], i_turn))


def naive_home_start(t, x, v, start, i_turn, home_fraction, noise_dps=1.0) -> float:
    """_home_start on the excursion x and its velocity v (going out positive), with NumPy's argmax."""
    while True:
        j = int(np.searchsorted(t, start))
        if not (0 < j <= i_turn and x[j] - x[0] > home_fraction * (x[i_turn] - x[0])):
            return start
        i_peak = int(np.argmax(v[: j + 1]))
        if v[i_peak] <= 0.0:
            return start
        earlier = _naive_onset(t, v, i_peak, -1, noise_dps)
        if earlier >= start:
            return start
        start = max(earlier, float(t[0]))


def naive_home_end(t, x, v, end, i_turn, home_fraction, noise_dps=1.0) -> float:
    """_home_end likewise: the return's later pulses, with NumPy's argmin."""
    n = t.size - 1
    while True:
        j = int(np.searchsorted(t, end))
        if not (i_turn <= j < n and x[j] - x[n] > home_fraction * (x[i_turn] - x[n])):
            return end
        i_peak = j + int(np.argmin(v[j:]))
        if v[i_peak] >= 0.0:
            return end
        later = _naive_onset(t, -v, i_peak, +1, noise_dps)
        if later <= end:
            return end
        end = min(later, float(t[n]))

# ---------------------------------------------------------------------------------------------
# Live checks (analysis/_extrema_kernels.py): the rounding cue's crossing and the posture slots.
# ---------------------------------------------------------------------------------------------


def naive_first_crossing(x: np.ndarray, level: float, above: bool) -> int:
    hits = np.flatnonzero(x > level if above else x < level)
    return int(hits[0]) if hits.size else -1


def naive_first_away(x: np.ndarray, band: float) -> int:
    hits = np.flatnonzero(np.abs(x - x[0]) > band) if x.size else np.zeros(0, dtype=int)
    return int(hits[0]) if hits.size else -1


def naive_posture_slots(t: np.ndarray, t_first: float, hz: float, slot: float) -> tuple[list[int], float]:
    """Slot by slot with bisect: the first sample at or after each slot's start, then the slot after
    that sample's own."""
    import bisect

    out = []
    while t.size and t[-1] >= t_first + (slot + 1.0) / hz:
        j = bisect.bisect_left(t, t_first + (slot + 1.0) / hz)
        out.append(j)
        slot = max(math.floor((float(t[j]) - t_first) * hz), slot + 1.0)
    return out, slot
