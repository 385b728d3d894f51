"""Kinematics of the lifter: a rigid lumbar segment turning about the hip joint while the hip moves.

Frames. World W: x forward (the lifter's initial facing), y left, z up. Lumbar segment B (the trunk
under the sensor): x anterior, y left, z along the trunk's long axis; B equals W (up to heading)
when standing tall. The body state is seven channels (`CHANNELS`): flexion, lateral bend and axial
twist of B (degrees), heading (degrees, world yaw of the whole body, + = turning left) and the hip
joint position (metres, world).

Orientation. ``R_WB = Rz(heading - twist) @ Rx(lateral) @ Ry(flexion)``: the trunk is turned
about the vertical (twist, heading), bent sideways, then flexed in its own sagittal plane; angles
relative to the neutral standing pose. Flexion + tips the trunk forward (z_B toward +x), lateral
+ bends to the right (z_B toward -y), twist + turns the shoulders to the right. So flexion and
lateral bend are exactly what the gravity direction in B says, for any flexion (also beyond 90
deg): with up_B = R_WB^T (0, 0, 1) = (-cos l sin f, sin l, cos l cos f),
flexion = atan2(-up_x, up_z) and lateral = asin(up_y).

Motion. Channels follow quintic Hermite splines between keyframes (zero velocity and acceleration
at a keyframe unless given, i.e. minimum-jerk moves), plus additive pulses (minimum-jerk rise,
hold, fall; used for rounding and twist faults) and oscillations (walking), all twice continuously
differentiable. Sensor acceleration and angular velocity are derived from R(t) and the sensor
position by central differences at each sample instant (step `DIFF_STEP_S`), not from Euler rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CHANNELS = ("flexion_deg", "lateral_deg", "twist_deg", "heading_deg", "hip_x_m", "hip_y_m", "hip_z_m")
N_CHANNELS = len(CHANNELS)
DIFF_STEP_S = 5e-4
OUT_AND_BACK_S = 6.0
_TURN_S = 1.4
_RAMP_S = 0.8


def min_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk ramp 0 -> 1 for s in [0, 1] (clipped outside)."""
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10.0 - 15.0 * s + 6.0 * s**2)


def _index(name: str) -> int:
    try:
        return CHANNELS.index(name)
    except ValueError:
        raise ValueError(f"unknown body channel {name!r}; expected one of {CHANNELS}") from None


def _vector(values: dict[str, float]) -> np.ndarray:
    vec = np.zeros(N_CHANNELS)
    for name, value in values.items():
        vec[_index(name)] = value
    return vec


@dataclass(frozen=True)
class _Pulse:
    start_s: float
    rise_s: float
    hold_s: float
    fall_s: float
    amplitude: np.ndarray  # (N_CHANNELS,)

    def add_to(self, out: np.ndarray, t: np.ndarray) -> None:
        fall_start = self.start_s + self.rise_s + self.hold_s
        i = np.flatnonzero((t > self.start_s) & (t < fall_start + self.fall_s))
        up = min_jerk((t[i] - self.start_s) / self.rise_s)
        out[i] += (up * (1.0 - min_jerk((t[i] - fall_start) / self.fall_s)))[:, None] * self.amplitude


@dataclass(frozen=True)
class _Oscillation:
    start_s: float
    end_s: float
    ramp_s: float
    freq_hz: float
    amplitude: np.ndarray  # (N_CHANNELS,)
    phase_rad: np.ndarray  # (N_CHANNELS,)

    def add_to(self, out: np.ndarray, t: np.ndarray) -> None:
        i = np.flatnonzero((t > self.start_s) & (t < self.end_s))
        ti = t[i]
        env = min_jerk((ti - self.start_s) / self.ramp_s) * min_jerk((self.end_s - ti) / self.ramp_s)
        arg = 2.0 * np.pi * self.freq_hz * (ti - self.start_s)
        out[i] += env[:, None] * self.amplitude * np.sin(arg[:, None] + self.phase_rad)


