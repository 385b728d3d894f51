"""phyphox CSV exports: "Acceleration with g" and the project's backcheck-imu.phyphox experiment.

An export is a zip with one CSV per export set (`Raw Data.csv`; or `Accelerometer.csv` and
`Gyroscope.csv` for backcheck-imu.phyphox) plus `meta/device.csv` and `meta/time.csv`; the
"minimalistic" export is a bare CSV (several sets follow each other, each with its header line).
Headers are quoted labels such as "Time (s)", "Acceleration x (m/s^2)", "Gyroscope x (rad/s)";
numbers look like 1.234567890E-1 (or 1,234567890E-1 in the decimal-comma variants); short columns
are padded with NaN. Times are seconds of experiment time, which leaves pauses out: with
`meta/time.csv` the pauses come back as gaps and the START event gives the wall-clock start.
Units are phyphox's: m/s² with gravity, rad/s.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from analysis.samples import Samples
from sensor.errors import InputError
from sensor.importers.merge import ImportSettings, Stream, check_units, clean_stream, merge_streams
from sensor.importers.table import Table, read_members, read_table
from sensor.recording import Recording, RecordingMeta

_LABEL = re.compile(r"^'?(linear acceleration|acceleration|gyroscope) ([xyz]) \((m/s\^2|rad/s)\)$", re.I)
_TIME = re.compile(r"^'?time \(s\)$", re.I)


def is_phyphox_csv(path: Path) -> bool:
    """A bare phyphox CSV starts with the quoted label "Time (s)"."""
    try:
        with open(path, "rb") as f:
            return phyphox_header(f.read(64))
    except OSError:
        return False


def phyphox_header(raw: bytes) -> bool:
    """Do a CSV's first bytes start with phyphox's quoted label "Time (s)"?"""
    return raw.lstrip(b"\xef\xbb\xbf").startswith(b'"Time (s)"')


def _split_sets(raw: bytes) -> list[tuple[int, bytes]]:
    """(line offset, bytes) of each set in a file; a set starts at a quoted header line."""
    lines = raw.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.lstrip(b"\xef\xbb\xbf").startswith(b'"')]
    if not starts:
        return [(0, raw)]
    ends = [*starts[1:], len(lines)]
    return [(a, b"".join(lines[a:b])) for a, b in zip(starts, ends, strict=True)]


def _streams_of(table: Table) -> dict[str, Stream]:
    """'acc' and/or 'gyro' streams of one export set, found by their column labels."""
    labels = {c: c.strip().strip('"') for c in table.frame.columns}
    time_cols = [c for c, label in labels.items() if _TIME.match(label)]
    found: dict[str, dict[str, str]] = {}
    for col, label in labels.items():
        m = _LABEL.match(label)
        if m:
            kind = "gyro" if m.group(1).lower() == "gyroscope" else "acc"
            if m.group(1).lower() == "linear acceleration":
                raise InputError(
                    f"{table.where}, column '{label}': this is acceleration without gravity; "
                    "record with 'Acceleration with g' or backcheck-imu.phyphox"
                )
            found.setdefault(kind, {})[m.group(2).lower()] = col
    streams = {}
    for kind, axes in found.items():
        if len(axes) < 3 or not time_cols:
            need = "'Time (s)'" if not time_cols else f"all three {kind} axes"
            raise InputError(
                f"{table.where}, line {table.first_line - 1}: expected {need} in this export set, "
                f"got {', '.join(labels.values())}"
            )
        cols = (time_cols[0], axes["x"], axes["y"], axes["z"])
        values = np.column_stack([table.numbers(c) for c in cols[1:]])
        streams[kind] = Stream(
            table.numbers(cols[0]), values, table.lines(), table.where, tuple(labels[c] for c in cols)
        )
    return streams


def _time_events(raw: bytes, where: str) -> list[tuple[str, float, float]]:
    """(event, experiment time s, system time Unix s) rows of meta/time.csv."""
    table = read_table(raw, where)
    frame = table.frame
    frame.columns = [c.strip('"').lower() for c in frame.columns]
    for col in ("event", "experiment time", "system time"):
        if col not in frame.columns:
            raise InputError(f"{where}, line 1: expected a column '{col}' (phyphox meta/time.csv)")
    exp, sys = table.numbers("experiment time"), table.numbers("system time")
    return [(str(e).strip('"'), float(x), float(s)) for e, x, s in zip(frame["event"], exp, sys, strict=True)]


def _wall_clock(t_s: np.ndarray, starts: list[tuple[float, float]]) -> np.ndarray:
    """Experiment time -> seconds since the first START's wall clock, pauses included."""
    exp = np.array([e for e, _ in starts])
    sys = np.array([s for _, s in starts])
    k = np.clip(np.searchsorted(exp, t_s, side="right") - 1, 0, len(exp) - 1)
    return sys[k] - sys[0] + (t_s - exp[k]) + exp[0]


