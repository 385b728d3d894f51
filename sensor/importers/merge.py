"""Raw sensor streams to one valid timeline: checks, repeated stamps, gaps, and the acc/gyro merge.

Every importer reads each sensor file into a `Stream` (times in seconds, values in SI units, the
file line of every row) and passes it through `clean_stream`, so all formats share one set of rules:

- Missing values (NaN or empty cells): a run of at most `max_nan_run_rows` rows is dropped and
  becomes a gap (a decision note says so); a longer run is an error (a column with no numbers at
  all is rejected when the file is read).
- Exact duplicate rows (same time, same values) are dropped with a note, unless the stamps are coarse (other
  rows share a stamp with different values): a still sensor's quantised reading then repeats in a burst.
- Rows that share a time stamp but differ (a burst delivered at once and stamped on arrival) are
  re-spaced at the nominal sample step, ending at the shared stamp and never reaching back past the
  previous stamp.
- A device clock that wraps around (a 32-bit microsecond counter every 71.6 min, as Arduino's `micros()`
  or BarbellIMU's; a 16-bit millisecond one every 65.5 s) goes on across the wrap, with a note.
- Time going backwards otherwise is an error naming the line.
- A median sample rate outside `min_rate_hz`..`max_rate_hz` is an error (usually a wrong time unit).

After the merge, `frozen_dropped` takes readings that repeat exactly on every axis, a gyroscope's included, for
longer than `frozen_max_s` (a stalled sensor or app) as missing, and `gravity_scaled` scales an accelerometer that
reads far off 1 g.

`merge_streams` puts a gyroscope on its own clock onto the accelerometer's time stamps by linear
interpolation, only across gyroscope steps of at most `max_gap_periods` nominal periods: accelerometer
samples inside a longer gyroscope gap are left out (a gap stays a gap, nothing is invented across it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.samples import STANDARD_GRAVITY_MPS2, Samples
from analysis.summary_text import clock
from sensor.errors import InputError
from sensor.recording import Recording


@dataclass(frozen=True)
class ImportSettings:
    """Rules shared by every importer (see the module docstring)."""

    max_nan_run_rows: int = 3  # rows; longer runs of missing values are an error
    max_gap_periods: float = 3.0  # nominal periods; the gyroscope is not interpolated across longer steps
    min_rate_hz: float = 5.0  # Hz; slower median rates are rejected
    max_rate_hz: float = 5000.0  # Hz; faster median rates are rejected
    acc_median_range_mps2: tuple[float, float] = (4.9, 19.6)  # m/s²; median |acc| must fall inside
    gravity_tolerance: float = 0.1  # a median |acc| further than this fraction from 1 g is scaled to 1 g, with a note
    frozen_max_s: float = 1.0  # s; readings the same on every axis (a gyroscope's too) for longer: taken as missing
    max_gyro_p99_radps: float = 35.0  # rad/s (about 2000 °/s, a common full scale); beyond means wrong units


@dataclass
class Stream:
    """One sensor's rows as read from a file: t in s, values (n, k) in SI units, 1-based file lines."""

    t_s: np.ndarray
    values: np.ndarray
    lines: np.ndarray
    where: str  # the file, for messages: "rec.zip: Gyroscope.csv"
    columns: tuple[str, ...]  # the file's names for the time column and each value column

    def take(self, keep: np.ndarray) -> Stream:
        return Stream(self.t_s[keep], self.values[keep], self.lines[keep], self.where, self.columns)