class Track:
    """The body state over time, built by appending moves, holds, pulses and oscillations."""

    def __init__(self, **state: float) -> None:
        self._t = [0.0]
        self._pos = [_vector(state)]
        self._vel = [np.zeros(N_CHANNELS)]
        self._acc = [np.zeros(N_CHANNELS)]
        self._pulses: list[_Pulse] = []
        self._oscillations: list[_Oscillation] = []

    @property
    def t_s(self) -> float:
        """Time of the last keyframe, s."""
        return self._t[-1]

    def value(self, name: str) -> float:
        """A channel's keyframed value at the last keyframe (pulses and oscillations excluded)."""
        return float(self._pos[-1][_index(name)])

    def move(
        self,
        duration_s: float,
        *,
        rate: dict[str, float] | None = None,
        accel: dict[str, float] | None = None,
        **target: float,
    ) -> float:
        """Move the named channels to `target` in `duration_s` (others hold); returns the end time.

        `rate` / `accel` give the velocity (unit/s) and acceleration (unit/s²) at the new keyframe
        (default 0: the move comes to rest there).
        """
        if duration_s <= 0:
            raise ValueError(f"a move needs a positive duration, got {duration_s} s")
        pos = self._pos[-1].copy()
        for name, value in target.items():
            pos[_index(name)] = value
        self._t.append(self._t[-1] + duration_s)
        self._pos.append(pos)
        self._vel.append(_vector(rate or {}))
        self._acc.append(_vector(accel or {}))
        return self._t[-1]

    def hold(self, duration_s: float) -> float:
        """Stay still for `duration_s` (a zero duration adds nothing); returns the end time."""
        return self.move(duration_s) if duration_s > 0 else self.t_s

    def pulse(self, start_s: float, rise_s: float, hold_s: float, fall_s: float, **amplitude: float) -> None:
        """Add amplitude x (min-jerk rise, hold, min-jerk fall) to the named channels."""
        self._pulses.append(_Pulse(start_s, rise_s, hold_s, fall_s, _vector(amplitude)))

    def oscillate(
        self,
        start_s: float,
        end_s: float,
        freq_hz: float,
        ramp_s: float,
        **amplitude_phase: tuple[float, float],
    ) -> None:
        """Add sinusoids (amplitude, phase rad) at `freq_hz` between start and end, ramped in and out."""
        amp = _vector({k: a for k, (a, _) in amplitude_phase.items()})
        phase = _vector({k: p for k, (_, p) in amplitude_phase.items()})
        self._oscillations.append(_Oscillation(start_s, end_s, ramp_s, freq_hz, amp, phase))

    def evaluate(self, t: np.ndarray) -> np.ndarray:
        """Body state at times `t` (s), shape (n, N_CHANNELS); constant after the last keyframe."""
        t = np.asarray(t, dtype=np.float64)
        knots = np.asarray(self._t)
        pos, vel, acc = np.asarray(self._pos), np.asarray(self._vel), np.asarray(self._acc)
        tc = np.clip(t, knots[0], knots[-1])
        seg = np.clip(np.searchsorted(knots, tc, side="right") - 1, 0, max(len(knots) - 2, 0))
        if len(knots) == 1:
            out = np.repeat(pos[:1], t.size, axis=0)
        else:
            h = (knots[seg + 1] - knots[seg])[:, None]
            s = (tc - knots[seg])[:, None] / h
            s2, s3 = s * s, s * s * s
            s4, s5 = s3 * s, s3 * s2
            out = (
                (1 - 10 * s3 + 15 * s4 - 6 * s5) * pos[seg]
                + (s - 6 * s3 + 8 * s4 - 3 * s5) * h * vel[seg]
                + (0.5 * s2 - 1.5 * s3 + 1.5 * s4 - 0.5 * s5) * h * h * acc[seg]
                + (10 * s3 - 15 * s4 + 6 * s5) * pos[seg + 1]
                + (-4 * s3 + 7 * s4 - 3 * s5) * h * vel[seg + 1]
                + (0.5 * s3 - s4 + 0.5 * s5) * h * h * acc[seg + 1]
            )
        for extra in (*self._pulses, *self._oscillations):
            extra.add_to(out, t)
        return out


def rotation(state: np.ndarray) -> np.ndarray:
    """R_WB, shape (n, 3, 3), from body states (n, N_CHANNELS): Rz(heading - twist) Rx(lat) Ry(flex)."""
    f = np.radians(state[:, 0])
    lat = np.radians(state[:, 1])
    yaw = np.radians(state[:, 3] - state[:, 2])
    cf, sf, cl, sl, cy, sy = np.cos(f), np.sin(f), np.cos(lat), np.sin(lat), np.cos(yaw), np.sin(yaw)
    r = np.empty((state.shape[0], 3, 3))
    r[:, 0, 0] = cy * cf - sy * sl * sf
    r[:, 0, 1] = -sy * cl
    r[:, 0, 2] = cy * sf + sy * sl * cf
    r[:, 1, 0] = sy * cf + cy * sl * sf
    r[:, 1, 1] = cy * cl
    r[:, 1, 2] = sy * sf - cy * sl * cf
    r[:, 2, 0] = -cl * sf
    r[:, 2, 1] = sl
    r[:, 2, 2] = cl * cf
    return r


