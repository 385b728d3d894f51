"""Live sessions: source specs, replay pacing, cues, the display, and the session runner end to end."""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from fixtures_live import NotingSource

from analysis.analyzer import Analyzer
from analysis.events import FlagRaised, PostureUpdate, RepCompleted, SetDiscarded, SetEnded, SetStarted
from analysis.report import Flag, report_from_dict
from analysis.samples import Samples
from sensor.cli import main as cli_main
from sensor.errors import InputError, NotAvailableError, OverwriteError
from sensor.history import History
from sensor.live.cues import Cues, CueSettings
from sensor.live.display import LiveDisplay, angle_bar, set_summary_line
from sensor.live.session import LiveSession, dated_recording_path, run_source
from sensor.live.sources import RecordingSource, block_bounds, open_source
from sensor.recording import Recording, RecordingMeta, read_recording, write_recording
from sensor.source_notes import SourceNotes
from tests.report_fixtures import make_session


def _recording(n: int = 500, rate_hz: float = 100.0, gap_at: int | None = None) -> Recording:
    t = np.arange(n) / rate_hz
    if gap_at is not None:
        t[gap_at:] += 0.5  # 50 samples missing
    rng = np.random.default_rng(1)
    acc = np.array([0.0, 0.0, 9.81]) + rng.normal(0, 0.1, (n, 3))
    gyro = rng.normal(0, 0.01, (n, 3))
    meta = RecordingMeta(format="backcheck", device="test", sample_rate_hz=rate_hz)
    return Recording(Samples(t, acc, gyro), meta)


