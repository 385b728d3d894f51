"""The simulator's physics, faults and truth, checked against their own definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.samples import STANDARD_GRAVITY_MPS2 as G
from sensor.cli import main
from sensor.recording import read_recording
from sensor.simulator import (
    EXERCISES,
    PATTERNS,
    Device,
    load_truth,
    random_session_spec,
    simulate_session,
)


def _rotations(rotvec: np.ndarray) -> np.ndarray:
    """Rodrigues: rotation vectors (n, 3) rad -> matrices (n, 3, 3)."""
    angle = np.linalg.norm(rotvec, axis=1)
    axis = rotvec / np.where(angle > 0, angle, 1.0)[:, None]
    k = np.zeros((len(angle), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k -= np.transpose(k, (0, 2, 1))
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * k @ k


def gyro_trunk_angles(recording, mounting) -> tuple[np.ndarray, np.ndarray]:
    """Flexion and lateral bend from the first sample's gravity direction carried by the gyroscope."""
    t, acc, gyro = recording.samples.t, recording.samples.acc, recording.samples.gyro
    steps = _rotations(0.5 * (gyro[1:] + gyro[:-1]) * np.diff(t)[:, None])
    up = np.empty((len(t), 3))
    up[0] = acc[0] / np.linalg.norm(acc[0])
    for k, step in enumerate(steps):
        up[k + 1] = step.T @ up[k]
    up_b = up @ mounting.rotation().T
    return np.degrees(np.arctan2(-up_b[:, 0], up_b[:, 2])), np.degrees(np.arcsin(np.clip(up_b[:, 1], -1, 1)))


def _all_reps(truth):
    return [(s, r) for s in truth.sets for r in s.reps]


def _still_start(recording, truth):
    first = truth.sets[0].reps[0].start_s
    still_end = min(end for start, end, activity in truth.rests if start == 0.0 and activity == "stand")
    assert still_end <= first
    return recording.samples.between(0.0, still_end - 0.1)


