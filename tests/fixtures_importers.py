"""Fixture writers for the importer tests: files written the way the real apps write them.

A known rigid-body motion (`truth`) is sampled on each sensor's own clock and written as
- Sensor Logger exports (protocols.md B.2/B.6): one `time,seconds_elapsed,z,y,x` CSV per sensor,
  integer epoch ns, JS-style shortest float text, Metadata.csv with platform and standardisation;
  Android adds TotalAcceleration.csv; iOS negates acceleration and gravity unless standardised.
- phyphox exports (B.6, DataExport.java): quoted labels, Java `0.000000000E0` numbers, NaN padding,
  comma/tab/semicolon and decimal comma, `meta/device.csv` and `meta/time.csv`, zip or bare CSV.
- generic CSVs with any names, units, time units, separators, gzip.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

G = 9.80665
T0_NS = 1_717_171_717_123_456_789  # 2024-05-31T16:08:37.123456789Z
REPO = Path(__file__).resolve().parents[1]
EXPERIMENT = REPO / "firmware_notes" / "backcheck-imu.phyphox"


@dataclass
class Truth:
    """The motion at times t_s: specific force split in gravity and user parts (Android sign), gyro."""

    t_s: np.ndarray
    gravity: np.ndarray  # m/s², +9.8 on the upward axis at rest
    user: np.ndarray  # m/s², acceleration of the sensor without gravity
    gyro: np.ndarray  # rad/s, sensor frame

    @property
    def total(self) -> np.ndarray:
        return self.gravity + self.user


_MOUNT = Rotation.from_euler("xyz", [80.0, 10.0, -20.0], degrees=True)


def _attitude(t_s: np.ndarray) -> Rotation:
    """Sensor-to-world rotation: hinge flexion, side bend and twist of a lower back, on a tilted mount."""
    flex = 0.3 * (1.0 - np.cos(2 * np.pi * 0.4 * t_s))
    bend = 0.1 * np.sin(2 * np.pi * 0.3 * t_s)
    twist = 0.15 * np.sin(2 * np.pi * 0.2 * t_s + 1.0)
    return Rotation.from_euler("ZXY", np.column_stack([twist, flex, bend])) * _MOUNT


def truth(t_s: np.ndarray) -> Truth:
    h = 1e-5
    r = _attitude(t_s)
    gyro = (_attitude(t_s - h).inv() * _attitude(t_s + h)).as_rotvec() / (2 * h)
    w = 2 * np.pi * 0.4
    world_acc = np.column_stack(
        [0.4 * w**2 * np.sin(w * t_s), np.zeros_like(t_s), 0.8 * w**2 * np.cos(w * t_s)]
    )
    gravity = r.inv().apply(np.tile([0.0, 0.0, G], (len(t_s), 1)))
    return Truth(t_s, gravity, r.inv().apply(world_acc), gyro)


def clock(rate_hz: float, duration_s: float, offset_s: float = 0.0, jitter_s: float = 0.0, seed: int = 0):
    """Sample times of one sensor: nominal rate, start offset, uniform jitter (stays increasing)."""
    n = int(duration_s * rate_hz)
    t = offset_s + np.arange(n) / rate_hz
    if jitter_s:
        t = t + np.random.default_rng(seed).uniform(-jitter_s, jitter_s, n)
    return t


# --- Sensor Logger -------------------------------------------------------------------------------

METADATA_HEADER = (
    "version,device name,recording epoch time,recording time,recording timezone,platform,"
    "appVersion,device id,sensors,sampleRateMs,standardisation,platform version"
)


def _sl_csv(t_s: np.ndarray, xyz: np.ndarray) -> str:
    ns = T0_NS + np.round(t_s * 1e9).astype(np.int64)
    lines = ["time,seconds_elapsed,z,y,x"]
    for n, s, (x, y, z) in zip(ns, t_s - 0.0123, xyz, strict=True):
        lines.append(f"{n},{float(s)!r},{float(z)!r},{float(y)!r},{float(x)!r}")
    return "\n".join(lines) + "\n"


def sensorlogger_files(
    t_acc: np.ndarray,
    t_gyro: np.ndarray | None,
    platform: str,
    standardised: bool = False,
    metadata: bool = True,
    uncalibrated: bool = False,
    t_gravity: np.ndarray | None = None,
) -> dict[str, str]:
    """File name -> text of a Sensor Logger export of the truth motion."""
    m = truth(t_acc)
    sign = -1.0 if platform == "ios" and not standardised else 1.0
    files = {"Accelerometer.csv": _sl_csv(t_acc, sign * m.user)}
    mg = truth(t_gravity) if t_gravity is not None else m
    files["Gravity.csv"] = _sl_csv(mg.t_s, sign * mg.gravity)
    if platform == "android":
        files["TotalAcceleration.csv"] = _sl_csv(t_acc, m.total)
    if t_gyro is not None:
        files["Gyroscope.csv"] = _sl_csv(t_gyro, truth(t_gyro).gyro)
    if uncalibrated:  # iOS raw accelerometer: g and iOS sign unless standardised
        scale = G if standardised else -1.0
        files["AccelerometerUncalibrated.csv"] = _sl_csv(t_acc, scale * m.total / G)
    if metadata:
        device = "Pixel 8" if platform == "android" else "iPhone 15"
        files["Metadata.csv"] = (
            METADATA_HEADER + "\n" + f"3,{device},{T0_NS // 1_000_000},2024-05-31_16-08-37,Europe/Zurich,"
            f"{platform},1.41.0,abc123,Accelerometer|Gravity|Gyroscope,10|10|10,"
            f"{'true' if standardised else 'false'},17\n"
        )
    return files


def write_export(path: Path, files: dict[str, str | bytes], zipped: bool = True, folder: str = "") -> Path:
    """Write files into a zip (or a folder when not zipped), optionally under a sub-folder."""
    prefix = f"{folder}/" if folder else ""
    if zipped:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in files.items():
                zf.writestr(prefix + name, text)
        return path
    for name, text in files.items():
        target = path / prefix / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# --- phyphox -------------------------------------------------------------------------------------


def java_sci(x: float, decimal: str = ".") -> str:
    """Java DecimalFormat("0.000000000E0"): 10 significant digits, exponent without '+'."""
    if not np.isfinite(x):
        return "NaN"
    mantissa, exponent = f"{x:.9E}".split("E")
    return f"{mantissa}E{int(exponent)}".replace(".", decimal)


def experiment_sets() -> dict[str, list[str]]:
    """Export set name -> column labels, read from the project's phyphox experiment file."""
    root = ET.parse(EXPERIMENT).getroot()
    return {s.get("name"): [d.get("name") for d in s.findall("data")] for s in root.find("export")}