def load_phyphox(path: Path, *, settings: ImportSettings | None = None) -> Recording:
    """Read a phyphox export (zip, folder, or bare CSV); see the module docstring."""
    settings = settings or ImportSettings()
    names, read = read_members(path)
    decisions: list[str] = []
    streams: dict[str, Stream] = {}
    meta_dir = [n for n in names if n.lower().split("/")[-2:-1] == ["meta"]]
    for name in names:
        if not name.lower().endswith(".csv") or name in meta_dir:
            continue
        where = str(path) if len(names) == 1 else f"{path}: {name}"
        for offset, chunk in _split_sets(read(name)):
            for kind, stream in _streams_of(read_table(chunk, where, line_offset=offset)).items():
                if kind in streams:
                    raise InputError(f"{where}: a second set of {kind} columns (expected one per export)")
                streams[kind] = stream
    if "acc" not in streams:
        raise InputError(
            f"{path}: no 'Acceleration x (m/s^2)' columns in any export set (expected an export "
            "of 'Acceleration with g' or backcheck-imu.phyphox)"
        )
    acc = clean_stream(streams["acc"], settings, decisions)
    gyro = clean_stream(streams["gyro"], settings, decisions) if "gyro" in streams else None
    start_utc = None
    by_name = {n.lower(): n for n in meta_dir}
    time_name = next((n for low, n in by_name.items() if low.endswith("meta/time.csv")), None)
    if time_name:
        events = _time_events(read(time_name), f"{path}: {time_name}")
        starts = [(e, s) for ev, e, s in events if ev.upper() == "START"]
        if starts:
            start_utc = datetime.fromtimestamp(starts[0][1] - starts[0][0], UTC).isoformat()
            if len(starts) > 1:
                decisions.append(
                    f"the measurement was paused {len(starts) - 1} time(s); the pauses are kept as gaps"
                )
                for s in filter(None, (acc, gyro)):
                    s.t_s = _wall_clock(s.t_s, starts)
    samples = merge_streams(acc, gyro, settings, decisions)
    check_units(str(path), samples.acc, samples.gyro, settings)
    t0_s = float(samples.t[0])  # (experiment time: the first sample comes a few ms after START)
    samples = Samples(samples.t - t0_s, samples.acc, samples.gyro)
    if start_utc is not None:
        start_utc = (datetime.fromisoformat(start_utc) + timedelta(seconds=t0_s)).isoformat()
    device = _device(read, by_name)
    kind = "Acceleration with g (accelerometer only)" if gyro is None else "accelerometer + gyroscope"
    decisions.insert(0, f"phyphox export, {kind}" + (f", started {start_utc}" if start_utc else ""))
    if gyro is None:
        decisions.append(
            "no gyroscope set: accelerometer-only recording (the analysis runs in a reduced mode)"
        )
    meta = RecordingMeta(
        format="phyphox",
        device=device,
        sample_rate_hz=round(samples.median_rate_hz(), 3),
        accelerometer_only=gyro is None,
        start_utc=start_utc,
        decisions=decisions,
        source_path=str(path),
    )
    return Recording(samples, meta)


def _device(read, by_name: dict[str, str]) -> str | None:
    name = next((n for low, n in by_name.items() if low.endswith("meta/device.csv")), None)
    if name is None:
        return None
    frame = read_table(read(name), name).frame
    if frame.shape[1] < 2:
        return None
    props = {
        str(k).strip('"'): str(v).strip('"') for k, v in zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True)
    }
    model = " ".join(
        p for p in (props.get("deviceManufacturer"), props.get("deviceModel")) if p and p != "nan"
    )
    return f"phyphox on {model}" if model else "phyphox"
