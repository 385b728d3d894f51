"""Session history in a local SQLite database: every analysed or live session, its sets and reps.

- Path: `BACKCHECK_HISTORY` if set, else ``~/.local/share/backcheck/history.sqlite3``.
- Idempotent: a session is keyed by the SHA-256 of its recording (the report's
  ``recording.notes["recording_sha256"]``, else the samples of the recording file, else the file's
  bytes, else the report itself); storing it again replaces it.
- Versioned with ``PRAGMA user_version``; a new database is created at version 1 and migrated like an
  old one, so the migrations always run. v2 adds ``sets.exercise_guessed`` and a ``flags`` table,
  both back-filled from the stored report JSON.
- Safe with several writers (a live session and an analysis at once): WAL journal, a busy timeout and
  one ``BEGIN IMMEDIATE`` transaction per session, so a killed writer leaves no half-stored session.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from analysis.report import SessionReport, SetReport, report_from_dict
from analysis.samples import Samples
from sensor.errors import InputError

ENV_VAR = "BACKCHECK_HISTORY"
DEFAULT_PATH = "~/.local/share/backcheck/history.sqlite3"
SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 30.0

SCHEMA_V1 = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    recording_sha256 TEXT NOT NULL UNIQUE,
    started_utc TEXT NOT NULL,  -- ISO 8601, 'YYYY-MM-DDTHH:MM:SSZ'
    stored_utc TEXT NOT NULL,
    source TEXT,
    duration_s REAL NOT NULL,
    accelerometer_only INTEGER NOT NULL,
    report_json TEXT NOT NULL
);
CREATE INDEX sessions_started ON sessions (started_utc);
CREATE TABLE sets (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    set_index INTEGER NOT NULL,
    exercise TEXT NOT NULL,
    pattern TEXT NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    n_reps INTEGER NOT NULL,
    n_flagged INTEGER NOT NULL,
    PRIMARY KEY (session_id, set_index)
);
CREATE INDEX sets_exercise ON sets (exercise);
CREATE TABLE reps (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    set_index INTEGER NOT NULL,
    rep_index INTEGER NOT NULL,
    start_s REAL, turn_s REAL, end_s REAL,
    eccentric_s REAL, pause_bottom_s REAL, concentric_s REAL, pause_top_s REAL,
    tempo TEXT,
    peak_flexion_deg REAL, rom_deg REAL, peak_velocity_dps REAL, sway_deg REAL,
    flags TEXT NOT NULL,  -- flag kinds, comma-separated
    PRIMARY KEY (session_id, set_index, rep_index)
)
"""

SCHEMA_V2 = """
ALTER TABLE sets ADD COLUMN exercise_guessed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE flags (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    set_index INTEGER NOT NULL,
    rep_index INTEGER NOT NULL,
    kind TEXT NOT NULL,
    t_s REAL NOT NULL,
    value REAL, threshold REAL, unit TEXT, message TEXT
);
CREATE INDEX flags_session ON flags (session_id)
"""

REP_COLUMNS = ("start_s", "turn_s", "end_s", "eccentric_s", "pause_bottom_s", "concentric_s", "pause_top_s",
               "tempo", "peak_flexion_deg", "rom_deg", "peak_velocity_dps", "sway_deg")


def default_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH).expanduser()


def samples_sha256(samples: Samples) -> str:
    """SHA-256 of the samples themselves (float64 t, acc, gyro), independent of the file format."""
    h = hashlib.sha256()
    for a in (samples.t, samples.acc, samples.gyro):
        h.update(b"none" if a is None else a.astype("<f8").tobytes())
    return h.hexdigest()


def recording_key(report: SessionReport, recording_path: str | os.PathLike | None = None) -> str:
    """The session's identity: see the module docstring for the order of sources."""
    notes = report.recording.notes
    if notes.get("recording_sha256"):
        return str(notes["recording_sha256"])
    if recording_path is not None:
        from sensor.recording import is_backcheck_recording, read_recording

        path = Path(recording_path)
        if is_backcheck_recording(path):
            return samples_sha256(read_recording(path).samples)
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as err:
            raise InputError(f"{path}: cannot read the recording to identify it ({err.strerror})") from None
    return hashlib.sha256(json.dumps(report.to_dict(), sort_keys=True).encode()).hexdigest()


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _started(report: SessionReport, recording_path: str | os.PathLike | None) -> str:
    start = report.recording.notes.get("start_utc")
    if start:
        try:
            return _iso(datetime.fromisoformat(str(start).replace("Z", "+00:00")))
        except ValueError:
            pass
    if recording_path is not None and Path(recording_path).exists():
        return _iso(datetime.fromtimestamp(Path(recording_path).stat().st_mtime, UTC))
    return _iso(datetime.now(UTC))


