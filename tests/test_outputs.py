"""Where the commands write: a folder or file that cannot be written is one sentence (exit 3) before any
work; nothing of the user's is written over without --force; --force leaves no stale outputs behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sensor.cli import main
from sensor.cmd_analyze import analyze_recording
from sensor.errors import EXIT_BAD_INPUT, EXIT_WOULD_OVERWRITE
from sensor.history import History
from sensor.recording import read_recording, write_recording

DEMO = Path(__file__).resolve().parents[1] / "recordings" / "demo_deadlift.csv"


def _analyze(out: Path, *extra: str, recording: Path = DEMO) -> int:
    return main(["analyze", str(recording), "--out", str(out), "--no-history", "--quiet", *extra])


@pytest.fixture
def first_set(tmp_path) -> Path:
    """The demo recording cut after its first set (one set plot instead of three)."""
    rec = read_recording(DEMO)
    path = tmp_path / "first_set.csv"
    write_recording(path, type(rec)(rec.samples[: int(50 * rec.meta.sample_rate_hz)], rec.meta))
    return path


def test_out_that_is_a_file_or_under_one_is_one_sentence(tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert _analyze(a_file) == EXIT_BAD_INPUT
    assert f"{a_file}: exists and is not a folder" in capsys.readouterr().err
    assert _analyze(a_file / "sub") == EXIT_BAD_INPUT
    assert f"{a_file / 'sub'}: cannot create this folder" in capsys.readouterr().err
    assert main(["convert", str(DEMO), str(a_file / "x.csv")]) == EXIT_BAD_INPUT
    assert f"{a_file}: exists and is not a folder" in capsys.readouterr().err
    assert a_file.read_text() == "mine"


def test_users_files_in_the_out_folder_need_force(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "trace.csv").write_text("my own trace")
    assert _analyze(out, "--no-plots") == EXIT_WOULD_OVERWRITE
    assert f"{out / 'trace.csv'} already exists; pass --force" in capsys.readouterr().err
    assert (out / "trace.csv").read_text() == "my own trace"


def test_force_leaves_no_outputs_of_the_last_analysis(tmp_path, first_set):
    out = tmp_path / "out"
    assert _analyze(out, "--html") == 0
    assert sorted(p.name for p in out.glob("set-*.png")) == ["set-1.png", "set-2.png", "set-3.png"]
    assert _analyze(out, "--force", recording=first_set) == 0
    assert sorted(p.name for p in out.glob("set-*.png")) == ["set-1.png"]
    assert not (out / "report.html").exists()  # (not asked for this time: the old one would not match)


def test_convert_out_must_be_a_recording_file_name(tmp_path, capsys):
    assert main(["convert", str(DEMO), str(tmp_path / "out.json")]) == EXIT_BAD_INPUT
    assert "out.json: expected a file name ending in .csv or .csv.gz" in capsys.readouterr().err
    (tmp_path / "folder.csv").mkdir()
    assert main(["convert", str(DEMO), str(tmp_path / "folder.csv"), "--force"]) == EXIT_BAD_INPUT
    assert "folder.csv: is a folder" in capsys.readouterr().err


def test_history_trend_png_is_named_and_guarded_as_written(tmp_path, capsys):
    db = tmp_path / "h.sqlite3"
    with History(db) as h:
        h.store_session(analyze_recording(DEMO, history=False), DEMO)
    mine = tmp_path / "trend.png"
    mine.write_bytes(b"my picture")
    assert main(["history", "--db", str(db), "--trend", "deadlift", "--out", str(tmp_path / "trend")]) == (
        EXIT_WOULD_OVERWRITE)
    assert mine.read_bytes() == b"my picture"
    capsys.readouterr()
    assert main(["history", "--db", str(db), "--trend", "deadlift", "--out", str(tmp_path / "weeks")]) == 0
    assert f"trend plot: {tmp_path / 'weeks.png'}" in capsys.readouterr().out
    assert (tmp_path / "weeks.png").read_bytes()[:4] == b"\x89PNG"


def test_report_out_that_is_a_file(tmp_path, capsys):
    assert _analyze(tmp_path / "a", "--no-plots") == 0
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert main(["report", str(tmp_path / "a"), "--out", str(a_file)]) == EXIT_BAD_INPUT
    assert f"{a_file}: exists and is not a folder" in capsys.readouterr().err


def test_jobs_choose_the_processes_drawing_the_plots(tmp_path, monkeypatch, capsys):
    """`--jobs N` on analyze and report; without it, as many as pay off (`analysis.plots.drawing_workers`:
    none for the demo's 4 figures); 0 is refused in one sentence."""
    from analysis import plots

    asked = []
    monkeypatch.setattr(plots, "write_plots", lambda report, trace, out, workers=1: asked.append(workers) or {})
    assert _analyze(tmp_path / "a") == 0
    assert _analyze(tmp_path / "b", "--jobs", "3") == 0
    assert main(["report", str(tmp_path / "b"), "--jobs", "2"]) == 0
    assert asked == [1, 3, 2]
    with pytest.raises(SystemExit):
        _analyze(tmp_path / "c", "--jobs", "0")
    assert "--jobs: expected a whole number from 1, got '0'" in capsys.readouterr().err


def test_exercise_names_in_any_case_and_unknown_ones_in_notes_are_said(tmp_path, capsys):
    """`--exercise "Trap Bar Deadlift"` (or RDL) is the name backcheck knows (it was refused, though a recording's
    notes were read in any case); an exercise the notes name that backcheck does not know is said, not dropped
    silently (the summary said only that no exercise was given)."""
    assert _analyze(tmp_path / "a", "--exercise", "Trap Bar Deadlift", "--no-plots") == 0
    assert json.loads((tmp_path / "a" / "report.json").read_text())["sets"][0]["exercise"] == "trap-bar-deadlift"
    rec = read_recording(DEMO)
    rec.meta.notes["exercise"] = "Bench Press"
    write_recording(tmp_path / "bench.csv", rec)
    report = analyze_recording(tmp_path / "bench.csv", out_dir=tmp_path / "b", plots=False, history=False)
    assert report.settings["exercise"] is None
    assert any("notes name 'Bench Press', which backcheck does not know" in d
               for d in report.recording.notes["import_decisions"])


def test_a_recording_begun_at_the_bar_is_analysed_again_from_standing(tmp_path):
    """Begun in a deadlift's set-up (no standing first: seed 6), the causal pass measures the first set from the
    bent pose and finds none of its 9 reps; it finds standing at 45.7 s, and `backcheck analyze` analyses the
    whole recording again from that pose: all 9 found, their peaks 0.7 deg off on average, and a note says so.
    A recording begun standing is analysed once (the demo: no such note)."""
    from analysis.evaluate import match_reps
    from sensor.simulator import random_session_spec, simulate_session

    rec, truth = simulate_session(random_session_spec(6, exercise="deadlift", start_still_s=0.0, sets=2))
    write_recording(tmp_path / "bar.csv", rec)
    report = analyze_recording(tmp_path / "bar.csv", out_dir=None, plots=False, history=False)
    assert any("analysed again" in note and "45.7 s" in note for note in report.notes)
    first = truth.sets[0].reps
    found = [r for s in report.sets for r in s.reps if r.start_s < first[-1].end_s + 1.0]
    pairs = match_reps([(r.start_s, r.end_s) for r in found], [(r.start_s, r.end_s) for r in first])
    assert len(pairs) == len(first) == 9
    errors = [abs(found[i].peak_flexion_deg - first[j].peak_flexion_deg) for i, j, _ in pairs]
    assert sum(errors) / len(errors) < 1.0 and max(errors) < 2.5  # (measured 0.7 and 2.2: the first pull)
    demo = analyze_recording(DEMO, out_dir=None, plots=False, history=False)
    assert not any("analysed again" in note for note in demo.notes)
