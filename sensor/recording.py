"""backcheck's own recording format: a CSV with a self-describing comment header.

    # backcheck-recording/1
    # {"device": "...", "placement": "...", "sample_rate_hz": 100.0, "accelerometer_only": false, ...}
    t_s,ax_mps2,ay_mps2,az_mps2,gx_radps,gy_radps,gz_radps
    0.000000,0.0123,...

Readable with one pandas call: ``pandas.read_csv(path, comment="#")``. The writer appends while
a live session records and hands its lines to the operating system after every block, so a
killed process leaves a readable file that misses at most the block being written; the reader
drops a torn last line. ``.csv.gz`` works for reading (written by `convert` only).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.samples import Samples
from sensor.errors import InputError, OverwriteError

MAGIC = "# backcheck-recording/1"
COLUMNS = ("t_s", "ax_mps2", "ay_mps2", "az_mps2", "gx_radps", "gy_radps", "gz_radps")
UNITS = {"t": "s", "acc": "m/s^2 (gravity included)", "gyro": "rad/s"}


@dataclass
class RecordingMeta:
    """What is known about a recording besides its samples."""

    format: str  # "backcheck", "sensor-logger-android", "phyphox", "generic-csv", ...
    device: str | None = None
    placement: str | None = None  # e.g. "lower back, L3-L5, face out"
    sample_rate_hz: float | None = None  # nominal; None when unknown
    accelerometer_only: bool = False
    start_utc: str | None = None  # ISO 8601 time of t_s = 0, when known
    notes: dict[str, Any] = field(default_factory=dict)  # free-form: exercise, load_kg, ...
    decisions: list[str] = field(default_factory=list)  # what an importer inferred, to tell the user
    source_path: str | None = None


@dataclass
class Recording:
    samples: Samples
    meta: RecordingMeta


def is_backcheck_recording(path: Path) -> bool:
    try:
        with _open_text(path) as f:
            return f.readline().strip() == MAGIC
    except (OSError, UnicodeDecodeError, gzip.BadGzipFile):
        return False


def read_recording(path: str | os.PathLike) -> Recording:
    """Read a backcheck recording; a torn last line (killed writer) is dropped."""
    path = Path(path)
    try:
        with _open_text(path) as f:
            text = f.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, gzip.BadGzipFile) as err:
        raise InputError(f"{path}: cannot be read as text ({err})") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != MAGIC:
        raise InputError(f"{path}, line 1: expected '{MAGIC}'")
    if len(lines) < 3:
        raise InputError(f"{path}: the header is incomplete (expected a metadata line and a column line)")
    try:
        meta_dict = json.loads(lines[1].lstrip("#").strip())
    except json.JSONDecodeError as err:
        raise InputError(f"{path}, line 2: metadata is not valid JSON ({err.msg})") from None
    header = tuple(c.strip() for c in lines[2].split(","))
    if header != COLUMNS:
        raise InputError(f"{path}, line 3: expected columns {','.join(COLUMNS)}, got {lines[2]!r}")
    body = lines[3:]
    torn = bool(body) and not text.endswith("\n")
    if torn:
        body = body[:-1]
    acc_only = bool(meta_dict.get("accelerometer_only", False))
    data = _parse_rows(path, body)
    if not np.isfinite(data[:, :4]).all():
        bad = int(np.argmax(~np.isfinite(data[:, :4]).all(axis=1)))
        raise InputError(f"{path}, line {bad + 4}: time or acceleration is missing")
    steps = np.diff(data[:, 0])
    if (steps <= 0).any():
        bad = int(np.argmax(steps <= 0)) + 1
        raise InputError(f"{path}, line {bad + 4}: time {data[bad, 0]} s does not increase")
    gyro = None if acc_only else data[:, 4:7]
    if gyro is not None and not np.isfinite(gyro).all():
        bad = int(np.argmax(~np.isfinite(gyro).all(axis=1)))
        raise InputError(f"{path}, line {bad + 4}: gyroscope value missing (recording is not accelerometer-only)")
    known = {k: meta_dict.get(k) for k in ("device", "placement", "sample_rate_hz", "start_utc")}
    meta = RecordingMeta(
        format="backcheck",
        accelerometer_only=acc_only,
        notes=dict(meta_dict.get("notes") or {}),
        source_path=str(path),
        **known,
    )
    if torn:
        meta.decisions.append("the last line was incomplete (the recorder was stopped mid-write) and was dropped")
    return Recording(Samples(data[:, 0], data[:, 1:4], gyro), meta)


def _parse_rows(path: Path, body: list[str]) -> np.ndarray:
    """Rows of 7 numbers (empty cell = NaN): numpy's parser for full rows (no pandas import on a cold
    start), pandas' where cells are empty (accelerometer only), line by line to name a bad line."""
    if body:
        try:
            data = np.loadtxt(body, delimiter=",", ndmin=2)  # (the lines as they are: no copy of the text)
            if data.shape == (len(body), 7):
                return data
        except ValueError:
            pass
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO("\n".join(body)), header=None, names=COLUMNS, dtype=float,
                            engine="c", skip_blank_lines=False)
        if len(frame) == len(body):
            return frame.to_numpy()
    except (ValueError, pd.errors.ParserError):
        pass
    data = np.full((len(body), 7), np.nan)
    for i, line in enumerate(body):
        cells = line.split(",")
        if len(cells) != 7:
            raise InputError(f"{path}, line {i + 4}: expected 7 comma-separated values, got {len(cells)}")
        try:
            data[i] = [float(c) if c.strip() else np.nan for c in cells]
        except ValueError:
            raise InputError(f"{path}, line {i + 4}: expected numbers, got {line!r}") from None
    return data


