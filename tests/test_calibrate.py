"""`backcheck calibrate`: the careful hinge's depth against the simulator's truth, refusals, and its use.

Tolerance: the saved limit (median of the hinges' peak flexion) is within 2 deg of the median of the
simulator's true peak flexions; each hinge within 2 deg of its true peak.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sensor.cli import main
from sensor.errors import EXIT_BAD_INPUT, EXIT_WOULD_OVERWRITE
from sensor.recording import Recording, write_recording
from sensor.simulator import random_session_spec, simulate_session

TOLERANCE_DEG = 2.0


@pytest.fixture(autouse=True)
def _paths(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKCHECK_PROFILE", str(tmp_path / "profile.json"))
    monkeypatch.setenv("BACKCHECK_HISTORY", str(tmp_path / "history.sqlite3"))


def _calibration_file(tmp_path: Path, seed: int, **overrides) -> tuple[Path, list[float]]:
    """A simulated calibration (standing start, one set of careful RDL hinges at the simulator's normal
    tempo: eccentric 1.2-3 s, concentric 0.9-1.8 s); returns its true peak flexions (deg)."""
    overrides = {"reps": 3, "faults": (), **overrides}
    recording, truth = simulate_session(random_session_spec(seed, "rdl", sets=1, **overrides))
    path = write_recording(tmp_path / f"calibration-{seed}.csv", recording)
    return path, [r.peak_flexion_deg for r in truth.sets[0].reps]


def _profile(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "profile.json").read_text())


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_limit_matches_the_true_hinge_depth(tmp_path, capsys, seed):
    path, true_peaks = _calibration_file(tmp_path, seed)
    assert main(["calibrate", "--from-recording", str(path)]) == 0
    profile = _profile(tmp_path)
    assert profile["schema"] == "backcheck.profile/1"
    assert abs(profile["flexion_limit_deg"] - float(np.median(true_peaks))) <= TOLERANCE_DEG
    assert len(profile["hinges_deg"]) == 3
    assert np.max(np.abs(np.array(profile["hinges_deg"]) - true_peaks)) <= TOLERANCE_DEG
    assert profile["source"] == str(path)
    assert profile["margin_deg"] == 0.0
    assert 0.0 <= profile["neutral_tilt_deg"] <= 45.0
    assert profile["created_utc"].endswith("+00:00")
    out = capsys.readouterr().out
    assert f"flexion limit {profile['flexion_limit_deg']:.1f} deg = median of your hinges" in out
    assert "backcheck analyze and backcheck live now flag rounding" in out


def test_never_overwrites_without_force_and_margin_adds(tmp_path, capsys):
    path, _ = _calibration_file(tmp_path, 0)
    assert main(["calibrate", "--from-recording", str(path)]) == 0
    first = _profile(tmp_path)
    capsys.readouterr()
    assert main(["calibrate", "--from-recording", str(path), "--margin", "5"]) == EXIT_WOULD_OVERWRITE
    profile_file = tmp_path / "profile.json"
    assert capsys.readouterr().err.strip() == (
        f"backcheck calibrate: {profile_file} already exists; pass --force to overwrite it")
    assert _profile(tmp_path) == first
    assert main(["calibrate", "--from-recording", str(path), "--margin", "5", "--force"]) == 0
    second = _profile(tmp_path)
    assert second["hinges_deg"] == first["hinges_deg"]
    assert second["flexion_limit_deg"] == pytest.approx(first["flexion_limit_deg"] + 5.0, abs=0.051)
    assert "+ margin 5 deg" in capsys.readouterr().out


def test_show_prints_the_profile_or_says_there_is_none(tmp_path, capsys):
    profile_file = tmp_path / "profile.json"
    assert main(["calibrate", "--show"]) == EXIT_BAD_INPUT
    assert f"{profile_file}: no profile yet; run backcheck calibrate" in capsys.readouterr().err
    path, _ = _calibration_file(tmp_path, 1)
    own = tmp_path / "elsewhere" / "mine.json"
    assert main(["calibrate", "--from-recording", str(path), "--profile", str(own)]) == 0
    assert not profile_file.exists()
    capsys.readouterr()
    assert main(["calibrate", "--show", "--profile", str(own)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{own}:\n")
    assert json.loads(out.split("\n", 1)[1]) == json.loads(own.read_text())


def test_too_few_hinges_is_refused(tmp_path, capsys):
    path, _ = _calibration_file(tmp_path, 1, reps=1)
    assert main(["calibrate", "--from-recording", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"{path}: found 1 hinge(s) deeper than 20 deg, need at least 2;" in err
    assert not (tmp_path / "profile.json").exists()


def test_inconsistent_hinges_are_refused(tmp_path, capsys):
    # the third hinge rounds 12-20 deg deeper than the first two: not a careful, consistent hinge
    path, true_peaks = _calibration_file(tmp_path, 1, faults=((1, 3, "rounding"),))
    assert max(true_peaks) - min(true_peaks) > 12.0
    assert main(["calibrate", "--from-recording", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "deg apart (more than 10), so they were not careful and consistent" in err
    assert not (tmp_path / "profile.json").exists()


def test_no_standing_stillness_is_refused(tmp_path, capsys):
    recording, _ = simulate_session(random_session_spec(1, "rdl", sets=1, reps=3, faults=()))
    s = recording.samples
    sway_radps = np.radians(20.0) * np.sin(2 * np.pi * 1.0 * s.t)[:, None] * np.ones(3)  # never still
    swaying = Recording(type(s)(s.t, s.acc, s.gyro + sway_radps), recording.meta)
    path = write_recording(tmp_path / "swaying.csv", swaying)
    assert main(["calibrate", "--from-recording", str(path)]) == EXIT_BAD_INPUT
    assert f"{path}: no standing stillness before the first hinge;" in capsys.readouterr().err
    # live, the capture ends at the first hinge instead of after three
    assert main(["calibrate", "--source", f"replay:{path}@max"]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert "hinge 1:" in captured.out and "hinge 2:" not in captured.out
    assert "capture ended: a hinge came before a standing stillness" in captured.out
    assert f"replay:{path}@max: no standing stillness before the first hinge;" in captured.err
    assert not (tmp_path / "profile.json").exists()


def test_analyze_uses_the_calibrated_limit(tmp_path, capsys):
    shallow, _ = _calibration_file(tmp_path, 3)  # hinges near 57 deg
    assert main(["calibrate", "--from-recording", str(shallow)]) == 0
    limit = _profile(tmp_path)["flexion_limit_deg"]
    recording, truth = simulate_session(random_session_spec(0, "rdl", sets=1, reps=4, faults=()))
    assert min(r.peak_flexion_deg for r in truth.sets[0].reps) > limit + 10.0  # every rep deeper
    session = write_recording(tmp_path / "session.csv", recording)

    def analyze(out: str) -> dict:
        assert main(["analyze", str(session), "--out", str(tmp_path / out), "--no-plots", "--quiet"]) == 0
        return json.loads((tmp_path / out / "report.json").read_text())

    report = analyze("with-profile")
    assert report["settings"]["flags"]["flexion_limit_deg"] == limit
    reps = [r for s in report["sets"] for r in s["reps"]]
    assert len(reps) == 4
    for rep in reps:
        rounding = [f for f in rep["flags"] if f["kind"] == "rounding"]
        assert len(rounding) == 1, rep
        assert rounding[0]["threshold"] == pytest.approx(limit, abs=0.01)
        assert f"past your flexion limit of {limit:.0f}°" in rounding[0]["message"]

    (tmp_path / "profile.json").unlink()
    report = analyze("without-profile")
    assert report["settings"]["flags"]["flexion_limit_deg"] is None
    assert not [f for s in report["sets"] for r in s["reps"] for f in r["flags"] if f["kind"] == "rounding"]


def test_live_calibration_from_the_simulator_stops_after_three_hinges(tmp_path, capsys):
    spec = "sim:rdl,seed=2,sets=1,reps=5,faults=none,speed=max"
    assert main(["calibrate", "--source", spec]) == 0
    out = capsys.readouterr().out
    assert "stand still and tall for 3 s" in out
    assert "standing pose captured" in out
    assert "hinge 3:" in out and "hinge 4:" not in out
    assert "capture ended: 3 hinges recorded" in out
    profile = _profile(tmp_path)
    _, truth = simulate_session(random_session_spec(2, "rdl", sets=1, reps=5, faults=()))
    true_peaks = [r.peak_flexion_deg for r in truth.sets[0].reps[:3]]
    assert profile["source"] == spec
    assert np.max(np.abs(np.array(profile["hinges_deg"]) - true_peaks)) <= TOLERANCE_DEG
    assert abs(profile["flexion_limit_deg"] - float(np.median(true_peaks))) <= TOLERANCE_DEG


def test_live_calibration_stops_at_the_duration_and_refuses_too_few_hinges(tmp_path, capsys):
    spec = "sim:rdl,seed=2,sets=1,reps=5,faults=none,speed=max"
    assert main(["calibrate", "--source", spec, "--duration", "3"]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert "capture ended: 3 s of data recorded" in captured.out
    assert f"{spec}: found 0 hinge(s) deeper than 20 deg" in captured.err
    assert not (tmp_path / "profile.json").exists()


def test_ctrl_c_ends_a_live_calibration_and_keeps_the_hinges_so_far(tmp_path):
    spec = "sim:rdl,seed=2,sets=1,reps=5,faults=none,speed=6"
    proc = subprocess.Popen([sys.executable, "-m", "sensor.cli", "calibrate", "--source", spec],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "BACKCHECK_PROFILE": str(tmp_path / "profile.json")})
    lines = []
    for line in proc.stdout:  # wait for the second hinge on the output, then press Ctrl-C
        lines.append(line)
        if line.startswith("hinge 2:"):
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    out = "".join(lines) + out
    assert "capture ended: stopped (Ctrl-C)" in out
    assert "hinge 3:" not in out
    profile = _profile(tmp_path)
    assert len(profile["hinges_deg"]) == 2
    assert profile["flexion_limit_deg"] == pytest.approx(float(np.median(profile["hinges_deg"])), abs=0.051)


def test_guide_shows_the_angle_on_a_terminal_only():
    from sensor.cmd_calibrate import Guide
    from sensor.live.display import angle_bar

    screen = io.StringIO()
    guide = Guide(screen, tty=True)
    guide.angle(45.4)
    guide.say("hinge 1: 45 deg")
    assert screen.getvalue() == f"\r\x1b[K  trunk   +45 deg {angle_bar(45.4)}\r\x1b[Khinge 1: 45 deg\n"
    log = io.StringIO()
    guide = Guide(log, tty=False)
    guide.angle(45.4)
    guide.say("hinge 1: 45 deg")
    assert log.getvalue() == "hinge 1: 45 deg\n"


def test_a_live_calibration_says_what_the_source_says(tmp_path):
    """A lost link during a live calibration is said in its guide, as in the live view (it went unsaid: the
    calibration has no live display)."""
    import asyncio

    from fixtures_live import NotingSource

    from sensor.cmd_calibrate import Guide, HingeCalibration
    from sensor.live.session import run_source

    recording, _ = simulate_session(random_session_spec(2, "rdl", sets=1, reps=2, faults=()))
    tag = NotingSource(recording, speed=None, block_s=0.5,
                       first=("lost the link to ble:diy (the device disconnected); reconnecting",))
    log = io.StringIO()
    calibration = HingeCalibration("ble:diy", guide=Guide(log, tty=False))
    asyncio.run(run_source(tag, calibration))
    assert log.getvalue().count("source: lost the link to ble:diy (the device disconnected); reconnecting") == 1
