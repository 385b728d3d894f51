"""Generic CSV import: columns mapped by name or by option, units stated or inferred.

The table itself is read by `sensor.importers.table.read_table` (shared with the app formats).

Inference (each printed as a decision and overridable by an option):

- time: numbers whose median step gives 10-2000 Hz in exactly one of s, ms, µs, ns; text is parsed
  as ISO 8601. Epoch times set the recording's start time.
- acceleration: median |acc| near 1 means g, near 9.8 means m/s².
- angular rate: the gravity direction seen by the accelerometer must turn as fast as the gyroscope
  says (d(g)/dt = -k ω × g, fitted over the moving parts): k near 1 means rad/s, near π/180 means
  °/s. With too little rotation to fit, the magnitude decides: a still clip reads the gyroscope's bias,
  never 0.5 rad/s; rad/s rarely exceed ~10 for a person, °/s readings of a moving person reach tens to
  hundreds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from analysis.samples import STANDARD_GRAVITY_MPS2, Samples
from sensor.errors import InputError
from sensor.importers.merge import ImportSettings, Stream, check_units, clean_stream, merge_streams
from sensor.importers.table import Table, read_table
from sensor.recording import Recording, RecordingMeta

ROLES = ("t", "ax", "ay", "az", "gx", "gy", "gz")
ACC_UNITS = {"g": STANDARD_GRAVITY_MPS2, "mg": STANDARD_GRAVITY_MPS2 / 1000.0, "mps2": 1.0}
# dps16: °/s x 16, BarbellIMU's raw int16 columns (gx_dps16)
GYRO_UNITS = {"radps": 1.0, "dps": np.pi / 180.0, "dps16": np.pi / 180.0 / 16.0}
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}

_AXIS_ALIASES = {
    "a": ("a", "acc", "accel", "accelerometer", "acceleration", "accelerometeracceleration", "linacc", "gf"),
    "g": (
        "g",
        "gyr",
        "gyro",
        "gyroscope",
        "rot",
        "rotationrate",
        "gyroscoperotationrate",
        "w",
        "omega",
        "angvel",
        "angularvelocity",
        "angularrate",
        "gyrorotation",
        "motionrotationrate",
    ),
}
# names whose clock is the sensor's own: preferred to any other time column (SensorLog's logging time,
# Polar Sensor Logger's phone time are stamped on arrival)
_SENSOR_CLOCKS = ("accelerometertimestampsincereboot", "sensortimestamp")
_TIME_ALIASES = (
    "t",
    "time",
    "timestamp",
    "timestamps",
    "ts",
    "times",
    "seconds",
    "sec",
    "elapsed",
    "elapsedtime",
    "datetime",
    "date",
    "epoch",
    "loggingtime",
    "timeelapsed",
    "epoc",  # (MetaWear's MetaBase: "epoc (ms)")
    *_SENSOR_CLOCKS,
)
_BARE_AXES = {"x": "x", "y": "y", "z": "z", "xaxis": "x", "yaxis": "y", "zaxis": "z"}  # named by their unit
_UNIT_WORDS = {
    "m/s^2": "mps2",
    "m/s²": "mps2",
    "m/s2": "mps2",
    "mps2": "mps2",
    "ms2": "mps2",
    "g": "g",
    "mg": "mg",
    "rad/s": "radps",
    "radps": "radps",
    "rads": "radps",
    "deg/s": "dps",
    "°/s": "dps",
    "dps": "dps",
    "degps": "dps",
    "dps16": "dps16",
    "s": "s",
    "sec": "s",
    "ms": "ms",
    "us": "us",
    "µs": "us",
    "ns": "ns",
}


def _normalise(name: str) -> tuple[str, str | None]:
    """Header name -> (bare lowercase alphanumerics, unit hint or None)."""
    name = name.strip().strip("'\"").lower()
    hint = None
    m = re.search(r"[(\[]\s*([^)\]]+?)\s*[)\]]", name)
    if m:
        hint = _UNIT_WORDS.get(m.group(1).replace(" ", ""))
        name = name[: m.start()] + name[m.end() :]
    m = re.fullmatch(r"(.*?)[_ ](mps2|ms2|g|mg|radps|rads|dps|dps16|degps|s|ms|us|ns)", name.strip())
    if m and hint is None:
        hint, name = _UNIT_WORDS[m.group(2)], m.group(1)
    return re.sub(r"[^a-z0-9]", "", name), hint


def _role_names() -> dict[str, str]:
    names = {alias: "t" for alias in _TIME_ALIASES}
    for kind, aliases in _AXIS_ALIASES.items():
        for alias in aliases:
            for axis in "xyz":
                names[f"{alias}{axis}"] = f"{kind}{axis}"
                names[f"{axis}{alias}"] = f"{kind}{axis}"
    return names


_ROLE_OF = _role_names()


def find_roles(headers: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Role -> header name, and role -> unit hint, of the headers whose names say what they hold."""
    found: dict[str, str] = {}
    hints: dict[str, str] = {}
    for header in headers:
        bare, hint = _normalise(header)
        role = _ROLE_OF.get(bare)
        if bare in _BARE_AXES and hint is not None:  # "X [mg]", "x-axis (g)", "X [dps]": the unit says what
            role = ("a" if hint in ACC_UNITS else "g" if hint in GYRO_UNITS else "") + _BARE_AXES[bare]
        if role in ROLES and (role not in found or (role == "t" and bare in _SENSOR_CLOCKS)):
            found[role] = header
            hints.pop(role, None)
            if hint:
                hints[role] = hint
    return found, hints