def clean_stream(stream: Stream, settings: ImportSettings, decisions: list[str]) -> Stream:
    """Apply the shared rules (module docstring); raises InputError, appends notes to `decisions`."""
    stream = _drop_missing(stream, settings, decisions)
    if len(stream.t_s) < 2:
        raise InputError(f"{stream.where}: fewer than two rows of data (expected a recording of samples)")
    stream = _unwrap_counter(stream, decisions)
    _check_order(stream)
    stream = _drop_exact_duplicates(stream, decisions)
    stream = _respace_bursts(stream, decisions)
    check_rate(stream, settings)
    return stream


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in `mask`."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _drop_missing(stream: Stream, settings: ImportSettings, decisions: list[str]) -> Stream:
    finite = np.isfinite(np.column_stack([stream.t_s, stream.values]))
    bad = ~finite.all(axis=1)
    if not bad.any():
        return stream
    runs = _runs(bad)
    for start, stop in runs:
        if stop - start > settings.max_nan_run_rows:
            col = stream.columns[int(np.argmax(~finite[start]))]
            raise InputError(
                f"{stream.where}, lines {stream.lines[start]}-{stream.lines[stop - 1]}: "
                f"{stop - start} rows in a row have missing values (first in column '{col}'); "
                f"at most {settings.max_nan_run_rows} in a row are dropped as a gap"
            )
    shown = ", ".join(str(stream.lines[s]) for s, _ in runs[:5]) + (", ..." if len(runs) > 5 else "")
    decisions.append(
        f"{stream.where}: {int(bad.sum())} rows with missing values dropped "
        f"(runs starting on lines {shown}); they are gaps now"
    )
    return stream.take(~bad)


COUNTER_SPANS_S = {  # a device counter's span (s) -> what it is, for the note
    2.0**32 * 1e-6: "32-bit microsecond counter (it starts over every 71.6 min)",
    2.0**16 * 1e-3: "16-bit millisecond counter (it starts over every 65.5 s)",
    2.0**32 * 1e-3: "32-bit millisecond counter (it starts over every 49.7 days)",
}


def _unwrap_counter(stream: Stream, decisions: list[str]) -> Stream:
    """A step back by a counter's span (`COUNTER_SPANS_S`) less about a sample step is the device's clock
    starting over: the span is added to every later time."""
    steps = np.diff(stream.t_s)
    back = np.flatnonzero(steps < 0)
    if not back.size or not (steps > 0).any():
        return stream
    nominal_s = float(np.median(steps[steps > 0]))
    offsets, wraps = np.zeros(steps.size), []
    for i in back:
        span = next((x for x in COUNTER_SPANS_S if abs(steps[i] + x - nominal_s) <= 2.0 * nominal_s), None)
        if span is not None:
            offsets[i] = span
            wraps.append((i, span))
    if not wraps:
        return stream
    i, span = wraps[0]
    decisions.append(f"{stream.where}, line {stream.lines[i + 1]}: the device's clock, a {COUNTER_SPANS_S[span]}, "
                     f"wrapped around{f' ({len(wraps)} times)' if len(wraps) > 1 else ''}; time goes on across it")
    return Stream(stream.t_s + np.concatenate(([0.0], np.cumsum(offsets))), stream.values, stream.lines,
                  stream.where, stream.columns)


def _check_order(stream: Stream) -> None:
    steps = np.diff(stream.t_s)
    if (steps < 0).any():
        i = int(np.argmax(steps < 0)) + 1
        raise InputError(
            f"{stream.where}, line {stream.lines[i]}: time goes backwards ({stream.t_s[i]:.6f} s after "
            f"{stream.t_s[i - 1]:.6f} s on line {stream.lines[i - 1]}); expected increasing time"
        )


def _drop_exact_duplicates(stream: Stream, decisions: list[str]) -> Stream:
    same_t = np.diff(stream.t_s) == 0
    same_values = (np.diff(stream.values, axis=0) == 0).all(axis=1)
    if (same_t & ~same_values).any():
        return stream  # coarse stamps (bursts of samples sharing one): a repeated reading is a still sensor's
    dup = np.concatenate(([False], same_t & same_values))
    if dup.any():
        decisions.append(
            f"{stream.where}: {int(dup.sum())} exact duplicate rows dropped (first on line "
            f"{stream.lines[int(np.argmax(dup))]})"
        )
        return stream.take(~dup)
    return stream