def _open_text(path: Path) -> io.TextIOBase:
    """The file as text: gunzipped for a .gz name (any case), a byte-order mark (an editor's) skipped."""
    if path.suffix.lower() == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


class RecordingWriter:
    """Appends Samples blocks to a new recording file.

    Never overwrites an existing file unless `force`. Every `append` hands its lines to the
    operating system (so SIGKILL loses nothing already appended); an fsync follows at most every
    `fsync_interval_s` of wall time so a power cut loses at most about that much.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        meta: RecordingMeta,
        *,
        force: bool = False,
        fsync_interval_s: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.suffix.lower() == ".gz":
            raise InputError(f"{self.path}: live recordings are written uncompressed; use a .csv name")
        try:
            self._file = open(self.path, "w" if force else "x", encoding="utf-8", newline="\n")
        except FileExistsError:
            raise OverwriteError(self.path) from None
        self._fsync_interval_s = fsync_interval_s
        self._last_fsync = time.monotonic()
        self._last_t: float | None = None
        self.accelerometer_only = meta.accelerometer_only
        header = {
            k: v
            for k, v in asdict(meta).items()
            if k not in ("format", "source_path", "decisions")
        }
        header["units"] = UNITS
        self._file.write(f"{MAGIC}\n# {json.dumps(header, allow_nan=False)}\n{','.join(COLUMNS)}\n")
        self._sync(force_fsync=True)

    def append(self, block: Samples) -> None:
        """Append a block; samples at or before the last written time are skipped (duplicates)."""
        if not len(block):
            return
        if self._last_t is not None:
            block = block[int(np.searchsorted(block.t, self._last_t, side="right")) :]
            if not len(block):
                return
        cols = [block.t[:, None], block.acc]
        if self.accelerometer_only or block.gyro is None:
            cols.append(np.full((len(block), 3), np.nan))
        else:
            cols.append(block.gyro)
        rows = np.hstack(cols)
        buf = io.StringIO()
        np.savetxt(buf, rows, fmt=["%.6f"] + ["%.6g"] * 6, delimiter=",")
        self._file.write(buf.getvalue().replace("nan", ""))
        self._last_t = float(block.t[-1])
        self._sync()

    def _sync(self, force_fsync: bool = False) -> None:
        self._file.flush()
        now = time.monotonic()
        if force_fsync or now - self._last_fsync >= self._fsync_interval_s:
            os.fsync(self._file.fileno())
            self._last_fsync = now

    def close(self) -> None:
        if not self._file.closed:
            self._sync(force_fsync=True)
            self._file.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_recording(
    path: str | os.PathLike, recording: Recording, *, force: bool = False
) -> Path:
    """Write a whole recording in the project's format (what `backcheck convert` does)."""
    with RecordingWriter(path, recording.meta, force=force) as writer:
        writer.append(recording.samples)
    return writer.path
