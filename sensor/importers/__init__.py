"""Importers: every supported input becomes a `Recording` (SI units, one timeline).

    from sensor.importers import load
    rec = load("export.zip")            # format detected
    rec.meta.decisions                  # what was inferred, to tell the user

Detection: a backcheck recording by its first line; a folder or zip by its files (Sensor Logger:
Gyroscope.csv / TotalAcceleration.csv / Accelerometer.csv with a `time,seconds_elapsed` header;
phyphox: `meta/time.csv` or phyphox's quoted "Time (s)" header; one CSV per sensor: a file whose columns
name a time and x, y, z acceleration); any other text table is a generic CSV.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from sensor.errors import InputError
from sensor.importers.merge import ImportSettings, frozen_dropped, gravity_scaled
from sensor.recording import Recording, is_backcheck_recording, read_recording

__all__ = ["FORMATS", "ImportSettings", "detect_format", "load"]

# name -> what it is (shown by `backcheck convert --help` and in the README table)
FORMATS: dict[str, str] = {
    "backcheck": "backcheck's own recording (.csv or .csv.gz with a '# backcheck-recording/1' first line)",
    "sensorlogger": "Sensor Logger export (Android or iOS), a zip or its unzipped folder",
    "phyphox": "phyphox CSV export of 'Acceleration with g' or backcheck-imu.phyphox (zip, folder, .csv)",
    "csv": "generic CSV/TSV (.csv, .txt, .csv.gz): columns by name or --columns, units stated or inferred",
    "files": "one CSV per sensor in a folder or zip (Polar Sensor Logger _ACC/_GYRO.txt, MetaWear MetaBase)",
}

# options each reader takes (the rest are an error, not silently ignored)
_OPTIONS = {"csv": {"columns", "acc_unit", "gyro_unit", "time_unit"}, "sensorlogger": {"ios_standardised"}}
SENSORLOGGER_FILES = {"totalacceleration.csv", "accelerometer.csv", "gyroscope.csv", "gravity.csv"}


def detect_format(path: Path) -> str:
    """One of FORMATS' names, from the file's content and layout (not only its extension)."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".zip" and not path.is_dir() and not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not a readable zip file (expected a Sensor Logger or phyphox export)")
    if path.is_dir() or zipfile.is_zipfile(path):
        from sensor.importers.table import read_members

        names, read = read_members(path)
        if "xl/workbook.xml" in names:
            raise InputError(f"{path}: an Excel workbook, not CSV (export the recording as CSV instead: in "
                             "phyphox, Export → 'CSV (Comma, decimal point)')")
        base = {n.rsplit("/", 1)[-1].lower() for n in names}
        if any(n.lower().endswith("meta/time.csv") or n.lower().endswith("meta/device.csv") for n in names):
            return "phyphox"
        if base & SENSORLOGGER_FILES:
            return "sensorlogger"
        from sensor.importers.sensor_files import holds_sensor_files

        if holds_sensor_files(names, read):
            return "files"
        if any(n.lower().endswith(".csv") for n in names):
            return "phyphox"
        raise InputError(f"{path}: no CSV files inside (expected a Sensor Logger or phyphox export, or one CSV "
                         "per sensor)")
    if is_backcheck_recording(path):
        return "backcheck"
    from sensor.importers.phyphox import is_phyphox_csv

    return "phyphox" if is_phyphox_csv(path) else "csv"


def load(
    path: str | os.PathLike,
    *,
    format: str = "auto",
    settings: ImportSettings | None = None,
    **options: object,
) -> Recording:
    """Read any supported input as a Recording in SI units.

    options: generic CSV `columns` (role -> header), `acc_unit` (g|mg|mps2), `gyro_unit` (dps|dps16|radps),
    `time_unit` (s|ms|us|ns|iso); Sensor Logger `ios_standardised` (bool, overrides Metadata.csv).
    """
    path = Path(path)
    settings = settings or ImportSettings()
    name = detect_format(path) if format == "auto" else format
    allowed = _OPTIONS.get(name, set())
    for key in options:
        if key not in allowed:
            flag = "--" + key.replace("_", "-")
            raise InputError(
                f"{path}: {flag} does not apply to {name} input (it applies to "
                f"{', '.join(f for f, keys in _OPTIONS.items() if key in keys) or 'no format'})"
            )
    if name == "backcheck":
        rec = read_recording(path)
    elif name == "sensorlogger":
        from sensor.importers.sensorlogger import load_sensorlogger

        rec = load_sensorlogger(path, settings=settings, **options)
    elif name == "phyphox":
        from sensor.importers.phyphox import load_phyphox

        rec = load_phyphox(path, settings=settings)
    elif name == "csv":
        from sensor.importers.generic import load_generic

        rec = load_generic(path, settings=settings, **options)
    elif name == "files":
        from sensor.importers.sensor_files import load_sensor_files

        rec = load_sensor_files(path, settings=settings)
    else:
        raise InputError(f"--format: unknown format '{name}' (expected auto, {', '.join(FORMATS)})")
    return gravity_scaled(frozen_dropped(rec, settings), settings)