@dataclass(frozen=True)
class SessionRow:
    id: int
    started_utc: str
    source: str | None
    duration_s: float
    exercises: str  # comma-separated, in set order
    n_sets: int
    n_reps: int
    n_flagged: int


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _insert_set(conn: sqlite3.Connection, session_id: int, s: SetReport) -> None:
    flagged = sum(1 for r in s.reps if r.flags)
    conn.execute("INSERT INTO sets (session_id, set_index, exercise, pattern, start_s, end_s, n_reps,"
                 " n_flagged, exercise_guessed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (session_id, s.index, s.exercise, s.pattern, s.start_s, s.end_s, len(s.reps), flagged,
                  int(s.exercise_guessed)))
    marks = ", ".join("?" * (len(REP_COLUMNS) + 4))
    conn.executemany(f"INSERT INTO reps (session_id, set_index, rep_index, {', '.join(REP_COLUMNS)}, flags) "
                     f"VALUES ({marks})",
                     [(session_id, s.index, r.index, *(getattr(r, c) for c in REP_COLUMNS),
                       ",".join(f.kind for f in r.flags)) for r in s.reps])
    conn.executemany("INSERT INTO flags VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [(session_id, s.index, r.index, f.kind, f.t_s, f.value, f.threshold, f.unit, f.message)
                      for r in s.reps for f in r.flags])


def _migrate_v1_to_v2(conn: sqlite3.Connection) -> None:
    for statement in _statements(SCHEMA_V2):
        conn.execute(statement)
    for session_id, text in conn.execute("SELECT id, report_json FROM sessions").fetchall():
        report = report_from_dict(json.loads(text))
        for s in report.sets:
            conn.execute("UPDATE sets SET exercise_guessed = ? WHERE session_id = ? AND set_index = ?",
                         (int(s.exercise_guessed), session_id, s.index))
            conn.executemany("INSERT INTO flags VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             [(session_id, s.index, r.index, f.kind, f.t_s, f.value, f.threshold, f.unit,
                               f.message) for r in s.reps for f in r.flags])


MIGRATIONS = {2: _migrate_v1_to_v2}  # target version -> step from the version before


def _while_locked(step: Callable[[], object], timeout_s: float) -> None:
    """Run `step`, again while another process holds the lock it needs, for up to timeout_s.

    Switching a new database to WAL (and creating its schema) can meet SQLITE_BUSY without SQLite's
    busy handler waiting, when two processes open the same new file at once.
    """
    deadline = time.monotonic() + timeout_s
    pause_s = 0.005
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as err:
            if ("locked" not in str(err) and "busy" not in str(err)) or time.monotonic() > deadline:
                raise
        time.sleep(pause_s)  # back off: the other process is between statements of its set-up
        pause_s = min(2 * pause_s, 0.2)


