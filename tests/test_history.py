"""The session history survives concurrent writers, a writer killed mid-transaction and a database
from schema version 1, and stores each recording once."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import signal
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import all_flags, make_session

from analysis.samples import Samples
from sensor import history
from sensor.errors import InputError
from sensor.history import History
from sensor.recording import Recording, RecordingMeta, write_recording

WRITES_PER_PROCESS = 12


def _variant(key: str, start_utc: str = "2026-03-02T18:30:00Z"):
    """The fixture session as a different recording (its own hash and start time)."""
    report, _ = make_session()
    rec = dataclasses.replace(report.recording, notes={"recording_sha256": key, "start_utc": start_utc})
    return dataclasses.replace(report, recording=rec)


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_store_query_and_filters(tmp_path):
    db = tmp_path / "h.sqlite3"
    with History(db) as h:
        assert h.version == history.SCHEMA_VERSION == 2
        h.store_session(_variant("a", "2026-03-02T18:30:00Z"))
        h.store_session(_variant("b", "2026-03-09T07:00:00+01:00"))
        rows = h.sessions()
        assert [(r.started_utc, r.n_sets, r.n_reps, r.n_flagged) for r in rows] == [
            ("2026-03-02T18:30:00Z", 3, 21, 9), ("2026-03-09T06:00:00Z", 3, 21, 9)]
        assert rows[0].exercises == "deadlift,bent-over-row,rdl"
        assert len(h.sessions(exercise="rdl")) == 2 and h.sessions(exercise="squat") == []
        assert [r.started_utc[:10] for r in h.sessions(since=date(2026, 3, 3))] == ["2026-03-09"]
        assert [r.started_utc[:10] for r in h.sessions(until=date(2026, 3, 2))] == ["2026-03-02"]
        reps = h.rep_table(exercise="bent-over-row")
        assert len(reps) == 16 and set(reps["exercise_guessed"]) == {True}
        assert list(reps["flags"][reps["flags"] != ""]) == ["momentum", "twist", "partial"] * 2
    assert _count(db, "flags") == 2 * len(all_flags(_variant("x")))


def test_same_recording_twice_is_one_session(tmp_path):
    db = tmp_path / "h.sqlite3"
    report, _ = make_session()
    with History(db) as h:
        first = h.store_session(report)
        assert h.store_session(report) == first
        assert len(h.sessions()) == 1 and len(h.rep_table()) == 21
    # without a hash in the report: the recording's samples identify it, whatever the file is called
    t = np.arange(0, 2, 0.01)
    samples = Samples(t, np.column_stack([np.sin(t), np.cos(t), np.full_like(t, 9.8)]), np.zeros((t.size, 3)))
    for name in ("one.csv", "copy.csv"):
        write_recording(tmp_path / name, Recording(samples, RecordingMeta(format="backcheck")))
    bare = dataclasses.replace(report, recording=dataclasses.replace(report.recording, notes={}))
    with History(db) as h:
        a = h.store_session(bare, tmp_path / "one.csv")
        b = h.store_session(bare, tmp_path / "copy.csv")
        assert a == b != first
        assert [r.source for r in h.sessions()] == [report.recording.path, str(tmp_path / "copy.csv")]


def _writer(db: str, prefix: str, barrier) -> None:
    barrier.wait()
    with History(db) as h:
        for i in range(WRITES_PER_PROCESS):
            h.store_session(_variant(f"{prefix}-{i}"))


def test_concurrent_writers_in_two_processes(tmp_path):
    db = tmp_path / "new" / "h.sqlite3"  # created by the racing processes themselves
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(db), name, barrier)) for name in ("live", "analysis")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert _integrity(db) == "ok"
    with History(db) as h:
        keys = {json.loads(r)["recording"]["notes"]["recording_sha256"]
                for (r,) in h._conn.execute("SELECT report_json FROM sessions")}
        assert keys == {f"{p}-{i}" for p in ("live", "analysis") for i in range(WRITES_PER_PROCESS)}
        assert len(h.rep_table()) == 2 * WRITES_PER_PROCESS * 21


def _killed_writer(db: str, conn) -> None:
    original = history._insert_set

    def insert_then_stop(*args):
        original(*args)
        conn.send("inside the transaction")
        conn.recv()  # never answered: the parent kills this process here

    history._insert_set = insert_then_stop
    with History(db) as h:
        h.store_session(_variant("killed"))


def test_kill_mid_write_leaves_a_consistent_database(tmp_path):
    db = tmp_path / "h.sqlite3"
    with History(db) as h:
        h.store_session(_variant("before-1"))
        h.store_session(_variant("before-2"))
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_killed_writer, args=(str(db), child))
    proc.start()
    assert parent.poll(60), "the writer never reached its transaction"
    assert parent.recv() == "inside the transaction"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert proc.exitcode == -signal.SIGKILL
    assert (tmp_path / "h.sqlite3-wal").exists()
    assert _integrity(db) == "ok"
    with History(db, busy_timeout_s=5) as h:
        assert len(h.sessions()) == 2 and len(h.rep_table()) == 42
        assert _count(db, "sets") == 6  # nothing of the killed session's first set
        h.store_session(_variant("after"))  # the killed writer's lock is gone
        assert len(h.sessions()) == 3


def _make_v1(db: Path, report) -> None:
    """A database as version 1 of the schema wrote it."""
    conn = sqlite3.connect(db)
    for statement in history._statements(history.SCHEMA_V1):
        conn.execute(statement)
    conn.execute("INSERT INTO sessions VALUES (1, 'v1-key', '2026-02-01T10:00:00Z', '2026-02-01T11:00:00Z',"
                 " 'old.csv', ?, 0, ?)", (report.recording.duration_s, report.to_json(indent=None)))
    for s in report.sets:
        conn.execute("INSERT INTO sets VALUES (1, ?, ?, ?, ?, ?, ?, ?)", (s.index, s.exercise, s.pattern,
                     s.start_s, s.end_s, len(s.reps), sum(1 for r in s.reps if r.flags)))
        for r in s.reps:
            conn.execute(f"INSERT INTO reps VALUES (1, ?, ?, {', '.join('?' * 13)})",
                         (s.index, r.index, *(getattr(r, c) for c in history.REP_COLUMNS),
                          ",".join(f.kind for f in r.flags)))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_version_1_database_is_migrated_with_its_data(tmp_path):
    db = tmp_path / "old.sqlite3"
    report, _ = make_session()
    _make_v1(db, report)
    columns = [r[1] for r in sqlite3.connect(db).execute("PRAGMA table_info(sets)")]
    assert "exercise_guessed" not in columns
    with History(db) as h:
        assert h.version == 2
        (row,) = h.sessions()
        assert (row.started_utc, row.source, row.n_reps, row.n_flagged) == (
            "2026-02-01T10:00:00Z", "old.csv", 21, 9)
        guessed = h._conn.execute("SELECT set_index, exercise_guessed FROM sets ORDER BY set_index")
        assert guessed.fetchall() == [(1, 0), (2, 1), (3, 0)]
        flags = h._conn.execute("SELECT kind, t_s, value, threshold, unit, message FROM flags"
                                " ORDER BY set_index, rep_index, rowid").fetchall()
        assert flags == [(f.kind, f.t_s, f.value, f.threshold, f.unit, f.message) for f in all_flags(report)]
        reps = h.rep_table()
        np.testing.assert_allclose(reps["peak_flexion_deg"], [r.peak_flexion_deg for _, r in report.reps])
        h.store_session(_variant("new"))
        assert len(h.sessions()) == 2
    assert _integrity(db) == "ok"


def test_newer_schema_and_not_a_database_are_refused(tmp_path):
    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 7")
    with pytest.raises(InputError, match=r"newer.sqlite3: history schema version 7 is newer than this"):
        History(newer)
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not a database, just text\n" * 100)
    with pytest.raises(InputError, match=r"junk.sqlite3: not a usable backcheck history database"):
        History(junk)


def test_trend_over_weeks_and_exports(tmp_path):
    db = tmp_path / "h.sqlite3"
    with History(db) as h:
        for i, day in enumerate(("2026-03-02", "2026-03-04", "2026-03-10", "2026-03-17")):
            h.store_session(_variant(f"s{i}"), started_utc=datetime.fromisoformat(day).replace(tzinfo=UTC))
        weeks = h.trend("rdl")
        assert list(weeks["week"]) == ["2026-W10", "2026-W11", "2026-W12"]
        assert list(weeks["sessions"]) == [2, 1, 1] and list(weeks["sets"]) == [2, 1, 1]
        assert list(weeks["reps_per_set"]) == [7, 7, 7] and list(weeks["flagged_per_set"]) == [3, 3, 3]
        rdl = [r for s in make_session()[0].sets if s.exercise == "rdl" for r in s.reps]
        assert weeks["peak_flexion_deg"].iloc[0] == pytest.approx(np.mean([r.peak_flexion_deg for r in rdl]))
        assert weeks["eccentric_s"].iloc[0] == pytest.approx(np.mean([r.eccentric_s for r in rdl]))
        assert h.trend("squat").empty
        assert h.export_csv(tmp_path / "reps.csv", exercise="deadlift") == 4 * 6
        assert h.export_parquet(tmp_path / "reps.parquet") == 4 * 21
    csv = pd.read_csv(tmp_path / "reps.csv", keep_default_na=False)
    parquet = pd.read_parquet(tmp_path / "reps.parquet")
    assert list(csv.columns) == list(parquet.columns)
    assert {"started_utc", "exercise", "rep_index", "tempo", "peak_flexion_deg", "flags"} <= set(csv.columns)
    assert set(csv["exercise"]) == {"deadlift"}
    assert parquet["peak_velocity_dps"].dtype == np.float64 and len(parquet) == 84


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(history.ENV_VAR, str(tmp_path / "mine.sqlite3"))
    assert history.default_path() == tmp_path / "mine.sqlite3"
    assert history.store_session(_variant("env")) == 1
    assert (tmp_path / "mine.sqlite3").exists()
    monkeypatch.delenv(history.ENV_VAR)
    assert history.default_path() == Path("~/.local/share/backcheck/history.sqlite3").expanduser()


def test_backcheck_history_command(tmp_path, capsys):
    from sensor.cli import main

    db = tmp_path / "h.sqlite3"
    assert main(["history", "--db", str(db)]) == 0
    assert "No history yet" in capsys.readouterr().out
    with History(db) as h:
        h.store_session(_variant("a", "2026-03-02T18:30:00Z"))
        h.store_session(_variant("b", "2026-03-16T18:30:00Z"))
    assert main(["history", "--db", str(db), "--since", "2026-03-10"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:8] == ["2", "2026-03-16", "18:30", "4:50", "3", "21", "9", "deadlift,"]
    assert out[-1] == "1 session, 21 reps, 9 flagged"
    assert main(["history", "--db", str(db), "--exercise", "squat"]) == 0
    assert capsys.readouterr().out.strip() == "No sessions match."
    png = tmp_path / "trend.png"
    assert main(["history", "--db", str(db), "--trend", "deadlift", "--out", str(png)]) == 0
    out = capsys.readouterr().out
    assert png.read_bytes()[:4] == b"\x89PNG" and "2026-W10" in out and "2026-W12" in out
    assert main(["history", "--db", str(db), "--trend", "deadlift", "--out", str(png)]) == 4  # no --force
    assert main(["history", "--db", str(db), "--trend", "squat", "--out", str(tmp_path / "s.png")]) == 3
    err = capsys.readouterr().err
    assert "no reps of 'squat' stored (stored exercises: bent-over-row, deadlift, rdl)" in err
    csv = tmp_path / "reps.csv"
    assert main(["history", "--db", str(db), "--exercise", "rdl", "--export-csv", str(csv)]) == 0
    assert len(pd.read_csv(csv)) == 14
    with pytest.raises(SystemExit) as exit_info:
        main(["history", "--db", str(db), "--since", "March"])
    assert exit_info.value.code == 2