def _respace_bursts(stream: Stream, decisions: list[str]) -> Stream:
    t = stream.t_s
    steps = np.diff(t)
    if (steps > 0).all():
        return stream
    nominal_s = float(np.median(steps[steps > 0]))
    t = t.copy()
    # a burst is a run of rows sharing the stamp of its last row
    runs = _runs(np.concatenate((steps == 0, [False])))
    # the room each burst has back to the stamp before it; the first burst has none, and takes the others'
    # (coarse stamps make every step between stamps a burst's, not a sample's)
    rooms = [(t[stop] - t[start - 1]) / (stop - start + 1) for start, stop in runs if start > 0]
    first_room_s = float(np.median(rooms)) if rooms else nominal_s
    used = []
    for start, stop in runs:  # rows start..stop share t[stop]
        k = stop - start + 1
        room = (t[stop] - t[start - 1]) / k if start > 0 else first_room_s
        used.append(min(nominal_s, room))
        t[start : stop + 1] = t[stop] - used[-1] * np.arange(k - 1, -1, -1)
    decisions.append(
        f"{stream.where}: {sum(b - a for a, b in runs)} samples shared a time stamp with the next row "
        f"({len(runs)} bursts, first on line {stream.lines[runs[0][0]]}); they were re-spaced evenly, "
        f"{float(np.median(used)) * 1e3:.1f} ms apart (median), ending at the shared stamp"
    )
    return Stream(t, stream.values, stream.lines, stream.where, stream.columns)


def check_rate(stream: Stream, settings: ImportSettings) -> float:
    """The median sample rate in Hz; raises InputError when it is implausible."""
    step_s = float(np.median(np.diff(stream.t_s)))
    rate_hz = 1.0 / step_s if step_s > 0 else float("inf")
    if not settings.min_rate_hz <= rate_hz <= settings.max_rate_hz:
        raise InputError(
            f"{stream.where}, column '{stream.columns[0]}': the median time step is {step_s:.6g} s, a sample "
            f"rate of {rate_hz:.4g} Hz; expected {settings.min_rate_hz:g}-{settings.max_rate_hz:g} Hz "
            "(is the time unit right?)"
        )
    return rate_hz


def check_units(
    where: str, acc_mps2: np.ndarray, gyro_radps: np.ndarray | None, settings: ImportSettings
) -> None:
    """Reject acceleration whose median magnitude is not about 1 g, and absurd angular rates."""
    median = float(np.median(np.linalg.norm(acc_mps2, axis=1)))
    lo, hi = settings.acc_median_range_mps2
    if not lo <= median <= hi:
        raise InputError(
            f"{where}: the median |acceleration| is {median:.3g} m/s²; expected about "
            f"{STANDARD_GRAVITY_MPS2:.1f} m/s² with gravity included "
            "(is the unit right, or is gravity removed?)"
        )
    if gyro_radps is not None:
        p99 = float(np.percentile(np.linalg.norm(gyro_radps, axis=1), 99))
        if p99 > settings.max_gyro_p99_radps:
            raise InputError(
                f"{where}: 1% of the angular rates exceed {p99:.3g} rad/s; expected below "
                f"{settings.max_gyro_p99_radps:g} rad/s (is the gyroscope unit right?)"
            )


def frozen_dropped(rec: Recording, settings: ImportSettings) -> Recording:
    """The recording without the readings that repeat the one before exactly, on every axis, in a run longer than
    `frozen_max_s` (a stalled sensor, or an app repeating its last reading: a gyroscope's noise never holds so
    still), with a note. The run's first reading stays; the rest become a gap, which the analysis takes as a dropout
    (frozen readings would pass for a lifter standing still, in whatever pose the sensor stalled). Only with a
    gyroscope that reads anything: a coarse accelerometer alone repeats its reading exactly while the lifter stands
    still (15.6 mg steps: half a second and more at a time)."""
    s = rec.samples
    if s.gyro is None or not s.gyro.any():
        return rec
    same = np.all(s.acc[1:] == s.acc[:-1], axis=1) & np.all(s.gyro[1:] == s.gyro[:-1], axis=1)
    edges = np.flatnonzero(np.diff(same, prepend=False, append=False))
    first, last = edges[::2], edges[1::2]  # readings first..last (inclusive) are the same
    frozen = s.t[last] - s.t[first] > settings.frozen_max_s
    if not frozen.any():
        return rec
    keep = np.ones(len(s), dtype=bool)
    for a, b in zip(first[frozen], last[frozen], strict=True):
        keep[a + 1 : b + 1] = False
    runs = [f"{s.t[b] - s.t[a]:.1f} s from {clock(s.t[a] - s.t[0])}" for a, b in zip(first[frozen], last[frozen],
                                                                                   strict=True)]
    listed = ", ".join(runs[:5]) + (f" and {len(runs) - 5} more" if len(runs) > 5 else "")
    rec.meta.decisions.append(f"every axis read exactly the same, sample after sample, for {listed} (a stalled sensor "
                              "or app): taken as missing data")
    return Recording(Samples(s.t[keep], s.acc[keep], s.gyro[keep]), rec.meta)