class History:
    """The history database; open it, store sessions, query them. Use as a context manager."""

    def __init__(self, path: str | os.PathLike | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S):
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            _while_locked(lambda: self._conn.execute("PRAGMA journal_mode = WAL"), busy_timeout_s)
            self._conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: safe against a killed process
            self._conn.execute("PRAGMA foreign_keys = ON")
            _while_locked(self._migrate, busy_timeout_s)
        except sqlite3.DatabaseError as err:
            raise InputError(f"{self.path}: not a usable backcheck history database ({err})") from None

    @property
    def version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock up front (waits up to the busy
        timeout), so concurrent writers queue instead of failing on a lock upgrade."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        if self.version == SCHEMA_VERSION:
            return
        with self._write() as conn:  # version read again under the lock: another process may have won
            version = self.version
            if version > SCHEMA_VERSION:
                raise InputError(f"{self.path}: history schema version {version} is newer than this "
                                 f"backcheck understands ({SCHEMA_VERSION}); upgrade backcheck")
            if version == 0:
                for statement in _statements(SCHEMA_V1):
                    conn.execute(statement)
                version = 1
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def store_session(self, report: SessionReport, recording_path: str | os.PathLike | None = None, *,
                      started_utc: datetime | None = None) -> int:
        """Store (or replace) a session; returns its id. All of it or nothing is written."""
        key = recording_key(report, recording_path)
        started = _iso(started_utc) if started_utc else _started(report, recording_path)
        source = str(recording_path) if recording_path is not None else report.recording.path
        with self._write() as conn:
            (session_id,) = conn.execute(
                "INSERT INTO sessions (recording_sha256, started_utc, stored_utc, source, duration_s,"
                " accelerometer_only, report_json) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (recording_sha256) DO UPDATE SET started_utc = excluded.started_utc,"
                " stored_utc = excluded.stored_utc, source = excluded.source,"
                " duration_s = excluded.duration_s, accelerometer_only = excluded.accelerometer_only,"
                " report_json = excluded.report_json"
                " RETURNING id",
                (key, started, _iso(datetime.now(UTC)), source, report.recording.duration_s,
                 int(report.recording.accelerometer_only), report.to_json(indent=None))).fetchone()
            for table in ("flags", "reps", "sets"):
                conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            for s in report.sets:
                _insert_set(conn, session_id, s)
        return int(session_id)

    def _where(self, exercise: str | None, since: date | None, until: date | None) -> tuple[str, list]:
        clauses, args = ["1"], []
        if exercise:
            clauses.append("EXISTS (SELECT 1 FROM sets x WHERE x.session_id = s.id AND x.exercise = ?)")
            args.append(exercise)
        if since:
            clauses.append("s.started_utc >= ?")
            args.append(since.isoformat())
        if until:
            clauses.append("s.started_utc < ?")
            args.append((until + timedelta(days=1)).isoformat())
        return " AND ".join(clauses), args

    def sessions(self, exercise: str | None = None, since: date | None = None,
                 until: date | None = None) -> list[SessionRow]:
        """Sessions, oldest first; `exercise` keeps sessions with a set of it; dates are inclusive (UTC)."""
        where, args = self._where(exercise, since, until)
        rows = self._conn.execute(
            "SELECT s.id, s.started_utc, s.source, s.duration_s,"
            " COALESCE((SELECT group_concat(exercise, ',') FROM (SELECT exercise FROM sets"
            "   WHERE session_id = s.id ORDER BY set_index)), ''),"
            " (SELECT count(*) FROM sets WHERE session_id = s.id),"
            " (SELECT coalesce(sum(n_reps), 0) FROM sets WHERE session_id = s.id),"
            " (SELECT coalesce(sum(n_flagged), 0) FROM sets WHERE session_id = s.id)"
            f" FROM sessions s WHERE {where} ORDER BY s.started_utc, s.id", args).fetchall()
        return [SessionRow(*row) for row in rows]

    def rep_table(self, exercise: str | None = None, since: date | None = None,
                  until: date | None = None) -> Any:
        """Every rep as a pandas DataFrame row, with its session and set."""
        import pandas as pd

        where, args = self._where(None, since, until)
        if exercise:
            where += " AND t.exercise = ?"
            args.append(exercise)
        query = (f"SELECT s.id AS session_id, s.started_utc, s.source, r.set_index, t.exercise,"
                 f" t.exercise_guessed, t.pattern, r.rep_index, {', '.join('r.' + c for c in REP_COLUMNS)},"
                 " r.flags FROM reps r JOIN sets t USING (session_id, set_index)"
                 f" JOIN sessions s ON s.id = r.session_id WHERE {where}"
                 " ORDER BY s.started_utc, s.id, r.set_index, r.rep_index")
        table = pd.read_sql_query(query, self._conn, params=args)
        table["exercise_guessed"] = table["exercise_guessed"].astype(bool)
        return table

    def trend(self, exercise: str) -> Any:
        """Per ISO week: sessions, sets, reps and flagged reps per set, mean peak flexion, mean phases."""
        import pandas as pd

        reps = self.rep_table(exercise)
        if reps.empty:
            return pd.DataFrame()
        started = pd.to_datetime(reps["started_utc"], utc=True)
        iso = started.dt.isocalendar()
        reps["week"] = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
        reps["flagged"] = reps["flags"] != ""
        per_set = reps.groupby(["week", "session_id", "set_index"]).agg(reps=("rep_index", "size"),
                                                                         flagged=("flagged", "sum"))
        weeks = per_set.groupby("week").agg(sets=("reps", "size"), reps_per_set=("reps", "mean"),
                                            flagged_per_set=("flagged", "mean"))
        weeks["sessions"] = reps.groupby("week")["session_id"].nunique()
        means = reps.groupby("week")[["peak_flexion_deg", "eccentric_s", "pause_bottom_s", "concentric_s",
                                      "pause_top_s"]].mean()
        return weeks.join(means).reset_index()

    def export_csv(self, path: str | os.PathLike, **filters: Any) -> int:
        """Write the rep table as CSV; returns the number of rows."""
        table = self.rep_table(**filters)
        table.to_csv(path, index=False)
        return len(table)

    def export_parquet(self, path: str | os.PathLike, **filters: Any) -> int:
        """Write the rep table as Parquet (pyarrow); returns the number of rows."""
        table = self.rep_table(**filters)
        table.to_parquet(path, index=False, engine="pyarrow")
        return len(table)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def store_session(report: SessionReport, recording_path: str | os.PathLike | None = None, *,
                  db_path: str | os.PathLike | None = None) -> int:
    """Store one session in the history at `db_path` (default: see `default_path`); returns its id."""
    with History(db_path) as history:
        return history.store_session(report, recording_path)