class FakeClock:
    """Host time that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay


async def _collect(source) -> list[Samples]:
    return [block async for block in source]


# --- source specs -------------------------------------------------------------------------------


def test_replay_spec_speed_and_path_with_at_sign(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "a@b.csv", _recording())
    assert open_source(f"replay:{path}@max").speed is None
    assert open_source(f"replay:{path}@4").speed == 4.0
    assert open_source(f"replay:{path}@0.5").speed == 0.5
    default = open_source(f"replay:{path}")
    assert default.speed == 1.0 and default.recording.meta.device == "test"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("tcp:1234", "unknown source"),
        ("replay:", "expected replay:PATH"),
        ("replay:x.csv@0", "speed must be a positive number"),
        ("sim:", "expected sim:EXERCISE"),
        ("sim:deadlift,speed", "expected key=value"),
        ("sim:deadlift,speed=fast", "speed must be a positive number"),
        ("sim:deadlift,seed=1.5", "seed must be an integer"),
    ],
)
def test_bad_specs_are_one_sentence_input_errors(spec: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        open_source(spec)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_missing_replay_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no-such.csv"):
        open_source(f"replay:{tmp_path / 'no-such.csv'}@max")


def test_plugin_kinds_dispatch_or_say_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    seen = {}
    fake_ble = types.ModuleType("sensor.ble")
    fake_ble.open_ble_source = lambda spec, **kw: seen.setdefault("ble", (spec, kw))
    monkeypatch.setitem(__import__("sys").modules, "sensor.ble", fake_ble)
    assert open_source("ble:witmotion@AA:BB", timeout_s=3) == ("witmotion@AA:BB", {"timeout_s": 3})
    fake_phone = types.ModuleType("sensor.phone")
    monkeypatch.setitem(__import__("sys").modules, "sensor.phone", fake_phone)
    with pytest.raises(NotAvailableError, match="phyphox:127.0.0.1"):
        open_source("phyphox:127.0.0.1")


# --- replay pacing ------------------------------------------------------------------------------


def test_block_bounds_cover_everything_in_windows() -> None:
    t = np.cumsum(np.random.default_rng(3).uniform(0.004, 0.016, 2000))
    bounds = block_bounds(t, 0.03)
    assert bounds[0][0] == 0 and bounds[-1][1] == t.size
    assert all(a1 == b0 for (_, a1), (b0, _) in zip(bounds[:-1], bounds[1:], strict=True))
    assert all(t[i1 - 1] - t[i0] < 0.03 for i0, i1 in bounds)


@pytest.mark.parametrize("speed", [1.0, 2.5])
def test_paced_replay_hands_each_block_out_when_its_last_sample_is_due(speed: float) -> None:
    rec = _recording(gap_at=200)
    fake = FakeClock()
    source = RecordingSource(rec, speed=speed, block_s=0.04, clock=fake.clock, sleep=fake.sleep)
    assert source.stats.gaps == 1 and source.stats.dropped_samples == 50

    async def run() -> list[tuple[float, Samples]]:
        return [(fake.now, block) async for block in source]

    out = asyncio.run(run())
    np.testing.assert_array_equal(np.concatenate([b.t for _, b in out]), rec.samples.t)
    for host_s, block in out:
        assert host_s == pytest.approx(100.0 + block.t[-1] / speed, abs=1e-9)


def test_max_speed_replay_never_waits() -> None:
    fake = FakeClock()
    source = RecordingSource(_recording(), speed=None, clock=fake.clock, sleep=fake.sleep)
    blocks = asyncio.run(_collect(source))
    assert sum(len(b) for b in blocks) == 500 and set(fake.sleeps) == {0.0}


# --- cues ---------------------------------------------------------------------------------------


def _flag_event(kind: str, t_s: float) -> FlagRaised:
    return FlagRaised(t_s, 1, 3, Flag(kind, t_s, 80.0, 75.0, "deg", f"{kind} flag"))


def _played_cues(settings: CueSettings, events) -> list[tuple[str, float]]:
    played = []
    cues = Cues(settings, play=lambda kind, word: played.append(kind) or "bell")
    fired = [cues.on_event(e) for e in events]
    assert [c.kind for c in fired if c] == played
    return [(c.kind, c.t_s) for c in fired if c]


def test_cue_cooldown_is_per_kind_in_data_time() -> None:
    events = [_flag_event("rounding", 10.0), _flag_event("rounding", 12.0), _flag_event("momentum", 12.5),
              _flag_event("rounding", 15.0), _flag_event("rounding", 15.5)]
    assert _played_cues(CueSettings(cooldown_s=5.0), events) == [
        ("rounding", 10.0), ("momentum", 12.5), ("rounding", 15.0)]
    assert len(_played_cues(CueSettings(cooldown_s=0.0), events)) == 5


def test_cue_sensitivity_and_quiet() -> None:
    kinds = ["rounding", "momentum", "partial", "fatigue"]
    events = [_flag_event(k, float(i) * 10) for i, k in enumerate(kinds)]
    assert [k for k, _ in _played_cues(CueSettings(sensitivity="low"), events)] == ["rounding"]
    assert [k for k, _ in _played_cues(CueSettings(sensitivity="medium"), events)] == ["rounding", "momentum"]
    assert len(_played_cues(CueSettings(sensitivity="high"), events)) == 4
    assert _played_cues(CueSettings(mode="off"), events) == []
    with pytest.raises(ValueError, match="sensitivity"):
        CueSettings(sensitivity="loud")


def test_bell_cue_writes_the_bell_character() -> None:
    out = io.StringIO()
    cues = Cues(CueSettings(mode="bell", rep_bell=True), terminal=out)
    rep = make_session()[0].sets[0].reps[0]
    assert cues.on_event(RepCompleted(5.0, 1, rep)).how == "bell"
    assert cues.on_event(_flag_event("rounding", 6.0)).how == "bell"
    assert out.getvalue() == "\a\a"


# --- display ------------------------------------------------------------------------------------


def test_angle_bar_marks_standing_and_fills_to_the_angle() -> None:
    assert angle_bar(0.0) == "[" + "." * 10 + "|" + "." * 29 + "]"
    bar = angle_bar(45.0)  # 3 deg per cell: 15 cells forward of the standing mark
    assert bar[1:-1].index("|") == 10 and bar.count("#") == 14 and bar[12:27] == "#" * 14 + "."
    assert angle_bar(-15.0).count("#") == 5
    assert angle_bar(500.0).count("#") == 29 and angle_bar(-500.0).count("#") == 10


def _events_for_a_set():
    report = make_session()[0]
    s = report.sets[0]
    flagged = next(r for r in s.reps if r.flags)
    events = [SetStarted(s.start_s, 1, s.exercise, False), PostureUpdate(s.start_s + 1, 47.0, 0.0, True)]
    events += [RepCompleted(r.end_s, 1, r) for r in s.reps if r.index <= flagged.index]
    events += [FlagRaised(flagged.flags[0].t_s, 1, flagged.index, flagged.flags[0])]
    events += [SetEnded(s.end_s, s)]
    return s, flagged, events


def test_line_mode_prints_each_event_once_with_its_data_time() -> None:
    s, flagged, events = _events_for_a_set()
    out = io.StringIO()
    display = LiveDisplay(out, tty=False)
    for e in events:
        display.on_event(e)
    lines = out.getvalue().splitlines()
    display.on_event(SetDiscarded(s.end_s + 30, 2))
    assert "\x1b" not in out.getvalue() and "set 2 was a single movement" in out.getvalue()
    assert re.fullmatch(r"\d\d:\d\d\.\d  set 1 started at \d\d:\d\d\.\d: " + s.exercise, lines[0])
    assert len([x for x in lines if " rep " in x and "  tempo " in x]) == flagged.index  # (rep lines, not flags)
    assert any(f"! set 1 rep {flagged.index} {flagged.flags[0].kind} at rep" in x for x in lines)
    assert lines[-1].endswith(set_summary_line(s)) and f"{len(s.reps)} reps" in lines[-1]


def test_tty_mode_redraws_the_status_block_in_place() -> None:
    s, flagged, events = _events_for_a_set()
    out = io.StringIO()
    display = LiveDisplay(out, tty=True, clock=lambda: 0.0)
    for e in events[:2]:
        display.on_event(e)
    status = display.status_lines()
    assert f"set 1 {s.exercise}" in status[0] and "+47 deg" in status[1] and angle_bar(47.0) in status[1]
    for e in events[2:]:
        display.on_event(e)
    text = out.getvalue()
    assert "\x1b[3A\r\x1b[J" in text  # cursor up over the 4-line block, erase below
    assert f"tempo {flagged.tempo}" in display.status_lines()[2]
    assert flagged.flags[0].kind in display.status_lines()[3]


# --- session pieces -----------------------------------------------------------------------------


def test_dated_recording_names_never_collide(tmp_path: Path) -> None:
    now = datetime(2026, 11, 22, 10, 31, 5)
    first = dated_recording_path(tmp_path, now)
    assert first.name == "live-2026-11-22T10-31-05.csv"
    first.write_text("taken")
    assert dated_recording_path(tmp_path, now).name == "live-2026-11-22T10-31-05-2.csv"


def test_session_refuses_to_overwrite_a_recording(tmp_path: Path) -> None:
    taken = tmp_path / "x.csv"
    taken.write_text("mine")
    with pytest.raises(OverwriteError, match="x.csv already exists; a live session never overwrites"):
        LiveSession(make_analyzer=None, record_path=taken)
    assert taken.read_text() == "mine"


def test_record_only_session_writes_every_sample(tmp_path: Path) -> None:
    rec = _recording(gap_at=200)
    source = RecordingSource(rec, speed=None)
    out = io.StringIO()
    display = LiveDisplay(out, tty=False)
    session = LiveSession(make_analyzer=None, record_path=tmp_path / "r.csv", display=display)
    why = asyncio.run(run_source(source, session))
    session.close()
    assert why == "the source ended"
    back = read_recording(tmp_path / "r.csv")
    np.testing.assert_allclose(back.samples.t, rec.samples.t, atol=1e-6)
    np.testing.assert_allclose(back.samples.acc, rec.samples.acc, rtol=1e-5)
    assert back.meta.device == "test" and "recording to" in out.getvalue()


def test_the_sources_own_events_are_shown_as_they_are_known(tmp_path: Path) -> None:
    """A source's notes (a lost link, a reconnect, a pause) appear in the live view when they happen, while
    no data comes (the source here yields nothing more until the view has shown the lost link), once each."""
    rec = _recording(n=300)
    shown = asyncio.Event()

    class Display(LiveDisplay):
        def log(self, text: str, *, t_s: float | None = None, colour: str = "") -> None:
            super().log(text, t_s=t_s, colour=colour)
            if text.startswith("source: lost"):
                shown.set()

    phone = NotingSource(rec, speed=None, block_s=0.5, first=("lost the connection to the phone; reconnecting",),
                         then=("reconnected after 2.0 s",), go_on=shown)

    async def main() -> str:
        return await asyncio.wait_for(run_source(phone, session), 20.0)

    out = io.StringIO()
    session = LiveSession(make_analyzer=None, record_path=None, display=Display(out, tty=False))
    assert asyncio.run(main()) == "the source ended"
    text = out.getvalue()
    assert text.count("source: lost the connection to the phone; reconnecting") == 1
    assert text.count("source: reconnected after 2.0 s") == 1


def test_every_waiter_for_a_source_note_is_woken() -> None:
    async def main() -> list[bool]:
        notes = SourceNotes()
        waiters = [asyncio.ensure_future(notes.wait_past(0)) for _ in range(3)]
        await asyncio.sleep(0)  # (they wait now)
        notes.append("lost the link")
        await asyncio.wait_for(asyncio.gather(*waiters), 10.0)
        return [w.done() for w in waiters]

    assert asyncio.run(main()) == [True, True, True]


def test_stop_event_ends_a_paced_session_and_closes_the_source(tmp_path: Path) -> None:
    source = RecordingSource(_recording(n=100_000), speed=1.0)
    stop = asyncio.Event()

    class StoppingSession(LiveSession):
        def feed(self, block: Samples) -> list:
            events = super().feed(block)
            if self.n_samples >= 10:  # what Ctrl-C's handler does, at a known point
                stop.set()
            return events

    session = StoppingSession(make_analyzer=None, record_path=tmp_path / "r.csv")
    assert asyncio.run(run_source(source, session, stop=stop)) == "stopped (Ctrl-C)"
    session.close()
    assert 10 <= len(read_recording(tmp_path / "r.csv").samples) < 100
    with pytest.raises(StopAsyncIteration):
        asyncio.run(source.__aiter__().__anext__())


# --- the real command in subprocesses (SIGINT, a pseudo-terminal) --------------------------------

SIM = "sim:deadlift,seed=4,sets=2,reps=6,start_still_s=3,faults=1:4:rounding"


def _backcheck(*args: str) -> list[str]:
    return [sys.executable, "-m", "sensor.cli", *args]


def test_ctrl_c_ends_cleanly_and_still_writes_the_report(tmp_path: Path) -> None:
    cmd = _backcheck("live", "--source", f"{SIM},speed=4", "--record", "s.csv", "--out", "report",
                     "--plain", "--quiet")
    env = {**os.environ, "BACKCHECK_HISTORY": str(tmp_path / "history.sqlite3")}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if re.match(r"\d\d:\d\d\.\d  set 1 rep 2 ", line):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    text = "".join(seen) + out
    assert "session ended: stopped (Ctrl-C)" in text and "Traceback" not in err
    assert re.search(r"^Set 1: deadlift.*\b[2-6] reps", text, re.M), text
    report = report_from_dict(json.loads((tmp_path / "report" / "report.json").read_text()))
    assert len(report.sets[0].reps) >= 2 and (tmp_path / "report" / "trace.csv").exists()
    back = read_recording(tmp_path / "s.csv")
    assert report.recording.duration_s == pytest.approx(back.samples.duration_s, abs=0.05)
    with History(tmp_path / "history.sqlite3") as history:
        (row,) = history.sessions()
    assert (row.n_sets, row.n_reps) == (len(report.sets), len(report.reps))


class Screen:
    """A small VT100 screen: printable text, CR, LF, BS, cursor up (CSI n A), erase below (CSI J),
    erase line (CSI K); colours (CSI ... m) and the bell are ignored. Rows grow without limit."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = [[]]
        self.row = self.col = 0

    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                m = re.compile(r"\x1b\[([0-9;]*)([A-Za-z])").match(text, i)
                assert m, f"unexpected escape sequence {text[i:i + 8]!r}"
                n = int(m.group(1) or 1) if m.group(2) == "A" else 0
                if m.group(2) == "A":
                    self.row = max(self.row - n, 0)
                elif m.group(2) == "J":
                    del self.rows[self.row + 1 :]
                    del self.rows[self.row][self.col :]
                elif m.group(2) == "K":
                    del self.rows[self.row][self.col :]
                i = m.end()
                continue
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.row += 1
                while len(self.rows) <= self.row:
                    self.rows.append([])
            elif ch == "\b":
                self.col = max(self.col - 1, 0)
            elif ch >= " ":
                line = self.rows[self.row]
                line.extend(" " * (self.col + 1 - len(line)))
                line[self.col] = ch
                self.col += 1
            i += 1

    def lines(self) -> list[str]:
        return ["".join(r).rstrip() for r in self.rows]


