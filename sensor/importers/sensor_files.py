"""One CSV per sensor in a folder or zip, as Polar Sensor Logger (`Polar_<model>_<id>_<time>_ACC.txt` and
`..._GYRO.txt`: `;`-separated, the sensor's clock in ns since 2000, mG and °/s) and MetaWear's MetaBase
(`..._Accelerometer.csv`, `..._Gyroscope.csv`: `epoc (ms)`, g and °/s) write them.

Each file is read as a generic CSV (`sensor.importers.generic`: columns by name, bare axes by their unit,
units from the header or inferred); the accelerometer's file is the one with acceleration columns, the
gyroscope's the one with only angular-rate columns (a file with both is both). Both files are stamped by one
clock: the gyroscope is aligned by its stamps and merged onto the accelerometer's (`merge_streams`: a gap
stays a gap). Files with neither (heart rate, PPG, ...) are left out, and said so, as is a magnetometer's, by
its name (`_MAGN.txt`, `_Magnetometer.csv`: Polar writes its unit, gauss, as `[G]`, which reads as g).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from analysis.samples import Samples
from sensor.errors import InputError
from sensor.importers.generic import (
    ACC_UNITS,
    GYRO_UNITS,
    find_roles,
    infer_acc_unit,
    infer_gyro_unit,
    time_seconds,
)
from sensor.importers.merge import ImportSettings, Stream, check_units, clean_stream, merge_streams
from sensor.importers.phyphox import phyphox_header
from sensor.importers.table import Table, header_names, read_members, read_table
from sensor.recording import Recording, RecordingMeta

POLAR_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # Polar sensors count ns from here
MAGNETOMETER_WORDS = {"magn", "magnetometer", "magnetic", "magneticfield"}  # in a magnetometer's file name


def sensor_kind(name: str, headers: list[str]) -> str | None:
    """"acc", "gyro" or "both" for a file (its name and headers) that names a time and three axes of an
    accelerometer, a gyroscope or both, else None (a magnetometer's file, whatever its headers)."""
    words = re.split(r"[^a-z0-9]+", name.rsplit("/", 1)[-1].lower())
    if MAGNETOMETER_WORDS & set(words):
        return None
    roles = find_roles(headers)[0].keys()
    if "t" not in roles:
        return None
    acc, gyro = {"ax", "ay", "az"} <= roles, {"gx", "gy", "gz"} <= roles
    return "both" if acc and gyro else "acc" if acc else "gyro" if gyro else None


def holds_sensor_files(names: list[str], read) -> bool:
    """Does a folder or zip (its member names and reader) hold an accelerometer's CSV of this kind? (Not a phyphox
    export's, whose header starts with its quoted "Time (s)"; other quoted headers, as R's `write.csv`, are.)"""
    for name in names:
        if name.lower().endswith((".csv", ".txt")):
            raw = read(name)
            if not phyphox_header(raw) and sensor_kind(name, header_names(raw)) in ("acc", "both"):
                return True
    return False


def _read(table: Table, kind: str, decisions: list[str]) -> tuple[Stream, int, str | None]:
    """The file's stream (values in its own units), its first stamp in ns of its clock, the unit hint."""
    found, hints = find_roles(list(table.frame.columns))
    axes = tuple(f"{kind[0]}{axis}" for axis in "xyz")
    t_s, _, first_ns = time_seconds(table, found["t"], hints.get("t"), decisions)
    values = np.column_stack([table.numbers(found[r]) for r in axes])
    names = (found["t"], *(found[r] for r in axes))
    return Stream(t_s, values, table.lines(), table.where, names), first_ns, hints.get(axes[0])


def load_sensor_files(path: Path, *, settings: ImportSettings | None = None) -> Recording:
    """Read a folder or zip of per-sensor CSVs; see the module docstring."""
    settings = settings or ImportSettings()
    names, read = read_members(path)
    decisions: list[str] = []
    tables: dict[str, Table] = {}
    left_out, seen = [], {"acc": [], "gyro": []}
    for name in names:
        if not name.lower().endswith((".csv", ".txt")):
            continue
        table = read_table(read(name), f"{path}: {name}" if path.is_file() else str(path / name))
        kind = sensor_kind(name, list(table.frame.columns))
        if kind is None:
            left_out.append(name.rsplit("/", 1)[-1])
        for each in ("acc", "gyro") if kind == "both" else (kind,) if kind else ():
            tables[each] = table
            seen[each].append(name)
    for kind, files in seen.items():
        if len(files) > 1:
            what = "accelerometer" if kind == "acc" else "gyroscope"
            shown = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
            raise InputError(f"{path}: holds {len(files)} {what} files ({shown}); give the files of one recording")
    if "acc" not in tables:
        raise InputError(f"{path}: no accelerometer file (expected a CSV with a time and x, y, z acceleration "
                         f"columns, such as Polar Sensor Logger's _ACC.txt)")
    acc, acc_first_ns, acc_hint = _read(tables["acc"], "acc", decisions)
    acc_unit = acc_hint or infer_acc_unit(acc.where, acc.values, decisions)
    acc.values = acc.values * ACC_UNITS[acc_unit]
    acc = clean_stream(acc, settings, decisions)
    gyro, gyro_hint = None, None
    if "gyro" in tables:
        shared = tables["gyro"] is tables["acc"]  # (one file with both: its time column is told once)
        gyro, gyro_first_ns, gyro_hint = _read(tables["gyro"], "gyro", [] if shared else decisions)
        gyro.t_s = gyro.t_s + (gyro_first_ns - acc_first_ns) / 1e9  # (one clock: aligned by the stamps)
        gyro = clean_stream(gyro, settings, decisions)
        decisions.append(f"accelerometer from {acc.where}, gyroscope from {gyro.where}")
    else:
        decisions.append(f"accelerometer from {acc.where}; no gyroscope file: accelerometer-only recording (the "
                         "analysis runs in a reduced mode)")
    if left_out:
        decisions.append(f"left out (neither an accelerometer nor a gyroscope, or a magnetometer): "
                         f"{', '.join(left_out)}")
    samples = merge_streams(acc, gyro, settings, decisions)
    if samples.gyro is not None:
        unit = gyro_hint or infer_gyro_unit(samples.t, samples.acc, samples.gyro, decisions)
        samples = Samples(samples.t, samples.acc, samples.gyro * GYRO_UNITS[unit])
    t0_s = float(samples.t[0])
    samples = Samples(samples.t - t0_s, samples.acc, samples.gyro)
    check_units(str(path), samples.acc, samples.gyro, settings)
    return Recording(samples, RecordingMeta(
        format="sensor-files", sample_rate_hz=round(samples.median_rate_hz(), 3),
        accelerometer_only=samples.gyro is None, start_utc=_start_utc(tables["acc"], acc_first_ns, t0_s),
        decisions=decisions, source_path=str(path)))


def _start_utc(table: Table, first_ns: int, t0_s: float) -> str | None:
    """Unix epoch stamps (1998-2099), or Polar's sensor clock (ns since 2000, named `sensor timestamp`)."""
    if 9.0e17 < first_ns < 4.1e18:
        start = datetime.fromtimestamp(first_ns / 1e9, UTC)
    elif any(c.lower().startswith("sensor timestamp") for c in table.frame.columns) and 3.0e17 < first_ns < 3.1e18:
        start = POLAR_EPOCH + timedelta(microseconds=first_ns / 1e3)
    else:
        return None
    return (start + timedelta(seconds=t0_s)).isoformat()