def map_columns(table: Table, columns: dict[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """Role -> header name, and role -> unit hint read from the header; `columns` (role -> name) first."""
    headers = list(table.frame.columns)
    found, hints = find_roles(headers)
    for role, name in (columns or {}).items():
        if role not in ROLES:
            raise InputError(f"--columns: unknown role '{role}' (expected {', '.join(ROLES)})")
        match = [h for h in headers if h == name] or [h for h in headers if h.lower() == name.lower()]
        if not match:
            raise InputError(
                f"{table.where}, line {table.first_line - 1}: no column named '{name}' "
                f"(given for {role}); columns are {', '.join(headers)}"
            )
        found[role] = match[0]
        hints.pop(role, None)
    for role in ("t", "ax", "ay", "az"):
        if role not in found:
            raise InputError(
                f"{table.where}, line {table.first_line - 1}: no column for {role} (expected a name such as "
                f"{_examples(role)}, or --columns {role}=NAME); columns are {', '.join(headers)}"
            )
    gyro = [r for r in ("gx", "gy", "gz") if r in found]
    if gyro and len(gyro) < 3:
        missing = sorted({"gx", "gy", "gz"} - set(gyro))
        raise InputError(
            f"{table.where}, line {table.first_line - 1}: gyroscope column(s) {', '.join(missing)} "
            f"missing (found {', '.join(found[r] for r in gyro)}); give all three or none"
        )
    return found, hints


def _examples(role: str) -> str:
    if role == "t":
        return "t, time or timestamp"
    axis = role[1]
    return f"{role}, acc_{axis}, acc{axis.upper()} or accelerometer_{axis}"


def time_seconds(
    table: Table, column: str, unit: str | None, decisions: list[str]
) -> tuple[np.ndarray, str | None, int]:
    """Times in s from the first row (NaN kept), the ISO start time when the times are absolute, and the
    first row's stamp in ns of the file's own clock (to align files stamped by one clock)."""
    import pandas as pd

    col = table.frame[column]
    if unit == "iso" or (unit is None and col.dtype.kind not in "iufb" and _looks_iso(col)):
        stamps = pd.to_datetime(col, utc=True, format="ISO8601", errors="coerce")
        bad = stamps.isna() & col.notna()
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise InputError(
                f"{table.where}, line {table.first_line + i}, column '{column}': expected an ISO 8601 "
                f"time such as 2024-05-01T10:00:00.000Z, got {col.iloc[i]!r}"
            )
        ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        first = ns[np.flatnonzero(stamps.notna().to_numpy())[0]]
        t = np.where(stamps.notna().to_numpy(), (ns - first) / 1e9, np.nan)
        decisions.append(f"time column '{column}' read as ISO 8601 text" + ("" if unit else " (inferred)"))
        return t, stamps.dropna().iloc[0].isoformat(), int(first)
    raw = table.numbers(column)
    finite = np.flatnonzero(np.isfinite(raw))
    if finite.size < 2:
        raise InputError(f"{table.where}, column '{column}': fewer than two times (expected one per row)")
    first = raw[finite[0]]
    if col.dtype.kind == "i":  # keep integer precision of epoch nanoseconds
        rel = (col.to_numpy() - col.iloc[0]).astype(np.float64)
    else:
        rel = raw - first
    if unit is None:
        steps = np.diff(rel[finite])
        step = float(np.median(steps[steps > 0])) if (steps > 0).any() else 0.0
        fits = [u for u, scale in TIME_UNITS.items() if step > 0 and 10.0 <= 1.0 / (step * scale) <= 2000.0]
        if len(fits) != 1:
            raise InputError(
                f"{table.where}, column '{column}': a median time step of {step:.6g} gives a plausible rate "
                "(10-2000 Hz) in none of s, ms, us, ns; state the unit with --time-unit"
            )
        unit = fits[0]
        decisions.append(
            f"time column '{column}' in {unit} (inferred from a median step of {step:.6g} {unit}, "
            f"{1.0 / (step * TIME_UNITS[unit]):.1f} Hz)"
        )
    start_s = first * TIME_UNITS[unit]
    start_utc = None
    if 9.0e8 < start_s < 4.1e9:  # 1998..2099: the times are Unix epoch times
        start_utc = datetime.fromtimestamp(start_s, UTC).isoformat()
    ns_per_unit = round(TIME_UNITS[unit] * 1e9)
    first_ns = int(col.iloc[finite[0]]) * ns_per_unit if col.dtype.kind == "i" else round(start_s * 1e9)
    return rel * TIME_UNITS[unit], start_utc, first_ns


def _looks_iso(col) -> bool:
    first = str(col.dropna().iloc[0]) if col.notna().any() else ""
    return bool(re.match(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}", first.strip()))


def infer_acc_unit(where: str, acc: np.ndarray, decisions: list[str]) -> str:
    median = float(np.nanmedian(np.linalg.norm(acc, axis=1)))
    if 0.5 <= median <= 2.0:
        unit = "g"
    elif 0.5 * STANDARD_GRAVITY_MPS2 <= median <= 2.0 * STANDARD_GRAVITY_MPS2:
        unit = "mps2"
    else:
        raise InputError(
            f"{where}: the median |acceleration| is {median:.3g}, which fits neither g (about 1) "
            f"nor m/s² (about 9.8) with gravity included; state the unit with --acc-unit"
        )
    decisions.append(
        f"acceleration in {'g' if unit == 'g' else 'm/s²'} (inferred: median |a| = {median:.3g})"
    )
    return unit


def gravity_turn_scale(t_s: np.ndarray, acc: np.ndarray, gyro: np.ndarray) -> tuple[float, float]:
    """Fit k in d(u)/dt = -k ω × u, u the smoothed gravity direction from acc, over the moving parts.

    Both signals are put on a uniform grid and smoothed over 0.6 s (squats and hinges turn slower
    than that; the body's own acceleration averages out); the fit uses the fastest-turning 20 %.
    Returns (k, r2): k ≈ 1 (a little less, smoothing) when gyro is in rad/s and shares the
    accelerometer's axes, ≈ π/180 for °/s, negative when the two turn in opposite senses (a mirrored
    axis); r2 is the fraction of d(u)/dt the fit explains. A sign flip of all three acceleration
    axes leaves the relation unchanged (it is linear in u), so it cannot be detected this way.
    """
    step_s = float(np.median(np.diff(t_s)))
    grid = np.arange(t_s[0], t_s[-1], step_s)
    width = max(3, int(round(0.6 / step_s)))
    if len(grid) < 3 * width:
        return float("nan"), 0.0
    kernel = np.ones(width) / width

    def smooth(x: np.ndarray) -> np.ndarray:
        return np.column_stack(
            [np.convolve(np.interp(grid, t_s, x[:, i]), kernel, mode="same") for i in range(3)]
        )

    a, omega = smooth(acc), smooth(gyro)
    u = a / np.linalg.norm(a, axis=1, keepdims=True)
    inner = slice(width, len(grid) - width)
    du = np.gradient(u, step_s, axis=0)[inner]
    pred = -np.cross(omega, u)[inner]
    size = np.linalg.norm(pred, axis=1)
    moving = size >= np.percentile(size, 80)
    if float((pred[moving] ** 2).sum()) == 0.0:
        return float("nan"), 0.0
    k = float((du[moving] * pred[moving]).sum() / (pred[moving] ** 2).sum())
    resid = float(((du[moving] - k * pred[moving]) ** 2).sum())
    total = float((du[moving] ** 2).sum())
    return k, (1.0 - resid / total) if total > 0 else 0.0


def infer_gyro_unit(t_s: np.ndarray, acc_mps2: np.ndarray, gyro: np.ndarray, decisions: list[str]) -> str:
    ok = np.isfinite(t_s) & np.isfinite(acc_mps2).all(axis=1) & np.isfinite(gyro).all(axis=1)
    t_s, acc_mps2, gyro = t_s[ok], acc_mps2[ok], gyro[ok]
    order = np.concatenate(([True], np.diff(t_s) > 0))
    k, r2 = gravity_turn_scale(t_s[order], acc_mps2[order], gyro[order])
    p99 = float(np.percentile(np.linalg.norm(gyro, axis=1), 99))
    if r2 >= 0.3 and k > 0:
        unit = "radps" if abs(np.log(k)) < abs(np.log(k / GYRO_UNITS["dps"])) else "dps"
        how = f"the gravity direction turns {k:.3g} × the gyroscope's reading (fit explains {r2:.0%})"
    else:
        up = acc_mps2 / np.linalg.norm(acc_mps2, axis=1, keepdims=True)
        mean_up = up.mean(axis=0) / np.linalg.norm(up.mean(axis=0))
        still = float(np.degrees(np.arccos(np.clip(up @ mean_up, -1.0, 1.0))).max()) < 5.0
        median = float(np.median(np.linalg.norm(gyro, axis=1)))
        if still and median > 0.5:  # a sensor that does not turn reads its bias: 0.5 rad/s (29 °/s) is none's
            unit, how = "dps", f"the accelerometer shows no turn while the median |ω| is {median:.3g}"
        else:
            unit = "dps" if p99 >= 10.0 else "radps"
            how = f"99th percentile |ω| = {p99:.3g}; too little rotation to check against gravity"
    decisions.append(f"angular rate in {'rad/s' if unit == 'radps' else '°/s'} (inferred: {how})")
    return unit


def load_generic(
    path: Path,
    *,
    columns: dict[str, str] | None = None,
    acc_unit: str | None = None,
    gyro_unit: str | None = None,
    time_unit: str | None = None,
    settings: ImportSettings | None = None,
) -> Recording:
    """Read a CSV (or .csv.gz) of IMU samples; see the module docstring for the mapping and inference."""
    settings = settings or ImportSettings()
    where = str(path)
    decisions: list[str] = []
    table = read_table(path, where)
    found, hints = map_columns(table, columns)
    decisions.append("columns: " + ", ".join(f"{role}={found[role]}" for role in ROLES if role in found))
    t_s, start_utc, _ = time_seconds(table, found["t"], time_unit or hints.get("t"), decisions)
    acc = np.column_stack([table.numbers(found[r]) for r in ("ax", "ay", "az")])
    acc_unit = acc_unit or hints.get("ax") or infer_acc_unit(where, acc, decisions)
    acc = acc * ACC_UNITS[_check_choice("--acc-unit", acc_unit, ACC_UNITS)]
    if _normalise(found["ax"])[0].startswith("accelerometeracceleration"):
        acc = -acc
        decisions.append(
            "iOS Core Motion columns (accelerometerAcceleration*, as SensorLog writes them): acceleration "
            "negated to the convention backcheck uses (+1 g on the upward axis at rest)"
        )
    has_gyro = "gx" in found
    gyro = np.column_stack([table.numbers(found[r]) for r in ("gx", "gy", "gz")]) if has_gyro else None
    samples = _samples(Stream(t_s, acc if gyro is None else np.hstack([acc, gyro]), table.lines(), where,
                              tuple(found[r] for r in ROLES if r in found)), settings, decisions)
    t0_s = float(samples.t[0])
    if has_gyro:  # (its unit inferred on the cleaned timeline: re-spaced bursts, no gaps' NaN)
        gyro_unit = gyro_unit or hints.get("gx") or infer_gyro_unit(samples.t, samples.acc, samples.gyro, decisions)
        samples = Samples(samples.t, samples.acc,
                          samples.gyro * GYRO_UNITS[_check_choice("--gyro-unit", gyro_unit, GYRO_UNITS)])
    check_units(where, samples.acc, samples.gyro, settings)
    samples = Samples(samples.t - t0_s, samples.acc, samples.gyro)
    if start_utc and t0_s != 0.0:
        start_utc = datetime.fromtimestamp(
            datetime.fromisoformat(start_utc).timestamp() + t0_s, UTC
        ).isoformat()
    if not has_gyro:
        decisions.append(
            "no gyroscope columns: accelerometer-only recording (the analysis runs in a reduced mode)"
        )
    meta = RecordingMeta(
        format="generic-csv",
        sample_rate_hz=round(samples.median_rate_hz(), 3),
        accelerometer_only=not has_gyro,
        start_utc=start_utc,
        decisions=decisions,
        source_path=where,
    )
    return Recording(samples, meta)


def _samples(rows: Stream, settings: ImportSettings, decisions: list[str]) -> Samples:
    """A file's rows (t, ax, ay, az and maybe gx, gy, gz; the gyroscope in its own unit) cleaned into Samples. Where a
    tenth of the rows or more hold only one of the sensors, the other's cells empty, each sensor runs at its own rate
    on the file's one clock: two streams, the gyroscope interpolated onto the accelerometer's rows (`merge_streams`);
    else a row with a missing cell is a gap (`clean_stream`)."""
    has_acc, has_gyro = (np.isfinite(rows.values[:, k : k + 3]).all(axis=1) for k in (0, 3))
    acc_only, gyro_only = int((has_acc & ~has_gyro).sum()), int((has_gyro & ~has_acc).sum())
    if rows.values.shape[1] == 3 or acc_only + gyro_only < 0.1 * rows.t_s.size or not has_gyro.any():
        stream = clean_stream(rows, settings, decisions)
        return Samples(stream.t_s, stream.values[:, :3], stream.values[:, 3:] if rows.values.shape[1] > 3 else None)
    decisions.append(f"{rows.where}: {acc_only} rows hold acceleration alone and {gyro_only} angular rate alone: the "
                     "two sensors at their own rates, read as two streams on the file's clock")
    acc = Stream(rows.t_s, rows.values[:, :3], rows.lines, rows.where, rows.columns[:4]).take(has_acc)
    gyro = Stream(rows.t_s, rows.values[:, 3:], rows.lines, rows.where, (rows.columns[0], *rows.columns[4:]))
    return merge_streams(clean_stream(acc, settings, decisions), clean_stream(gyro.take(has_gyro), settings, decisions),
                         settings, decisions)


def _check_choice(option: str, value: str, choices: dict) -> str:
    if value not in choices:
        raise InputError(f"{option}: unknown unit '{value}' (expected one of {', '.join(choices)})")
    return value