def gravity_scaled(rec: Recording, settings: ImportSettings) -> Recording:
    """The recording with its accelerometer scaled so that its median |acc| is 1 g, where it lies further than
    `gravity_tolerance` from it (a board set to another range than its driver assumes reads 0.5, 1.5 or 2 g at rest:
    the filter's stillness test and acceleration rejection, which take gravity as 1 g, never pass), with a note; a
    lifting session's median |acc| is gravity's to a per cent or two."""
    acc = rec.samples.acc
    median = float(np.median(np.linalg.norm(acc, axis=1))) if len(acc) else STANDARD_GRAVITY_MPS2
    if abs(median / STANDARD_GRAVITY_MPS2 - 1.0) <= settings.gravity_tolerance:
        return rec
    s = rec.samples
    rec.meta.decisions.append(f"the accelerometer reads {median / STANDARD_GRAVITY_MPS2:.2f} g at its median: scaled "
                              f"by {STANDARD_GRAVITY_MPS2 / median:.3f} to read 1 g (a sensor set to another range "
                              "than its software assumes?)")
    return Recording(Samples(s.t, acc * (STANDARD_GRAVITY_MPS2 / median), s.gyro), rec.meta)


def interpolate_onto(
    t_target: np.ndarray, t_src: np.ndarray, v_src: np.ndarray, max_step_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of v_src (n, k) at t_target; returns (values, ok).

    ok is False where t_target lies outside t_src or inside a source step longer than max_step_s.
    """
    n = len(t_src)
    right = np.searchsorted(t_src, t_target, side="left")
    exact = (right < n) & (t_src[np.minimum(right, n - 1)] == t_target)
    left = np.clip(right - 1, 0, n - 1)
    right_c = np.clip(right, 0, n - 1)
    span = t_src[right_c] - t_src[left]
    ok = exact | ((right > 0) & (right < n) & (span <= max_step_s))
    w = np.where(span > 0, (t_target - t_src[left]) / np.where(span > 0, span, 1.0), 0.0)
    w = np.where(exact, 1.0, w)[:, None]
    values = v_src[left] * (1.0 - w) + v_src[right_c] * w
    return values, ok


def merge_streams(
    acc: Stream, gyro: Stream | None, settings: ImportSettings, decisions: list[str]
) -> Samples:
    """Samples on the accelerometer's time stamps; gyro interpolated within short steps (module docstring)."""
    if gyro is None:
        return Samples(acc.t_s, acc.values, None)
    gyro_step_s = float(np.median(np.diff(gyro.t_s)))
    max_step_s = settings.max_gap_periods * gyro_step_s
    values, ok = interpolate_onto(acc.t_s, gyro.t_s, gyro.values, max_step_s)
    if not ok.all():
        inside = (acc.t_s >= gyro.t_s[0]) & (acc.t_s <= gyro.t_s[-1])
        gaps = _runs(~ok & inside)
        parts = []
        if (~ok & ~inside).any():
            parts.append(f"{int((~ok & ~inside).sum())} outside the gyroscope's time span")
        if gaps:
            parts.append(
                f"{sum(b - a for a, b in gaps)} inside {len(gaps)} gyroscope gaps longer than "
                f"{settings.max_gap_periods:g} periods ({max_step_s * 1e3:.0f} ms), kept as gaps"
            )
        decisions.append(f"{int((~ok).sum())} accelerometer samples left out: {'; '.join(parts)}")
    if not ok.any():
        raise InputError(f"{gyro.where}: the gyroscope's times do not overlap the accelerometer's at all")
    decisions.append(
        f"gyroscope ({1.0 / gyro_step_s:.1f} Hz, own clock) interpolated onto the accelerometer's "
        f"time stamps ({1.0 / float(np.median(np.diff(acc.t_s))):.1f} Hz)"
    )
    return Samples(acc.t_s[ok], acc.values[ok], values[ok])