def segment_motion(
    track: Track, t: np.ndarray, lever_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orientation, sensor-point acceleration and angular velocity at times `t`.

    lever_m: (3,) position of the sensor relative to the hip joint in frame B, m.
    Returns R_WB (n,3,3), the sensor point's linear acceleration in W (n,3) m/s², and the
    segment's angular velocity in B (n,3) rad/s, omega = vee(R^T dR/dt). Derivatives are central
    differences with step `DIFF_STEP_S` (error ~1e-7 relative for these smooth trajectories).
    """
    h = DIFF_STEP_S
    n = np.asarray(t).size
    states = track.evaluate(np.concatenate([t - h, t, t + h]))
    rot = rotation(states)
    position = states[:, 4:7] + rot @ lever_m
    p_minus, p_mid, p_plus = position[:n], position[n : 2 * n], position[2 * n :]
    r_minus, r_mid, r_plus = rot[:n], rot[n : 2 * n], rot[2 * n :]
    acc_w = (p_plus - 2.0 * p_mid + p_minus) / (h * h)
    w = np.transpose(r_mid, (0, 2, 1)) @ (r_plus - r_minus) / (2.0 * h)
    omega_b = 0.5 * np.stack(
        [w[:, 2, 1] - w[:, 1, 2], w[:, 0, 2] - w[:, 2, 0], w[:, 1, 0] - w[:, 0, 1]], axis=1
    )
    return r_mid, acc_w, omega_b


def walk(track: Track, duration_s: float, rng: np.random.Generator) -> None:
    """Walk straight ahead (under `OUT_AND_BACK_S`) or out and back, turning 180 deg at each end.

    Speed 1.0-1.3 m/s, step frequency 1.8-2.0 Hz.
    """
    speed, step_hz = float(rng.uniform(1.0, 1.3)), float(rng.uniform(1.8, 2.0))
    if duration_s < OUT_AND_BACK_S:
        _walk_leg(track, duration_s, speed, step_hz, rng)
        return
    leg_s = (duration_s - 2 * _TURN_S) / 2
    turn = float(rng.choice([-180.0, 180.0]))
    for _ in range(2):
        _walk_leg(track, leg_s, speed, step_hz, rng)
        track.move(_TURN_S, heading_deg=track.value("heading_deg") + turn)


def _walk_leg(
    track: Track, duration_s: float, speed: float, step_hz: float, rng: np.random.Generator
) -> None:
    """Accelerate, cruise, stop along the heading; hip bounce, sway and trunk oscillation per step."""
    heading = math.radians(track.value("heading_deg"))
    fwd, left = (
        np.array([math.cos(heading), math.sin(heading)]),
        np.array([-math.sin(heading), math.cos(heading)]),
    )
    ramp_s = min(_RAMP_S, duration_s / 2)
    cruise_s = duration_s - 2 * ramp_s
    start = track.t_s
    xy = np.array([track.value("hip_x_m"), track.value("hip_y_m")])
    for seg_s, dist, v_end in (
        (ramp_s, speed * ramp_s / 2, speed),
        (cruise_s, speed * cruise_s, speed),
        (ramp_s, speed * ramp_s / 2, 0.0),
    ):
        if seg_s > 0:
            xy = xy + dist * fwd
            track.move(
                seg_s,
                rate={"hip_x_m": v_end * fwd[0], "hip_y_m": v_end * fwd[1]},
                hip_x_m=float(xy[0]),
                hip_y_m=float(xy[1]),
            )
    end = track.t_s
    ph = rng.uniform(0, 2 * np.pi, 2)
    bounce, surge = float(rng.uniform(0.015, 0.03)), float(rng.uniform(0.005, 0.01))
    sway = float(rng.uniform(0.01, 0.025))
    track.oscillate(
        start,
        end,
        step_hz,
        ramp_s,
        hip_z_m=(bounce, ph[0]),
        flexion_deg=(rng.uniform(0.5, 1.5), ph[0]),
        hip_x_m=(surge * fwd[0], ph[0] + 1.0),
        hip_y_m=(surge * fwd[1], ph[0] + 1.0),
    )
    track.oscillate(
        start,
        end,
        step_hz / 2,
        ramp_s,
        hip_x_m=(sway * left[0], ph[1]),
        hip_y_m=(sway * left[1], ph[1]),
        lateral_deg=(rng.uniform(1.0, 3.0), ph[1]),
        twist_deg=(rng.uniform(2.0, 4.0), ph[1] + 0.5),
    )
