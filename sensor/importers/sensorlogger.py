"""Sensor Logger (Kelvin Choi; Android and iOS) CSV exports, zipped or unzipped.

One CSV per sensor, header `time,seconds_elapsed,z,y,x` (read by name: columns were added over
the app's versions), `time` in integer Unix nanoseconds, m/s² and rad/s. Accelerometer.csv holds
acceleration WITHOUT gravity on both platforms; Android adds TotalAcceleration.csv (with gravity),
on iOS the total is Accelerometer + Gravity.

Sign convention: unless "Standardise Units & Frames" was on, iOS acceleration and gravity carry the
opposite sign to Android on all three axes (flat on a table: gravity -z on iOS, +z on Android); the
gyroscope agrees across platforms. backcheck uses Android's convention (specific force: +9.8 on the
upward axis at rest), so unstandardised iOS acceleration is negated. Decided, in this order, from:
the `ios_standardised` option; Metadata.csv's `platform` and `standardisation` columns; the unit of
AccelerometerUncalibrated.csv (iOS writes it in g unless standardised); else the file layout and
the app's default (iOS without standardisation).

Why not from the motion itself: a body-frame vector that is fixed in the world obeys
d(g)/dt = -ω × g, and so does -g: negating all three acceleration axes (a rotation of the scene by
180° about a horizontal axis, physically just as valid) leaves the relation to the gyroscope
unchanged. The import still fits that relation (least squares over the moving parts) and reports it:
it confirms that acceleration and gyroscope share their axes and rotation sense.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from analysis.samples import STANDARD_GRAVITY_MPS2, Samples
from sensor.errors import InputError
from sensor.importers import SENSORLOGGER_FILES
from sensor.importers.generic import gravity_turn_scale
from sensor.importers.merge import (
    ImportSettings,
    Stream,
    check_units,
    clean_stream,
    interpolate_onto,
    merge_streams,
)
from sensor.importers.table import read_members, read_table
from sensor.recording import Recording, RecordingMeta


def _index(path: Path, names: list[str]) -> dict[str, str]:
    """Lowercase base name -> member name, the shallowest when a name repeats; an export holding more than
    one recording (its sensor files in several folders) is refused."""
    index: dict[str, str] = {}
    folders = sorted({n.rpartition("/")[0] for n in names if n.rsplit("/", 1)[-1].lower() in SENSORLOGGER_FILES})
    if len(folders) > 1:
        shown = ", ".join(f or "(top level)" for f in folders[:4])
        raise InputError(
            f"{path}: holds {len(folders)} Sensor Logger recordings (in {shown}); give one recording's "
            "folder or zip"
        )
    for name in sorted(names, key=lambda n: n.count("/")):
        index.setdefault(name.rsplit("/", 1)[-1].lower(), name)
    return index


def _read_xyz(path: Path, read, name: str, allow_empty: bool = False) -> tuple[np.ndarray, Stream] | None:
    """(time in ns, int64 when the file has integers; Stream with t_s not yet set) of one x,y,z file;
    None for a header without rows when allow_empty (a sensor the phone does not have)."""
    where = f"{path}: {name}" if path.is_file() else str(path / name)
    table = read_table(read(name), where, allow_empty=allow_empty)
    frame = table.frame
    if frame.empty:
        return None
    for col in ("time", "x", "y", "z"):
        if col not in frame.columns:
            raise InputError(
                f"{where}, line {table.first_line - 1}: no column '{col}' (expected a Sensor Logger "
                f"header such as time,seconds_elapsed,z,y,x; got {','.join(frame.columns)})"
            )
    time = frame["time"].to_numpy() if frame["time"].dtype.kind == "i" else table.numbers("time")
    values = np.column_stack([table.numbers(c) for c in ("x", "y", "z")])
    return time, Stream(np.zeros(len(frame)), values, table.lines(), where, ("time", "x", "y", "z"))


def _metadata(read, index: dict[str, str]) -> dict[str, str]:
    """The first row of Metadata.csv as text, keyed by lowercase header names."""
    if "metadata.csv" not in index:
        return {}
    rows = list(csv.DictReader(io.StringIO(read(index["metadata.csv"]).decode("utf-8-sig", "replace"))))
    return {str(k).strip().lower(): str(v).strip() for k, v in rows[0].items()} if rows else {}


def _ios_standardised(
    option: bool | None, meta: dict[str, str], path: Path, read, index: dict[str, str], decisions: list[str]
) -> bool:
    if option is not None:
        decisions.append(f"iOS standardisation {'on' if option else 'off'}: stated by option")
        return option
    if meta.get("standardisation", "").lower() in ("true", "false"):
        value = meta["standardisation"].lower() == "true"
        decisions.append(
            f"iOS standardisation {'on' if value else 'off'}: Metadata.csv says standardisation="
            f"{meta['standardisation']}"
        )
        return value
    uncalibrated = None
    if "accelerometeruncalibrated.csv" in index:
        uncalibrated = _read_xyz(path, read, index["accelerometeruncalibrated.csv"], allow_empty=True)
    if uncalibrated is not None:
        raw = uncalibrated[1]
        median = float(np.nanmedian(np.linalg.norm(raw.values, axis=1)))
        value = median > 0.5 * STANDARD_GRAVITY_MPS2
        decisions.append(
            f"iOS standardisation {'on' if value else 'off'}: AccelerometerUncalibrated.csv reads "
            f"{median:.3g} at the median ({'m/s²' if value else 'g'})"
        )
        return value
    decisions.append(
        "iOS standardisation off: nothing in the export says (no Metadata.csv column), so the "
        "app's default is assumed; pass --ios-standardised yes if it was on"
    )
    return False


def load_sensorlogger(
    path: Path, *, settings: ImportSettings | None = None, ios_standardised: bool | None = None
) -> Recording:
    """Read a Sensor Logger export (zip or folder); see the module docstring."""
    settings = settings or ImportSettings()
    names, read = read_members(path)
    index = _index(path, names)
    decisions: list[str] = []
    meta = _metadata(read, index)
    has_total = "totalacceleration.csv" in index
    platform = meta.get("platform", "").lower()
    if platform in ("android", "ios"):
        decisions.append(f"Sensor Logger {platform} export (Metadata.csv platform={meta['platform']})")
    else:
        platform = "android" if has_total else "ios"
        decisions.append(
            f"Sensor Logger {platform} export (no platform in Metadata.csv; "
            + ("with TotalAcceleration.csv)" if has_total else "without TotalAcceleration.csv, which Android "
               "exports have; an Android export without it keeps its signs with --ios-standardised yes)")
        )
    flip = platform == "ios" and not _ios_standardised(ios_standardised, meta, path, read, index, decisions)

    if has_total:
        time, acc_stream = _read_xyz(path, read, index["totalacceleration.csv"])
    elif "accelerometer.csv" in index and "gravity.csv" in index:
        time, acc_stream = _read_xyz(path, read, index["accelerometer.csv"])
        g_time, g_stream = _read_xyz(path, read, index["gravity.csv"])
        time, acc_stream = _add_gravity(time, acc_stream, g_time, g_stream, settings, decisions)
    else:
        raise InputError(
            f"{path}: no TotalAcceleration.csv, and not both Accelerometer.csv and Gravity.csv "
            "(expected a Sensor Logger export with gravity)"
        )
    finite = np.flatnonzero(np.isfinite(time.astype(np.float64)))
    if finite.size == 0:
        raise InputError(f"{acc_stream.where}, column 'time': no numbers at all (expected one in every row)")
    t0_ns = time[finite[0]]
    acc_stream.t_s = _seconds(time, t0_ns)
    if flip:
        acc_stream.values = -acc_stream.values
        decisions.append(
            "iOS convention: acceleration and gravity signs flipped on all three axes to the "
            "Android convention used by backcheck (+9.8 m/s² on the upward axis at rest)"
        )
    acc_stream = clean_stream(acc_stream, settings, decisions)
    gyro_stream = None
    gyro = _read_xyz(path, read, index["gyroscope.csv"], allow_empty=True) if "gyroscope.csv" in index else None
    if gyro is not None:
        g_time, gyro_stream = gyro
        gyro_stream.t_s = _seconds(g_time, t0_ns)
        gyro_stream = clean_stream(gyro_stream, settings, decisions)
    else:
        why = "Gyroscope.csv has no rows (a phone without one)" if "gyroscope.csv" in index else "no Gyroscope.csv"
        decisions.append(f"{why}: accelerometer-only recording (the analysis runs in a reduced mode)")
    samples = merge_streams(acc_stream, gyro_stream, settings, decisions)
    t_start = float(samples.t[0])
    samples = Samples(samples.t - t_start, samples.acc, samples.gyro)
    check_units(str(path), samples.acc, samples.gyro, settings)
    if samples.gyro is not None:
        k, r2 = gravity_turn_scale(samples.t, samples.acc, samples.gyro)
        if r2 >= 0.3:
            sense = "as" if k > 0 else "AGAINST the way"
            decisions.append(
                f"check: the gravity direction turns {sense} the gyroscope says (least-squares "
                f"k = {k:.2f}, explains {r2:.0%} of its change)"
            )
        else:
            decisions.append("check: too little rotation to compare the gravity direction with the gyroscope")
    start_utc = datetime.fromtimestamp(float(t0_ns) / 1e9 + t_start, UTC).isoformat()
    device = meta.get("device name") or None
    return Recording(
        samples,
        RecordingMeta(
            format=f"sensor-logger-{platform}",
            device=device,
            sample_rate_hz=round(samples.median_rate_hz(), 3),
            accelerometer_only=samples.gyro is None,
            start_utc=start_utc,
            decisions=decisions,
            source_path=str(path),
        ),
    )


def _seconds(time: np.ndarray, t0_ns) -> np.ndarray:
    if time.dtype.kind == "i":
        return (time - t0_ns).astype(np.float64) / 1e9
    return (time - float(t0_ns)) / 1e9


def _add_gravity(
    time: np.ndarray,
    acc: Stream,
    g_time: np.ndarray,
    grav: Stream,
    settings: ImportSettings,
    decisions: list[str],
) -> tuple[np.ndarray, Stream]:
    """Accelerometer + Gravity; gravity interpolated onto the accelerometer's stamps when its own differ
    (accelerometer rows where gravity is not known within short steps are left out)."""
    decisions.append("total acceleration = Accelerometer.csv + Gravity.csv")
    if np.array_equal(g_time, time):
        return time, Stream(acc.t_s, acc.values + grav.values, acc.lines, acc.where, acc.columns)
    t0 = np.nanmin(time.astype(np.float64))
    grav.t_s = _seconds(g_time, t0)
    grav = clean_stream(grav, settings, decisions)
    step = float(np.median(np.diff(grav.t_s)))
    values, ok = interpolate_onto(_seconds(time, t0), grav.t_s, grav.values, settings.max_gap_periods * step)
    decisions.append(
        f"Gravity.csv interpolated onto Accelerometer.csv's time stamps ({int((~ok).sum())} "
        "accelerometer rows without gravity nearby left out)"
    )
    total = Stream(acc.t_s, acc.values + values, acc.lines, acc.where, acc.columns)
    return time[ok], total.take(ok)