ACC_WITH_G = {
    "Raw Data": [
        "Time (s)",
        "Acceleration x (m/s^2)",
        "Acceleration y (m/s^2)",
        "Acceleration z (m/s^2)",
        "Absolute acceleration (m/s^2)",
    ]
}


def _phyphox_set(labels: list[str], columns: list[np.ndarray], sep: str, decimal: str) -> str:
    lines = [sep.join(f'"{label}"' for label in labels)]
    rows = max(len(c) for c in columns)
    for i in range(rows):
        lines.append(sep.join(java_sci(c[i], decimal) if i < len(c) else "NaN" for c in columns))
    return "\n".join(lines) + "\n"


def phyphox_files(
    t_acc: np.ndarray,
    t_gyro: np.ndarray | None,
    sep: str = ",",
    decimal: str = ".",
    start_unix_s: float = 1_717_171_717.25,
    pauses: list[tuple[float, float]] = (),
) -> dict[str, str]:
    """An export of 'Acceleration with g' (t_gyro None) or backcheck-imu.phyphox (with t_gyro).

    t_* are wall-clock seconds since START; `pauses` (start, end) are left out of the experiment
    time, as phyphox does, and listed as PAUSE/START events in meta/time.csv.
    """

    def experiment_time(t: np.ndarray) -> np.ndarray:
        keep = np.ones(len(t), bool)
        out = t.copy()
        for a, b in pauses:
            keep &= ~((t >= a) & (t < b))
            out = out - np.where(t >= b, b - a, 0.0)
        return out[keep], keep

    acc_t, keep = experiment_time(t_acc)
    m = truth(t_acc[keep])
    files = {}
    if t_gyro is None:
        labels = ACC_WITH_G["Raw Data"]
        cols = [acc_t, *m.total.T, np.linalg.norm(m.total, axis=1)]
        files["Raw Data.csv"] = _phyphox_set(labels, cols, sep, decimal)
    else:
        sets = experiment_sets()
        files["Accelerometer.csv"] = _phyphox_set(sets["Accelerometer"], [acc_t, *m.total.T], sep, decimal)
        gyr_t, gkeep = experiment_time(t_gyro)
        files["Gyroscope.csv"] = _phyphox_set(
            sets["Gyroscope"], [gyr_t, *truth(t_gyro[gkeep]).gyro.T], sep, decimal
        )
    q = '"'
    files["meta/device.csv"] = (
        "\n".join(
            sep.join(f"{q}{v}{q}" for v in row)
            for row in [
                ("property", "value"),
                ("version", "1.2.0"),
                ("deviceModel", "Pixel 8"),
                ("deviceBrand", "google"),
                ("deviceManufacturer", "Google"),
                ("deviceRelease", "14"),
                ("accelerometer Name", "LSM6DSO Accelerometer"),
                ("accelerometer Range", "78.4532"),
            ]
        )
        + "\n"
    )
    events = [("START", 0.0, start_unix_s)]
    paused = 0.0
    for a, b in pauses:
        events += [("PAUSE", a - paused, start_unix_s + a), ("START", a - paused, start_unix_s + b)]
        paused += b - a
    time_lines = [sep.join(f'"{h}"' for h in ("event", "experiment time", "system time", "system time text"))]
    for event, exp, sys in events:
        text = datetime.fromtimestamp(sys, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC+00:00"
        time_lines.append(
            sep.join([f'"{event}"', java_sci(exp, decimal), f"{sys:.3f}".replace(".", decimal), f'"{text}"'])
        )
    files["meta/time.csv"] = "\n".join(time_lines) + "\n"
    return files


def phyphox_minimal(t_acc: np.ndarray, sep: str = ",", decimal: str = ".") -> str:
    """The 'minimalistic' export of 'Acceleration with g': one bare CSV, no meta."""
    return phyphox_files(t_acc, None, sep, decimal)["Raw Data.csv"]


# --- generic CSV ---------------------------------------------------------------------------------


def generic_csv(
    path: Path,
    t_s: np.ndarray,
    names: tuple[str, ...] = ("t", "ax", "ay", "az", "gx", "gy", "gz"),
    acc_scale: float = 1.0,
    gyro_scale: float = 1.0,
    time_unit: str = "s",
    epoch: bool = False,
    sep: str = ",",
    decimal: str = ".",
) -> Truth:
    """Write the truth motion with the given header names; acc in m/s² × acc_scale, gyro × gyro_scale.

    time_unit: s, ms, us, ns (numbers; ms/us/ns as integers) or iso; gzip when path ends in .gz.
    Returns the truth at the written times.
    """
    m = truth(t_s)
    base_ns = T0_NS if epoch or time_unit == "iso" else 0
    ns = base_ns + np.round(t_s * 1e9).astype(np.int64)
    if time_unit == "iso":
        times = [np.datetime_as_string(np.datetime64(int(n), "ns"), unit="ms") + "Z" for n in ns]
    elif time_unit == "s":
        times = [f"{n / 1e9:.6f}" for n in ns]
    else:
        times = [str(int(n // {"ms": 1_000_000, "us": 1_000, "ns": 1}[time_unit])) for n in ns]
    columns = [m.total * acc_scale, m.gyro * gyro_scale][: 1 + (len(names) > 4)]
    values = np.hstack(columns)
    lines = [sep.join(names)]
    for stamp, row in zip(times, values, strict=True):
        lines.append(sep.join([stamp, *(f"{v:.7g}".replace(".", decimal) for v in row)]))
    text = "\n".join(lines) + "\n"
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return m
