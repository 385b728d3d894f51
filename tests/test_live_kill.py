"""A live session killed with SIGKILL mid-set leaves a recording that loads and is complete.

A real `backcheck live --source sim:...` subprocess records at 2x real time; the test waits for its
readiness line and then for a rep of the first set on stdout (each line is printed after the
block it came from was appended to the recording), kills it with SIGKILL, and compares the file
with the simulator's own samples for the same seed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sensor.live.sources import open_source
from sensor.recording import read_recording

SIM = "sim:deadlift,seed=7,sets=2,reps=8,start_still_s=3"
SPEED = 2.0
REP_LINE = re.compile(r"(\d\d):(\d\d\.\d)  set 1 rep 2 ")


def test_sigkill_mid_set_leaves_a_recording_complete_to_the_last_second(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "sensor.cli", "live", "--source", f"{SIM},speed={SPEED:g}",
           "--record", "killed.csv", "--plain", "--quiet", "--no-history"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("recording to"):
                ready_host_s = time.monotonic()  # the first block has been recorded
            if m := REP_LINE.match(line):
                seen_t_s = 60 * int(m.group(1)) + float(m.group(2))
                break
        else:
            raise AssertionError(f"no rep line before the session ended: {proc.stderr.read()}")
        kill_host_s = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    sim = open_source(f"{SIM},speed=max")
    truth_set = sim.truth.sets[0]
    assert truth_set.start_s < seen_t_s < truth_set.end_s  # killed mid-set
    expected = sim.recording.samples
    back = read_recording(tmp_path / "killed.csv").samples
    n = len(back)
    # an exact prefix of the simulator's samples (to the file's 6 significant digits) ...
    np.testing.assert_allclose(back.t, expected.t[:n], atol=1e-6)
    np.testing.assert_allclose(back.acc, expected.acc[:n], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(back.gyro, expected.gyro[:n], rtol=1e-5, atol=1e-6)
    # ... holding everything up to the rep the session announced before it was killed ...
    assert back.t[-1] >= seen_t_s
    # ... and up to within 1 s of the data time the paced source had reached at the kill
    reached_t_s = expected.t[0] + (kill_host_s - ready_host_s) * SPEED
    print(f"killed at data time >= {reached_t_s:.2f} s; recording ends at {back.t[-1]:.2f} s; "
          f"rep line seen at {seen_t_s:.1f} s; {n} samples")
    assert back.t[-1] >= reached_t_s - 1.0