def test_still_start_reads_gravity_exactly_without_noise():
    rec, truth = simulate_session(random_session_spec(3, noise=False))
    still = _still_start(rec, truth)
    assert len(still) > 100
    np.testing.assert_allclose(np.linalg.norm(still.acc, axis=1), G, atol=1e-9)
    np.testing.assert_allclose(still.gyro, 0.0, atol=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_still_start_reads_gravity_within_device_errors(seed):
    spec = random_session_spec(seed, dropouts=False)
    dev = spec.device
    rec, truth = simulate_session(spec)
    still = _still_start(rec, truth)
    norm = np.linalg.norm(still.acc, axis=1)
    # bias and scale error bound the mean; noise (and one LSB) the spread
    lsb = dev.acc_range_g * G / 32768
    tol = np.linalg.norm(dev.acc_bias_mps2) + max(map(abs, dev.acc_scale_pct)) / 100 * G + lsb
    assert abs(norm.mean() - G) <= tol
    assert norm.std() == pytest.approx(dev.acc_noise_mps2, rel=0.25, abs=lsb)
    gyro_dps = np.degrees(still.gyro)
    gyro_lsb = dev.gyro_range_dps / 32768
    np.testing.assert_allclose(
        gyro_dps.mean(axis=0), dev.gyro_bias_dps, atol=4 * dev.gyro_noise_dps / 10 + gyro_lsb
    )
    # quantised to int16 LSBs
    np.testing.assert_allclose(still.acc / lsb, np.round(still.acc / lsb), atol=1e-6)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_integrated_gyro_carries_gravity_to_the_true_trunk_angle(exercise):
    spec = random_session_spec(11, exercise, noise=False, rate_hz=100.0)
    rec, truth = simulate_session(spec)
    flexion, lateral = gyro_trunk_angles(rec, truth.mounting)
    assert np.sqrt(np.mean((flexion - truth.flexion_deg) ** 2)) < 1.0
    assert np.sqrt(np.mean((lateral - truth.lateral_deg) ** 2)) < 1.0
    assert np.abs(flexion - truth.flexion_deg).max() < 1.0


@pytest.mark.parametrize(("rate_hz", "face", "taping_deg"), [(25.0, "in", 137.0), (400.0, "out", 290.0)])
def test_gyro_integration_holds_across_rates_and_mountings(rate_hz, face, taping_deg):
    spec = random_session_spec(4, "deadlift", noise=False, rate_hz=rate_hz, face=face, taping_deg=taping_deg)
    rec, truth = simulate_session(spec)
    flexion, lateral = gyro_trunk_angles(rec, truth.mounting)
    assert np.sqrt(np.mean((flexion - truth.flexion_deg) ** 2)) < 1.0
    assert np.sqrt(np.mean((lateral - truth.lateral_deg) ** 2)) < 1.0


def test_face_in_turns_gravity_around():
    out = simulate_session(random_session_spec(2, "squat", noise=False, face="out", taping_deg=0.0))[0]
    inside = simulate_session(random_session_spec(2, "squat", noise=False, face="in", taping_deg=0.0))[0]
    # taped at 0 deg gravity lies along +y_S either way; z_S flips sign with the face
    assert out.samples.acc[0, 1] > 9.0 and inside.samples.acc[0, 1] > 9.0
    np.testing.assert_allclose(out.samples.acc[:, 2], -inside.samples.acc[:, 2], atol=1e-9)
    np.testing.assert_allclose(out.samples.acc[:, 0], -inside.samples.acc[:, 0], atol=1e-9)


FAULT_PLAN = [(1, 3, "rounding"), (1, 5, "momentum"), (2, 3, "partial"), (2, 5, "twist")]


@pytest.fixture(scope="module", params=EXERCISES)
def faulty_session(request):
    plan = [f for f in FAULT_PLAN if not (PATTERNS[request.param] == "trunk-still" and f[2] == "rounding")]
    spec = random_session_spec(21, request.param, noise=False, rate_hz=100.0, sets=2, reps=6, faults=plan)
    return simulate_session(spec)


def _segment(truth, start_s, end_s):
    i = (truth.trace_t_s >= start_s) & (truth.trace_t_s <= end_s)
    return truth.flexion_deg[i], truth.lateral_deg[i], truth.twist_deg[i], truth.trace_t_s[i]


def test_faults_land_where_the_truth_says(faulty_session):
    rec, truth = faulty_session
    pattern = truth.sets[0].pattern
    for s in truth.sets:
        base = s.reps[:2]
        assert all(not r.labels for r in base)
        base_peak = max(r.peak_flexion_deg for r in base)
        base_rom = np.mean([r.rom_deg for r in base])
        base_conc = min(r.concentric_s for r in base)
        for r in s.reps:
            flex, lat, twist, t = _segment(truth, r.start_s, r.end_s)
            speed_dps = np.abs(np.gradient(flex, t)).max()
            if "rounding" in r.labels:
                assert r.peak_flexion_deg >= base_peak + 10.0
            elif "momentum" in r.labels and pattern != "trunk-still":
                assert 0.35 <= r.concentric_s <= 0.6 < base_conc and 0.5 <= r.eccentric_s <= 0.9
                assert (r.pause_bottom_s if pattern == "top-start" else r.pause_top_s) == 0.0
                base_speed = max(
                    np.abs(np.gradient(*_segment(truth, b.start_s, b.end_s)[::3])).max() for b in base
                )
                assert speed_dps > 1.5 * base_speed
            elif "momentum" in r.labels:
                assert 8.0 <= r.rom_deg <= 15.5 and speed_dps > 60.0
            elif "partial" in r.labels:
                assert 0.3 <= r.rom_deg / base_rom <= 0.65
            elif "twist" in r.labels:
                assert np.abs(twist).max() >= 14.5 or np.abs(lat).max() >= 9.5
            else:
                assert np.abs(twist).max() < 3.0 and np.abs(lat).max() < 3.0
                if pattern == "trunk-still":
                    assert 1.4 <= r.rom_deg <= 4.5 and speed_dps < 60.0


@pytest.mark.parametrize("exercise", EXERCISES)
def test_rep_boundaries_agree_with_the_trace(exercise):
    rec, truth = simulate_session(random_session_spec(8, exercise, noise=False, rate_hz=200.0))
    assert np.array_equal(truth.trace_t_s, rec.samples.t)
    for s, r in _all_reps(truth):
        flex = _segment(truth, r.start_s, r.end_s)[0]
        at = dict(
            zip(
                ("start", "turn", "end"),
                np.interp([r.start_s, r.turn_s, r.end_s], truth.trace_t_s, truth.flexion_deg),
                strict=True,
            )
        )
        assert r.peak_flexion_deg == pytest.approx(flex.max(), abs=0.05)
        assert r.rom_deg == pytest.approx(flex.max() - flex.min(), abs=0.1)
        if s.pattern == "top-start":
            assert abs(at["start"]) < 1.2 and abs(at["end"]) < 1.2
            assert at["turn"] == pytest.approx(flex.max(), abs=0.3)
            phases = [r.eccentric_s, r.pause_bottom_s, r.concentric_s]
        else:
            assert at["turn"] == pytest.approx(flex.min(), abs=0.3)
            if s.pattern == "floor-start":
                assert at["start"] > 40 and at["end"] > 40
                assert "rounding" in r.labels or at["start"] == pytest.approx(flex.max(), abs=1.6)
            else:
                assert abs(at["start"] - at["end"]) < 1.0
            phases = [r.concentric_s, r.pause_top_s, r.eccentric_s]
        assert r.start_s + sum(phases) == pytest.approx(r.end_s)
        assert r.start_s < r.turn_s < r.end_s
    for s in truth.sets:
        for prev, nxt in zip(s.reps, s.reps[1:], strict=False):
            gap = prev.pause_top_s if s.pattern == "top-start" else prev.pause_bottom_s
            assert nxt.start_s - prev.end_s == pytest.approx(gap)
        last = s.reps[-1]
        assert (last.pause_top_s if s.pattern == "top-start" else last.pause_bottom_s) is None
        assert (s.start_s, s.end_s) == (s.reps[0].start_s, last.end_s)
        for start, end, _ in truth.rests:
            assert end <= s.start_s or start >= s.end_s


def test_normal_tempo_depth_and_fault_placement_over_many_seeds():
    for seed in range(60):
        spec = random_session_spec(seed)
        assert 2 <= len(spec.sets) <= 4 and 25 <= spec.rate_hz <= 400
        for st in spec.sets:
            assert 4 <= len(st.reps) <= 10
            assert not st.reps[0].labels and not st.reps[1].labels
            assert sum(bool(r.labels) for r in st.reps) <= 2
            for r, nxt in zip(st.reps, (*st.reps[1:], None), strict=True):
                if not r.labels:
                    assert 1.2 <= r.eccentric_s <= 3.0 and 0.9 <= r.concentric_s <= 1.8
                    assert 0.5 <= r.pause_top_s <= 2.0
                    if st.pattern == "floor-start" and nxt is not None and "momentum" in nxt.labels:
                        assert r.pause_bottom_s == 0.0  # touch and go into a momentum rep
                    else:
                        assert 0.2 <= r.pause_bottom_s <= 1.0
        for rest in spec.activities[1:-1]:
            assert 15.0 <= sum(d for _, d in rest) <= 45.0


def test_tempo_scale_stretches_every_rep_but_a_bounce():
    normal, slow = (random_session_spec(3, exercise="squat", tempo_scale=k) for k in (1.0, 2.0))
    for a_set, b_set in zip(normal.sets, slow.sets, strict=True):
        for a, b in zip(a_set.reps, b_set.reps, strict=True):
            phases = ("eccentric_s", "pause_bottom_s", "concentric_s", "pause_top_s")
            if "momentum" in a.labels:
                assert [getattr(b, p) for p in phases] == [getattr(a, p) for p in phases]
            else:
                assert [getattr(b, p) for p in phases] == pytest.approx([2.0 * getattr(a, p) for p in phases])
    truth = simulate_session(slow)[1]
    plain = [r for s in truth.sets for r in s.reps if not r.labels]
    assert min(r.eccentric_s for r in plain) >= 2.4 - 0.05


def test_same_seed_same_session_and_noise_leaves_the_motion_alone():
    a_rec, a_truth = simulate_session(random_session_spec(5))
    b_rec, b_truth = simulate_session(random_session_spec(5))
    np.testing.assert_array_equal(a_rec.samples.acc, b_rec.samples.acc)
    clean = simulate_session(random_session_spec(5, noise=False))[1]
    assert [s.reps for s in clean.sets] == [s.reps for s in a_truth.sets]


def test_dropouts_leave_gaps_and_the_trace_follows_them():
    spec = random_session_spec(6, noise=False, dropouts=True, rate_hz=100.0)
    spec = type(spec)(**{**spec.__dict__, "device": Device(dropouts_per_min=6.0)})
    rec, truth = simulate_session(spec)
    steps = np.diff(rec.samples.t) * 100.0
    missing = np.round(steps[steps > 1.5]) - 1
    assert len(missing) > 3 and missing.min() >= 1 and missing.max() <= 60
    np.testing.assert_array_equal(truth.trace_t_s, rec.samples.t)
    assert rec.samples.median_rate_hz() == pytest.approx(100.0, rel=1e-3)


def test_recording_meta_and_truth_round_trip(tmp_path):
    rec, truth = simulate_session(random_session_spec(9, "deadlift"))
    assert rec.meta.format == "simulated" and rec.meta.device == "backcheck simulator"
    assert rec.meta.notes["simulated"] is True and rec.meta.notes["exercise"] == "deadlift"
    assert rec.meta.notes["seed"] == 9 and rec.meta.notes["load_kg"] > 0
    json_path, csv_path = truth.write(tmp_path / "s")
    assert (json_path.name, csv_path.name) == ("s.truth.json", "s.truth.csv")
    back = load_truth(json_path)
    assert back.sets == truth.sets and back.rests == truth.rests and back.mounting == truth.mounting
    np.testing.assert_allclose(back.trace_t_s, truth.trace_t_s, atol=1e-6)
    for name in ("flexion_deg", "lateral_deg", "twist_deg"):
        np.testing.assert_allclose(getattr(back, name), getattr(truth, name), atol=1e-4)
    with pytest.raises(Exception, match="already exists; pass --force"):
        truth.write(tmp_path / "s")


def test_cli_writes_three_files_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "sim.csv"
    argv = [
        "simulate",
        "--exercise",
        "squat",
        "--sets",
        "2",
        "--reps",
        "5",
        "--rate-hz",
        "50",
        "--seed",
        "4",
        "--faults",
        "rounding,momentum",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert "wrote" in capsys.readouterr().out
    for path in (out, tmp_path / "sim.truth.json", tmp_path / "sim.truth.csv"):
        assert path.stat().st_size > 0
    rec = read_recording(out)
    truth = load_truth(out)
    assert rec.meta.notes["simulated"] is True and rec.meta.sample_rate_hz == 50.0
    assert len(truth.sets) == 2 and all(len(s.reps) == 5 for s in truth.sets)
    assert len(rec.samples) == len(truth.trace_t_s)
    assert {label for _, r in _all_reps(truth) for label in r.labels} <= {"rounding", "momentum"}
    before = out.read_bytes()
    assert main(argv) == 4
    assert (
        capsys.readouterr().err.strip()
        == f"backcheck simulate: {out} already exists; pass --force to overwrite it"
    )
    assert out.read_bytes() == before
    assert main([*argv, "--force", "--no-noise"]) == 0
    assert main([*argv, "--force", "--faults", "wobble"]) == 3
    assert "unknown fault 'wobble'" in capsys.readouterr().err


def test_bundled_demo_is_what_its_notes_say(tmp_path):
    demo = Path(__file__).resolve().parents[1] / "recordings" / "demo_deadlift.csv"
    rec, truth = read_recording(demo), load_truth(demo)
    assert rec.meta.notes["simulated"] is True and rec.meta.device == "backcheck simulator"
    assert [len(s.reps) for s in truth.sets] == [6, 6, 6]
    assert sorted(label for s in truth.sets for r in s.reps for label in r.labels) == ["momentum", "rounding"]
    words = rec.meta.notes["command"].split()[1:]
    assert main([*words, "--out", str(tmp_path / "again.csv")]) == 0
    again = read_recording(tmp_path / "again.csv")
    np.testing.assert_array_equal(again.samples.acc, rec.samples.acc)
    np.testing.assert_array_equal(again.samples.t, rec.samples.t)


@pytest.mark.parametrize("exercise", ["bent-over-row", "lat-pulldown"])
def test_accelerometer_adds_tangential_and_centripetal_terms_of_the_lever(exercise):
    """With the hip still (trunk-still reps), f_B = g up_B + alpha x r + omega x (omega x r)."""
    plan = [(1, 3, "momentum"), (1, 4, "twist")]
    spec = random_session_spec(13, exercise, noise=False, rate_hz=400.0, sets=1, reps=5, faults=plan)
    rec, truth = simulate_session(spec)
    r_bs = truth.mounting.rotation()
    lever = truth.mounting.lever_m
    t = rec.samples.t
    omega_b = rec.samples.gyro @ r_bs.T
    alpha_b = np.gradient(omega_b, t, axis=0)
    f, lat = np.radians(truth.flexion_deg), np.radians(truth.lateral_deg)
    up_b = np.column_stack([-np.cos(lat) * np.sin(f), np.sin(lat), np.cos(lat) * np.cos(f)])
    lever_acc = np.cross(alpha_b, lever) + np.cross(omega_b, np.cross(omega_b, lever))
    predicted = (G * up_b + lever_acc) @ r_bs
    s = truth.sets[0]
    inside = (t > s.start_s + 0.05) & (t < s.end_s - 0.05)
    error = np.linalg.norm(rec.samples.acc[inside] - predicted[inside], axis=1)
    peak = np.linalg.norm(lever_acc[inside], axis=1).max()
    assert peak > 1.0  # the lever terms are really there (the heave)
    # alpha comes from differentiating the sampled gyro: close, but ~1 % off at jerk steps (keyframes)
    assert np.sqrt(np.mean(error**2)) < 0.005 and error.max() < 0.02 * peak