def test_live_view_on_a_pseudo_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    cmd = _backcheck("live", "--source", f"{SIM},speed=25", "--exercise", "deadlift", "--max-sets", "1",
                     "--no-record", "--quiet", "--no-history")
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    screen = Screen()
    screen.feed(b"".join(chunks).decode())
    lines = screen.lines()
    text = "\n".join(lines)
    assert sum(1 for x in lines if x.startswith("backcheck live")) == 1, text  # redrawn in place
    status = lines.index(next(x for x in lines if x.startswith("backcheck live")))
    assert re.search(r"reps 6$", lines[status]), text
    assert re.fullmatch(r"trunk +[-+]\d+ deg \[[.#|]{40}\]", lines[status + 1]), text
    assert lines[status + 2].startswith("last rep  tempo ")
    flag_logs = re.findall(r"! set 1 rep \d (.*)", text)
    assert lines[status + 3][len("flag  "):][:40] == flag_logs[-1][:40]  # the latest flag
    assert [int(m.group(1)) for m in re.finditer(r"set 1 rep (\d) +tempo", text)] == [1, 2, 3, 4, 5, 6]
    assert re.search(r"^\d\d:\d\d\.\d  ! set 1 rep 4 rounding at rep 4: \w", text, re.M)
    assert re.search(r"set 1 done: deadlift, 6 reps", text)
    assert re.search(r"^Set 1: deadlift, 6 reps", text, re.M)  # the report's summary follows
    assert "session ended: 1 set done" in text


