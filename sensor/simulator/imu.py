"""The sensor: where it sits on the back, and the imperfect device that measures the motion.

Sensor frame S at taping angle 0, face out: x to the lifter's right, y up the spine, z out of the
skin (backwards), like a phone standing upright on the back with its screen out. Face in turns it
180 deg about y (z into the skin). The taping angle turns S about the skin normal (z_S), and the
lordosis tilt turns the whole mounting about the lateral axis y_B (the skin over L3-L5 faces a
little downwards in most people). Readings: specific force f_S = R_SW (a - g_W) with g_W = (0, 0,
-9.80665) (a still sensor reads +9.81 along its up axis) and angular rate omega_S = R_SB omega_B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.samples import STANDARD_GRAVITY_MPS2

# Columns of the mounting at taping angle 0 expressed in B: x_S = -y_B (right), y_S = z_B, z_S = -x_B.
_FACE_OUT = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_FACE_IN = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class Mounting:
    """Where and how the sensor is taped on the lumbar segment.

    taping_deg: rotation about the skin normal, deg (0: y_S up the spine).
    face: "out" (the face of the device away from the skin) or "in" (upside down, face on the skin).
    lordosis_deg: tilt of the skin surface about the lateral axis, deg (+ = top of the sensor tipped back).
    lever_back_m, lever_up_m: sensor position from the hip joint, behind it and up along the trunk, m.
    """

    taping_deg: float = 0.0
    face: str = "out"
    lordosis_deg: float = 5.0
    lever_back_m: float = 0.10
    lever_up_m: float = 0.15

    def __post_init__(self) -> None:
        if self.face not in ("out", "in"):
            raise ValueError(f"face must be 'out' or 'in', got {self.face!r}")

    @property
    def lever_m(self) -> np.ndarray:
        """Sensor position relative to the hip joint in frame B, m."""
        return np.array([-self.lever_back_m, 0.0, self.lever_up_m])

    def rotation(self) -> np.ndarray:
        """R_BS (3, 3): columns are the sensor axes expressed in B."""
        base = _FACE_OUT if self.face == "out" else _FACE_IN
        a, b = np.radians(self.taping_deg), np.radians(-self.lordosis_deg)
        tape = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
        tilt = np.array([[np.cos(b), 0.0, np.sin(b)], [0.0, 1.0, 0.0], [-np.sin(b), 0.0, np.cos(b)]])
        return tilt @ base @ tape

    def placement(self) -> str:
        return (
            f"lower back over L3-L5, face {self.face}, taped at {self.taping_deg:.0f} deg about the skin "
            f"normal, lordosis tilt {self.lordosis_deg:.0f} deg"
        )


@dataclass(frozen=True)
class Device:
    """Imperfections of the IMU and its radio link (all zero / off for an ideal sensor).

    acc_noise_mps2, gyro_noise_dps: white noise per sample, standard deviation.
    acc_bias_mps2, gyro_bias_dps: constant offset per axis (x, y, z).
    acc_scale_pct, gyro_scale_pct: scale error per axis, percent.
    acc_range_g, gyro_range_dps: full scale of an int16 output; readings clip there and, with
        `quantise`, are rounded to one LSB (range / 32768).
    clock_ppm: the device clock's rate error (its samples come at rate x (1 + ppm 1e-6)).
    jitter_ms: standard deviation of the timestamp error of each sample, ms (clipped to 0.3 periods).
    dropouts_per_min: how often runs of 1..`dropout_max_samples` consecutive samples go missing.
    """

    acc_noise_mps2: float = 0.0
    gyro_noise_dps: float = 0.0
    acc_bias_mps2: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gyro_bias_dps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    acc_scale_pct: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gyro_scale_pct: tuple[float, float, float] = (0.0, 0.0, 0.0)
    acc_range_g: float = 16.0
    gyro_range_dps: float = 2000.0
    quantise: bool = False
    clock_ppm: float = 0.0
    jitter_ms: float = 0.0
    dropouts_per_min: float = 0.0
    dropout_max_samples: int = 30

    @staticmethod
    def random(rng: np.random.Generator) -> Device:
        """A plausible commodity IMU (BLE tag or phone)."""
        return Device(
            acc_noise_mps2=float(rng.uniform(0.01, 0.05)),
            gyro_noise_dps=float(rng.uniform(0.05, 0.3)),
            acc_bias_mps2=tuple(rng.uniform(-0.15, 0.15, 3).round(4)),
            gyro_bias_dps=tuple(rng.uniform(-1.5, 1.5, 3).round(4)),
            acc_scale_pct=tuple(rng.uniform(-1.5, 1.5, 3).round(3)),
            gyro_scale_pct=tuple(rng.uniform(-1.5, 1.5, 3).round(3)),
            acc_range_g=float(rng.choice([4.0, 8.0, 16.0])),
            gyro_range_dps=float(rng.choice([500.0, 1000.0, 2000.0])),
            quantise=True,
            clock_ppm=float(rng.uniform(-500, 500)),
            jitter_ms=float(rng.uniform(0.0, 2.0)),
            dropouts_per_min=float(rng.choice([0.0, rng.uniform(0.5, 4.0)])),
        )


def sample_times(
    duration_s: float, rate_hz: float, device: Device, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """True sampling instants and their recorded timestamps (s) after dropouts.

    The first sample is at t = 0 and never dropped; timestamps stay strictly increasing.
    """
    true_rate_hz = rate_hz * (1.0 + device.clock_ppm * 1e-6)
    n = int(np.floor(duration_s * true_rate_hz)) + 1
    t_true = np.arange(n) / true_rate_hz
    jitter_s = np.clip(rng.normal(0.0, device.jitter_ms * 1e-3, n), -0.3 / rate_hz, 0.3 / rate_hz)
    jitter_s[0] = 0.0
    keep = np.ones(n, dtype=bool)
    n_runs = rng.poisson(device.dropouts_per_min * duration_s / 60.0) if device.dropouts_per_min > 0 else 0
    for start in rng.integers(1, n, size=n_runs):
        keep[start : start + rng.integers(1, device.dropout_max_samples + 1)] = False
    return t_true[keep], (t_true + jitter_s)[keep]


def measure(
    rot_wb: np.ndarray,
    acc_w: np.ndarray,
    omega_b: np.ndarray,
    mounting: Mounting,
    device: Device,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Accelerometer (m/s², gravity included) and gyroscope (rad/s) readings in the sensor frame."""
    r_bs = mounting.rotation()
    specific_w = acc_w + np.array([0.0, 0.0, STANDARD_GRAVITY_MPS2])
    specific_b = np.einsum("nji,nj->ni", rot_wb, specific_w)
    acc = specific_b @ r_bs
    gyro_dps = np.degrees(omega_b @ r_bs)
    acc = _imperfect(
        acc,
        device.acc_scale_pct,
        device.acc_bias_mps2,
        device.acc_noise_mps2,
        device.acc_range_g * STANDARD_GRAVITY_MPS2,
        device.quantise,
        rng,
    )
    gyro_dps = _imperfect(
        gyro_dps,
        device.gyro_scale_pct,
        device.gyro_bias_dps,
        device.gyro_noise_dps,
        device.gyro_range_dps,
        device.quantise,
        rng,
    )
    return acc, np.radians(gyro_dps)


def _imperfect(
    x: np.ndarray,
    scale_pct: tuple,
    bias: tuple,
    noise_sd: float,
    full_scale: float,
    quantise: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    x = x * (1.0 + np.asarray(scale_pct) / 100.0) + np.asarray(bias)
    if noise_sd > 0:
        x = x + rng.normal(0.0, noise_sd, x.shape)
    lsb = full_scale / 32768.0
    x = np.clip(x, -full_scale, full_scale - lsb)
    return np.round(x / lsb) * lsb if quantise else x