def test_record_command_stops_after_duration_with_the_simulators_samples(tmp_path: Path) -> None:
    spec = "sim:rdl,seed=2,sets=1,reps=4,speed=max"
    out = str(tmp_path / "r.csv")
    assert cli_main(["record", "--source", spec, "--record", out, "--duration", "12"]) == 0
    back = read_recording(tmp_path / "r.csv").samples
    expected = open_source(spec).recording.samples
    assert 12.0 <= back.t[-1] - back.t[0] < 12.1
    np.testing.assert_allclose(back.acc, expected.acc[: len(back)], rtol=1e-5, atol=1e-5)


def test_replay_command_reports_what_the_analyzer_finds_in_the_whole_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = open_source("sim:squat,seed=9,sets=2,reps=5,faults=1:4:rounding,speed=max")
    path = write_recording(tmp_path / "squat.csv", source.recording)
    assert cli_main(["replay", str(path), "--speed", "max", "--exercise", "squat", "--plain", "--quiet",
                     "--out", str(tmp_path / "out")]) == 0
    live = report_from_dict(json.loads((tmp_path / "out" / "report.json").read_text()))
    whole = Analyzer(exercise="squat")
    whole.push(read_recording(path).samples)
    batch = whole.finish()
    assert [len(s.reps) for s in live.sets] == [len(s.reps) for s in batch.sets] == [5, 5]
    assert [r.end_s for _, r in live.reps] == pytest.approx([r.end_s for _, r in batch.reps], abs=1e-9)
    out = capsys.readouterr().out
    assert "set 1 rep 5" in out and "set 1 done: squat, 5 reps" in out and "Set 2: squat, 5 reps" in out
    assert (tmp_path / "out" / "trace.csv").exists()  # (`backcheck report` can draw from the folder)
    again = ["replay", str(path), "--speed", "max", "--plain", "--quiet", "--out", str(tmp_path / "out")]
    assert cli_main(again) == 4
    assert "report.json already exists; pass --force" in capsys.readouterr().err
    assert cli_main([*again, "--force"]) == 0


def test_unknown_exercise_is_a_user_error_before_anything_starts(tmp_path: Path, capsys) -> None:
    assert cli_main(["live", "--source", "sim:deadlift,speed=max", "--exercise", "bench",
                     "--record", str(tmp_path / "x.csv")]) == 3
    assert "--exercise: unknown exercise 'bench'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_speech_cue_runs_the_speech_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    said = tmp_path / "said.txt"
    tool = tmp_path / "espeak-ng"
    tool.write_text(f'#!/bin/sh\necho "$@" >> {said}\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    cues = Cues(CueSettings(mode="speech"), terminal=io.StringIO())
    assert cues.how == "speech"
    assert cues.on_event(_flag_event("rounding", 3.0)).how == "speech"
    cues.close()  # waits for the speaker
    assert said.read_text() == "back\n"


def test_options_and_paths_a_session_cannot_use_are_refused_before_it_starts(tmp_path: Path, capsys) -> None:
    """One sentence and exit 3 (2 for argparse's own) before any data: a stop that ends nothing, a simulator
    setting it cannot run, a recording path under a file (it used to fail with a traceback once data came)."""
    sim = "sim:deadlift,sets=1,reps=2,speed=max"
    for bad in (["--duration", "0"], ["--duration", "nan"], ["--max-sets", "0"], ["--cue-cooldown", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            cli_main(["live", "--source", sim, "--no-record", "--no-history", *bad])
        assert exit_info.value.code == 2
    assert cli_main(["live", "--source", "sim:deadlift,rate_hz=0", "--no-record", "--no-history"]) == 3
    assert "sim:deadlift: the simulator refused these settings" in capsys.readouterr().err
    assert cli_main(["live", "--source", "sim:deadlift,block_ms=abc", "--no-record", "--no-history"]) == 3
    assert "block_ms must be a number of milliseconds above 0" in capsys.readouterr().err
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert cli_main(["record", "--source", sim, "--record", str(a_file / "x.csv")]) == 3
    assert f"{a_file}: exists and is not a folder" in capsys.readouterr().err
    assert a_file.read_text() == "mine"
