"""TrunkOrientation: kernel vs naive twin, chunk invariance, calibration, sagittal plane, sign."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.analyzer import Analyzer
from analysis.orientation import OrientationSettings, TrunkOrientation
from analysis.samples import STANDARD_GRAVITY_MPS2, Samples
from sensor.simulator.body import Track, segment_motion
from sensor.simulator.imu import Device, Mounting, measure, sample_times
from tests.naive import NaiveOrientation

ROWS = ("flexion_deg", "lateral_deg", "flexion_rate_dps", "twist_rate_dps", "still", "calibrated", "reanchored",
        "flipped")


def random_motion(seed: int, n: int = 3000) -> Samples:
    """Random rotations and accelerations with still spells, gaps and gyroscope glitches (single spikes, held; and
    a jump lasting four samples, taken in at the third) (not a body: stresses the filter)."""
    rng = np.random.default_rng(seed)
    dt = rng.uniform(0.004, 0.03) * rng.uniform(0.8, 1.2, n)
    dt[rng.integers(1, n, 4)] = rng.uniform(0.3, 1.5, 4)  # gaps
    t = np.cumsum(dt)
    omega = np.zeros((n, 3))
    lin = np.zeros((n, 3))
    i = 0
    while i < n:
        m = int(rng.integers(50, 400))
        if rng.uniform() < 0.6:
            omega[i : i + m] = rng.normal(0.0, 1.0, 3) * np.sin(np.linspace(0, np.pi, m))[: n - i, None]
            lin[i : i + m] = rng.normal(0.0, 1.5, 3)
        i += m
    rot = np.eye(3)
    acc = np.empty((n, 3))
    for k in range(n):
        w = omega[k] * dt[k]
        wx = np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]])
        rot = rot @ (np.eye(3) + wx + 0.5 * wx @ wx)
        u, _, vt = np.linalg.svd(rot)
        rot = u @ vt
        acc[k] = rot.T @ (np.array([0.0, 0.0, STANDARD_GRAVITY_MPS2]) + lin[k])
    bias = rng.normal(0.0, 0.02, 3)
    gyro = omega + bias + rng.normal(0, 0.003, (n, 3))
    gyro[rng.integers(1, n, 3)] += 30.0 * rng.normal(0.0, 1.0, 3)
    jump = int(rng.integers(1, n - 4))
    gyro[jump : jump + 4] += 30.0
    return Samples(t, acc + rng.normal(0, 0.03, (n, 3)), gyro)


def as_array(angles) -> np.ndarray:
    return np.array([getattr(angles, name).astype(float) for name in ROWS])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("accelerometer_only", [False, True])
def test_kernel_matches_naive_twin(seed: int, accelerometer_only: bool) -> None:
    samples = random_motion(seed)
    settings = OrientationSettings()
    fast = as_array(TrunkOrientation(settings, accelerometer_only=accelerometer_only).process(samples))
    naive = NaiveOrientation(settings, accelerometer_only).run(samples.t, samples.acc, samples.gyro)
    np.testing.assert_allclose(fast, naive, rtol=0, atol=1e-6, equal_nan=True)
    assert fast[ROWS.index("calibrated")].any() and not fast[ROWS.index("calibrated")].all()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3000), max_size=6), st.booleans())
def test_chunk_invariance_bitwise(cuts: list[int], accelerometer_only: bool) -> None:
    samples = random_motion(7)
    if accelerometer_only:
        samples = Samples(samples.t, samples.acc)
    whole = TrunkOrientation(accelerometer_only=accelerometer_only)
    expected = as_array(whole.process(samples))
    split = TrunkOrientation(accelerometer_only=accelerometer_only)
    bounds = [0, *sorted(cuts), len(samples)]
    got = np.concatenate(
        [as_array(split.process(samples[a:b])) for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
        axis=1,
    )
    assert got.tobytes() == expected.tobytes()
    assert split.sagittal_decided_t_s == whole.sagittal_decided_t_s
    assert np.array_equal(split.gyro_bias_radps, whole.gyro_bias_radps)


def hinge_session(mounting: Mounting, device: Device, rate_hz: float = 100.0, depth_deg: float = 60.0):
    """Stand 4 s, three hinges to `depth_deg` with a lean back to -15 deg between, stand 3 s."""
    track = Track()
    track.hold(4.0)
    for _ in range(3):
        track.move(1.5, flexion_deg=depth_deg, hip_x_m=-0.1)
        track.hold(0.5)
        track.move(1.2, flexion_deg=0.0, hip_x_m=0.0)
        track.hold(1.0)
        track.move(1.0, flexion_deg=-15.0)
        track.move(1.0, flexion_deg=0.0)
    track.hold(3.0)
    rng = np.random.default_rng(0)
    t_true, t_rec = sample_times(track.t_s, rate_hz, device, rng)
    rot, acc_w, omega = segment_motion(track, t_true, mounting.lever_m)
    acc, gyro = measure(rot, acc_w, omega, mounting, device, rng)
    return Samples(t_rec, acc, gyro), track.evaluate(t_true)


@pytest.mark.parametrize("face", ["out", "in"])
@pytest.mark.parametrize("taping_deg", [0.0, 70.0, 200.0])
def test_signed_flexion_for_any_taping(face: str, taping_deg: float) -> None:
    mounting = Mounting(taping_deg=taping_deg, face=face, lordosis_deg=8.0)
    samples, truth = hinge_session(mounting, Device(gyro_bias_dps=(0.8, -1.2, 0.5), gyro_noise_dps=0.1))
    orientation = TrunkOrientation()
    angles = orientation.process(samples)
    assert orientation.neutral_t_s is not None and orientation.neutral_t_s < 2.0
    assert orientation.sagittal_decided_t_s is not None and orientation.sagittal_decided_t_s < 6.0
    err = angles.flexion_deg - truth[:, 0]
    assert np.sqrt(np.mean(err**2)) < 0.5  # ideal accelerometer, biased gyroscope
    assert angles.flexion_deg.max() == pytest.approx(60.0, abs=0.5)
    assert angles.flexion_deg.min() == pytest.approx(-15.0, abs=0.5)
    assert np.abs(angles.lateral_deg).max() < 1.0
    moving = np.abs(angles.flexion_rate_dps) > 5.0
    rate_truth = np.gradient(truth[:, 0], samples.t)
    assert np.sign(angles.flexion_rate_dps[moving]) @ np.sign(rate_truth[moving]) > 0.95 * moving.sum()
    bias_dps = np.degrees(orientation.gyro_bias_radps)
    np.testing.assert_allclose(bias_dps, [0.8, -1.2, 0.5], atol=0.05)


def test_accelerometer_only_tilt_is_coarser_but_signed() -> None:
    samples, truth = hinge_session(Mounting(taping_deg=120.0, face="in"), Device(acc_noise_mps2=0.03))
    angles = TrunkOrientation(accelerometer_only=True).process(Samples(samples.t, samples.acc))
    err = angles.flexion_deg - truth[:, 0]
    assert np.sqrt(np.mean(err**2)) < 6.0  # lag and linear acceleration: several degrees
    assert angles.flexion_deg.max() == pytest.approx(60.0, abs=5.0)
    assert angles.flexion_deg.min() < -8.0
    assert np.isnan(angles.twist_rate_dps).all()


def sensed(track: Track, mounting: Mounting, rate_hz: float, seed: int):
    """The track worn at `mounting` and read by an ideal device: (true times, recorded times, angles)."""
    device, rng = Device(), np.random.default_rng(seed)
    t_true, t_rec = sample_times(track.t_s, rate_hz, device, rng)
    rot, acc_w, omega = segment_motion(track, t_true, mounting.lever_m)
    acc, gyro = measure(rot, acc_w, omega, mounting, device, rng)
    return t_true, t_rec, TrunkOrientation().process(Samples(t_rec, acc, gyro))


def test_twist_and_lateral_signs() -> None:
    track = Track()
    track.hold(3.0)
    track.move(1.5, flexion_deg=30.0)
    track.move(1.5, flexion_deg=0.0)
    track.move(1.0, lateral_deg=15.0)  # bend right
    track.move(1.0, twist_deg=20.0)  # turn the shoulders right
    _, t_rec, angles = sensed(track, Mounting(taping_deg=35.0, face="in"), 100.0, 1)
    assert angles.lateral_deg[-1] == pytest.approx(15.0, abs=0.3)
    twisting = angles.twist_rate_dps[t_rec > 7.0]
    assert twisting.max() > 20.0 > -twisting.min()


def test_neutral_is_not_refreshed_while_bent_over() -> None:
    track = Track()
    track.hold(3.0)
    track.move(2.0, flexion_deg=45.0)
    track.hold(4.0)  # still, bent over (a row's set-up)
    track.move(2.0, flexion_deg=0.0)
    mounting, device, rng = Mounting(taping_deg=10.0), Device(), np.random.default_rng(2)
    t_true, t_rec = sample_times(track.t_s, 50.0, device, rng)
    rot, acc_w, omega = segment_motion(track, t_true, mounting.lever_m)
    acc, gyro = measure(rot, acc_w, omega, mounting, device, rng)
    angles = TrunkOrientation().process(Samples(t_rec, acc, gyro))
    bent = (t_rec > 6.0) & (t_rec < 9.0)
    assert angles.still[bent].any()
    assert np.abs(angles.flexion_deg[bent] - 45.0).max() < 0.3
    assert abs(angles.flexion_deg[-1]) < 0.3


def test_gap_restarts_tilt_from_accelerometer() -> None:
    n = 200
    t = np.concatenate([np.arange(n) * 0.01, 10.0 + np.arange(n) * 0.01])
    up = np.array([0.0, 0.0, STANDARD_GRAVITY_MPS2])
    tilted = STANDARD_GRAVITY_MPS2 * np.array([np.sin(0.5), 0.0, np.cos(0.5)])
    acc = np.vstack([np.tile(up, (n, 1)), np.tile(tilted, (n, 1))])
    orientation = TrunkOrientation()
    angles = orientation.process(Samples(t, acc, np.zeros((2 * n, 3))))
    tilt = np.hypot(angles.flexion_deg, angles.lateral_deg)
    assert tilt[n] == pytest.approx(np.degrees(0.5), abs=1e-6)  # the first sample after the gap


@pytest.mark.parametrize(("jolt_mps2", "settles"), [(0.0, False), (2.0, True)])
def test_gap_settles_only_where_the_accelerometer_disagrees_with_the_tilt(jolt_mps2: float, settles: bool) -> None:
    """A dropout while standing, then a walk begins: restarting from the accelerometer settled at a high gain with no
    rejection for a second and followed the walk's forward acceleration (6.8 deg of error after 1 s of 1.2 m/s^2; a
    lat-pulldown session then took its lean back for forward). The accelerometer agreed with the tilt held through
    the gap, so the tilt goes on at the usual gain: 7 deg x (1 - exp(-0.5 / s x 1 s)) = 2.75 deg. A first sample in
    the same direction but jolted (|acc| 2 m/s^2 off g, past `acceleration_rejection_mps2`) is no agreement: settled."""
    n = 300
    t = np.concatenate([np.arange(n) * 0.01, 3.5 + np.arange(120) * 0.01])
    acc = np.tile([0.0, 0.0, STANDARD_GRAVITY_MPS2], (n + 120, 1))
    acc[n, 2] += jolt_mps2
    acc[n + 20:, 0] = 1.2  # the walk starts 0.2 s after the gap, the trunk upright
    angles = TrunkOrientation().process(Samples(t, acc, np.zeros((n + 120, 3))))
    tilt = np.hypot(angles.flexion_deg, angles.lateral_deg)
    assert tilt[n] == pytest.approx(0.0, abs=1e-9)
    if settles:
        assert tilt[-1] > 6.0
    else:
        assert tilt[-1] == pytest.approx(7.0 * (1.0 - np.exp(-0.5 * 0.99)), abs=0.15)


def test_a_bias_wrong_by_about_the_still_limit_is_checked_and_learnt_again() -> None:
    """A first stillness in a slow movement (1.6 deg/s for 1.5 s: the bottom of a good morning where a recording
    began) learns a bias 1.6 deg/s off; still again, the bias-corrected rate flickers across the 1.5 deg/s still
    limit with the noise, and each dip under it restarted the bias check: the lifter was never still again in the
    session (no neutral refresh, no re-anchoring). A rate under half the limit is the still test's; above it the
    check runs on, learns the bias again after `bias_check_s`, and the lifter reads still."""
    rng = np.random.default_rng(5)
    rate_hz, slow_s, n = 100.0, 1.5, 1500
    t = np.arange(n) / rate_hz
    turn = np.where(t < slow_s, np.radians(1.6), 0.0)  # about x
    angle = np.cumsum(turn) / rate_hz
    acc = STANDARD_GRAVITY_MPS2 * np.column_stack([np.zeros(n), np.sin(angle), np.cos(angle)])
    gyro = (np.radians([0.6, 1.0, -0.5]) + np.column_stack([turn, np.zeros(n), np.zeros(n)])
            + np.radians(0.1) * rng.normal(size=(n, 3)))
    angles = TrunkOrientation().process(Samples(t, acc, gyro))
    assert angles.still[t < slow_s].any()  # (the slow movement taken for stillness)
    defaults = OrientationSettings()
    checked = t > slow_s + defaults.bias_check_s + defaults.still_time_s
    assert angles.still[checked].all()


def test_one_corrupt_gyroscope_sample_changes_nothing() -> None:
    """A sample of 2000 deg/s on every axis while the lifter stands (a corrupt packet) turned the tilt by ~20 deg: it
    decided the sagittal plane, and a whole session's sets were lost. It is held at the last reading: the angles are
    those without it, but for that sample's own rates."""
    from sensor.simulator import random_session_spec, simulate_session

    samples = simulate_session(random_session_spec(3, exercise="deadlift", sets=1, reps=4))[0].samples
    i = int(np.searchsorted(samples.t, samples.t[0] + 2.0))
    gyro = samples.gyro.copy()
    gyro[i] = np.radians(2000.0)
    clean = TrunkOrientation().process(samples)
    spiked = TrunkOrientation().process(Samples(samples.t, samples.acc, gyro))
    np.testing.assert_allclose(spiked.flexion_deg, clean.flexion_deg, atol=0.05)
    np.testing.assert_allclose(spiked.lateral_deg, clean.lateral_deg, atol=0.05)


def test_empty_block_and_input_errors() -> None:
    orientation = TrunkOrientation()
    empty = orientation.process(Samples.empty())
    assert empty.flexion_deg.shape == (0,) and orientation.neutral_t_s is None
    with pytest.raises(ValueError, match="accelerometer_only"):
        orientation.process(Samples(np.zeros(1), np.array([[0.0, 0.0, 9.8]])))
    orientation.process(Samples(np.array([1.0]), np.array([[0.0, 0.0, 9.8]]), np.zeros((1, 3))))
    with pytest.raises(ValueError, match="not after the previous"):
        orientation.process(Samples(np.array([1.0]), np.array([[0.0, 0.0, 9.8]]), np.zeros((1, 3))))


def test_branch_free_atan2_within_one_ulp_of_libm() -> None:
    import math

    from analysis._orientation_kernels import _atan2

    rng = np.random.default_rng(3)
    y, x = rng.normal(size=(2, 20_000)) * np.exp(rng.uniform(-5, 5, (2, 20_000)))
    edges = [(0.0, 0.0), (-0.0, 1.0), (0.0, -1.0), (-0.0, -1.0), (1.0, 0.0), (-1.0, -0.0), (1.0, 1.0),
             (-1.0, -1.0), (0.66, 1.0), (0.6600001, 1.0), (1.0, 0.66), (1e-300, 1.0), (1.0, 1e-300),
             (0.0, -0.0), (-0.0, -0.0)]
    for yi, xi in [*zip(y, x, strict=True), *edges]:
        got, want = _atan2(yi, xi), math.atan2(yi, xi)
        assert abs(got - want) <= math.ulp(want), (yi, xi, got, want)
        assert math.copysign(1.0, got) == math.copysign(1.0, want), (yi, xi)


def test_normalisation_near_one_within_four_ulp_of_the_quotient() -> None:
    """The Taylor step that replaces 1 / sqrt for |g|^2 = 1 + e, |e| < 1e-4, and its exact fallback. Each of the
    two carries up to ~2.1 ulp of rounding against the exact value (measured in long double), so they may differ
    by up to 4 (3 seen on one CPU); the e^3 term left out would cost ~1400 at |e| = 1e-4."""
    from analysis._orientation_kernels import _unit_near_one

    rng = np.random.default_rng(4)
    units = rng.normal(size=(5000, 3))
    units /= np.linalg.norm(units, axis=1)[:, None]
    for scale in (1.0, 1.0 + 1e-9, 1.0 - 3e-6, 1.0 + 4.99e-5, 1.0 - 4.99e-5, 1.01, 0.3, 7.0):
        for v in units[:600] * scale:
            got = np.array(_unit_near_one(*v))
            want = v / np.sqrt(v @ v)
            assert np.all(np.abs(got - want) <= 4 * np.spacing(np.abs(want))), (v, got, want)


def test_acceleration_norm_is_passed_through() -> None:
    samples = random_motion(2, n=500)
    angles = TrunkOrientation().process(samples)
    np.testing.assert_allclose(angles.acc_norm_mps2, np.linalg.norm(samples.acc, axis=1), rtol=1e-14)


def test_flexion_beyond_ninety_degrees_with_a_lateral_bend() -> None:
    """A deep good morning past horizontal, bent to the side at the bottom: the simulator's truth angles
    (flexion = atan2(-up_x, up_z), lateral = asin(up_y)) hold at any depth."""
    track = Track()
    track.hold(3.0)
    track.move(2.5, flexion_deg=105.0)
    track.move(1.0, lateral_deg=12.0)
    track.hold(1.0)
    t_true, _, angles = sensed(track, Mounting(taping_deg=50.0, face="out"), 100.0, 2)
    truth = track.evaluate(t_true)
    assert angles.flexion_deg.max() == pytest.approx(105.0, abs=1.0)
    assert angles.flexion_deg[-1] == pytest.approx(truth[-1, 0], abs=1.0)
    assert angles.lateral_deg[-1] == pytest.approx(truth[-1, 1], abs=1.0)


def test_flexion_rate_is_the_flexions_derivative_while_twisting_bent_sideways() -> None:
    """A row held at 35 deg, then a twisted pull: the shoulders turn 30 deg and bend 14 deg sideways while the
    trunk rises 2 deg. The gyroscope about the flexion axis alone read the twist into the rate (12 deg/s off
    while the flexion moved at up to 5 deg/s, which hid a rep); the rate must follow d(flexion)/dt."""
    track = Track()
    track.hold(3.0)
    track.move(1.5, flexion_deg=35.0)
    track.move(1.5, flexion_deg=35.0)  # sagittal plane settled on the way down
    track.move(0.8, flexion_deg=33.0, twist_deg=-30.0, lateral_deg=14.0)
    track.hold(0.5)
    track.move(0.8, flexion_deg=35.0, twist_deg=0.0, lateral_deg=0.0)
    track.hold(1.0)
    _, t_rec, angles = sensed(track, Mounting(taping_deg=120.0, face="out"), 200.0, 3)
    pull = (t_rec > 6.0) & (t_rec < 8.3)
    derivative = np.gradient(angles.flexion_deg, t_rec)
    error = np.abs(angles.flexion_rate_dps - derivative)[pull]
    assert np.abs(derivative[pull]).max() > 2.0  # the flexion does move
    assert error.max() < 2.0  # deg/s (1.2 with the exact derivative; 11.8 with the flexion axis alone)


def _worn(track: Track, seed: int, accelerometer_only: bool = False
          ) -> tuple[np.ndarray, Samples, TrunkOrientation, object]:
    """The track worn taped at 30 deg, read at 100 Hz: (true flexion, samples, orientation, its angles)."""
    mounting, device, rng = Mounting(taping_deg=30.0), Device(), np.random.default_rng(seed)
    t_true, t_rec = sample_times(track.t_s, 100.0, device, rng)
    rot, acc_w, omega = segment_motion(track, t_true, mounting.lever_m)
    acc, gyro = measure(rot, acc_w, omega, mounting, device, rng)
    samples = Samples(t_rec, acc, None if accelerometer_only else gyro)
    orientation = TrunkOrientation(accelerometer_only=accelerometer_only)
    return track.evaluate(t_true)[:, 0], samples, orientation, orientation.process(samples)


def _bends(track: Track, n: int, deg: float, stand_s: float = 0.0) -> Track:
    """The track, standing stand_s first, then n bends to deg, each followed by 2 s standing."""
    track.hold(stand_s)
    for _ in range(n):
        track.move(1.5, flexion_deg=deg, hip_x_m=-0.1)
        track.hold(0.5)
        track.move(1.5, flexion_deg=0.0, hip_x_m=0.0)
        track.hold(2.0)
    return track


def _held(track: Track, deg: float, move_s: float, hold_s: float) -> Track:
    """The track moved to deg of flexion in move_s (the hips back with a bend), then held hold_s."""
    track.move(move_s, flexion_deg=deg, hip_x_m=-0.1 if deg else 0.0)
    track.hold(hold_s)
    return track


def _lean_back_then_bends() -> Track:
    """A stretch leaning back (-25 deg), then two bends to 70 deg, up within 2 s."""
    track = Track()
    track.hold(3.0)
    track.move(1.5, flexion_deg=-25.0)  # a stretch, leaning back
    track.hold(1.0)
    track.move(1.5, flexion_deg=0.0)
    track.hold(2.0)
    return _bends(track, 2, 70.0)  # two bends to 70 deg, up within 2 s


def _begun_bent_over(accelerometer_only: bool = False) -> tuple[np.ndarray, Samples, TrunkOrientation, object]:
    """A recording begun in a deadlift's set-up (held at 50 deg), then standing 5 s and two bends to 60 deg."""
    track = Track()
    track.hold(0.5)
    _held(_held(track, 50.0, 1.0, 2.5), 0.0, 1.5, 5.0)
    truth, samples, _, _ = _worn(_bends(track, 2, 60.0), 5, accelerometer_only)
    keep = samples.t >= samples.t[0] + 1.7  # the recording starts during the hold at 50 deg
    samples = Samples(samples.t[keep], samples.acc[keep], None if accelerometer_only else samples.gyro[keep])
    orientation = TrunkOrientation(accelerometer_only=accelerometer_only)
    return truth[keep], samples, orientation, orientation.process(samples)


@pytest.mark.parametrize("accelerometer_only", [False, True])
def test_a_first_neutral_that_was_not_standing_gives_way_to_standing(accelerometer_only: bool) -> None:
    """Begun in a set-up, the first stillness is bent over 50 deg (the skin normal tipped past
    neutral_max_skin_tilt_deg): before, every angle of the session was measured from there, and the stand up
    decided the sagittal plane backwards. The first stillness standing (the rest, from 3.8 s: still from a second
    on) replaces it, the plane is decided again on the next bend, and from the rest on the angles are right."""
    truth, samples, orientation, angles = _begun_bent_over(accelerometer_only)
    t = samples.t - samples.t[0]
    assert orientation.neutral_t_s - samples.t[0] < 2.0  # the first stillness: bent over
    reanchored = orientation.reanchored_t_s - samples.t[0]
    assert 4.2 < reanchored < 5.8  # a second into the rest
    after = t >= reanchored
    error = angles.flexion_deg[after] - truth[after]
    if accelerometer_only:  # (the accelerometer's tilt errs by a bend's own acceleration)
        assert np.sqrt(np.mean(error**2)) < 4.0
    else:
        assert np.abs(error).max() < 1.5
    assert abs(angles.flexion_deg[after].max() - 60.0) < (3.0 if accelerometer_only else 1.5)
    if not accelerometer_only:
        naive = NaiveOrientation(OrientationSettings()).run(samples.t, samples.acc, samples.gyro)
        np.testing.assert_allclose(as_array(angles), naive, rtol=0, atol=1e-6)


def test_the_report_and_the_live_view_say_when_standing_replaced_the_first_neutral() -> None:
    """Live, the new neutral is an event at its sample, whatever the blocks; the report says until when the
    angles were measured from the first pose."""
    import io

    from analysis.events import CalibrationDone
    from sensor.live.display import LiveDisplay

    _, samples, orientation, _ = _begun_bent_over()
    reanchored = orientation.reanchored_t_s - samples.t[0]
    for block_n in (10, 777):
        analyzer, events = Analyzer(), []
        for i in range(0, len(samples), block_n):
            events += analyzer.push(samples[i : i + block_n])
        calibrations = [(e.t_s, e.refreshed) for e in events if isinstance(e, CalibrationDone)]
        assert calibrations == [(pytest.approx(calibrations[0][0]), False), (reanchored, True)]
        assert any(f"until {reanchored:.1f} s" in note and "was not standing" in note
                   for note in analyzer.finish().notes)
    out = io.StringIO()
    LiveDisplay(out, tty=False).on_event([e for e in events if isinstance(e, CalibrationDone)][1])
    assert "calibrated again" in out.getvalue()


def _turned_on_the_body(turn_deg: float) -> tuple[np.ndarray, Samples]:
    """Worn taped at 30 deg: standing, two bends; then (after a 1 s gap, the phone out of its pack) taped
    turn_deg further round: standing, a bend, standing, two bends."""
    parts = []
    for taping, track in ((30.0, _bends(Track(), 2, 50.0, stand_s=3.0)),
                          (30.0 + turn_deg, _bends(_bends(Track(), 1, 40.0, stand_s=2.0), 2, 60.0))):
        mounting, device, rng = Mounting(taping_deg=taping), Device(), np.random.default_rng(7)
        t_true, t_rec = sample_times(track.t_s, 100.0, device, rng)
        rot, acc_w, omega = segment_motion(track, t_true, mounting.lever_m)
        acc, gyro = measure(rot, acc_w, omega, mounting, device, rng)
        parts.append((track.evaluate(t_true)[:, 0], t_rec - t_rec[0], acc, gyro))
    offset = parts[0][1][-1] + 1.0
    return (np.concatenate([parts[0][0], parts[1][0]]),
            Samples(np.concatenate([parts[0][1], parts[1][1] + offset]), np.concatenate([parts[0][2], parts[1][2]]),
                    np.concatenate([parts[0][3], parts[1][3]])))


def test_a_sensor_turned_on_the_body_is_taken_again_at_the_second_standing_rest() -> None:
    """A phone put back in its pack turned 60 deg about the skin normal: the standing pose is now 60 deg round
    from the first neutral, with the skin as upright as before. Seen standing in two separate still runs (the
    second after a bend), it becomes the neutral and the sagittal plane is decided again: the bends after it
    read right. Before, they read cos 60 = half their depth, the rest as lateral bend."""
    truth, samples = _turned_on_the_body(60.0)
    orientation = TrunkOrientation()
    angles = orientation.process(samples)
    moves, moved_s, moved_deg = orientation.sensor_moves
    t_turned = samples.t[int(np.argmax(np.diff(samples.t))) + 1]  # (after the gap)
    assert moves == 1 and abs(moved_deg - 60.0) < 3.0
    assert 6.0 < moved_s - t_turned < 7.5  # a second into the standing after the bend (5.5 s in)
    after = samples.t > moved_s + 1.0
    np.testing.assert_allclose(angles.flexion_deg[after], truth[after], atol=1.5)
    assert orientation.reanchored_t_s is None and np.flatnonzero(angles.reanchored).tolist() == [
        int(np.searchsorted(samples.t, moved_s))]
    naive = NaiveOrientation(OrientationSettings()).run(samples.t, samples.acc, samples.gyro)
    np.testing.assert_allclose(as_array(angles), naive, rtol=0, atol=1e-6)
    from analysis.events import CalibrationDone

    for block_n in (10, 777):  # live: an event at its sample, whatever the blocks; the report says it
        analyzer, events = Analyzer(), []
        for i in range(0, len(samples), block_n):
            events += analyzer.push(samples[i : i + block_n])
        assert [e.t_s for e in events if isinstance(e, CalibrationDone) and e.refreshed] == [moved_s - samples.t[0]]
        assert any(note.startswith("The sensor turned on the body 1 time (the last seen at") and "by 60°" in note
                   for note in analyzer.finish().notes)


def test_a_turn_of_less_than_sensor_moved_min_deg_stays() -> None:
    """Turned 10 deg: within the standing poses a lifter shows, so nothing is taken again."""
    _, samples = _turned_on_the_body(10.0)
    orientation = TrunkOrientation()
    orientation.process(samples)
    assert orientation.sensor_moves == (0, None, None)


def test_a_side_stretch_with_a_wobble_is_not_a_turned_sensor() -> None:
    """A side stretch of 20 deg held 4 s, with a wobble in it that breaks the stillness: the lean turns the up
    vector about the skin normal as a turned sensor would, seen in two still runs, but 1-2 s apart (the still
    test takes a second after the wobble), not after a movement (SEPARATE_S): nothing is taken again, and the
    bends after it read right. (With 0.5 s, the second review found it taken for a turn.)"""
    track = _bends(Track(), 2, 50.0, stand_s=3.0)
    track.move(1.5, lateral_deg=20.0)
    track.hold(1.5)
    track.move(0.6, lateral_deg=20.5)  # the wobble
    track.hold(2.5)
    track.move(1.5, lateral_deg=0.0)
    truth, samples, orientation, angles = _worn(_bends(track, 2, 60.0, stand_s=2.0), 8)
    assert orientation.sensor_moves == (0, None, None)
    np.testing.assert_allclose(angles.flexion_deg, truth, atol=1.5)


@pytest.mark.parametrize("with_plane", [True, False])
def test_a_second_pass_from_the_standing_pose_found_measures_from_the_first_sample(with_plane: bool) -> None:
    """Begun in a set-up held at 50 deg: the causal pass measures from there until the rest (50 deg off) and
    finds standing. A second pass begun from that pose (`standing`; `backcheck analyze` does it) is right from the
    first sample with the sagittal plane the first pass decided from it; deciding its own, from when the tilt has
    settled (a second: until then the axis is a guess, here mirrored); the first still moment replaces nothing; and
    any split of the recording gives the same angles."""
    truth, samples, first, angles = _begun_bent_over()
    pose = first.standing_found
    assert pose is not None and pose.flexion_axis is not None
    assert np.abs(angles.flexion_deg[:100] - truth[:100]).min() > 40.0  # (the first pass, before the rest)
    if not with_plane:
        pose = pose._replace(flexion_axis=None, sign_final=False)
    second = TrunkOrientation(standing=pose)
    again = second.process(samples)
    assert second.neutral_t_s is None and second.reanchored_t_s is None
    settled = slice(0 if with_plane else 100, None)  # (100 Hz)
    np.testing.assert_allclose(again.flexion_deg[settled], truth[settled], atol=1.5)
    naive = NaiveOrientation(OrientationSettings(), standing=pose).run(samples.t, samples.acc, samples.gyro)
    np.testing.assert_allclose(as_array(again), naive, rtol=0, atol=1e-6)
    split, cuts = TrunkOrientation(standing=pose), [0, 37, 380, 381, 900, len(samples)]
    parts = [split.process(Samples(samples.t[a:b], samples.acc[a:b], samples.gyro[a:b]))
             for a, b in zip(cuts, cuts[1:], strict=False)]
    np.testing.assert_array_equal(np.concatenate([p.flexion_deg for p in parts]), again.flexion_deg)
    with pytest.raises(ValueError, match="up vector"):
        TrunkOrientation(standing=pose._replace(up=np.zeros(3)))


def test_a_first_neutral_that_was_standing_stays() -> None:
    """Begun standing, then bent over 50 deg and held still 6 s (a row's set-up): the first neutral can be
    standing, so nothing replaces it and the hold reads 50 deg."""
    track = Track()
    track.hold(3.0)
    _held(_held(track, 50.0, 1.5, 6.0), 0.0, 1.5, 2.0)
    truth, samples, orientation, angles = _worn(track, 6)
    assert orientation.reanchored_t_s is None
    np.testing.assert_allclose(angles.flexion_deg, truth, atol=1.5)


def test_a_lean_back_first_is_turned_round_by_the_next_bend() -> None:
    """The plane's sign is decided on the first large excursion, taken to be forward. A stretch leaning back
    first makes every angle mirrored until a bend past sign_check_deg comes back up: from then on it is right."""
    truth, samples, orientation, angles = _worn(_lean_back_then_bends(), 3)
    flipped = orientation.sign_flipped_t_s
    assert flipped is not None and 11.0 < flipped - samples.t[0] < 12.6  # on the way up from the first bend
    before, after = samples.t < flipped, samples.t >= flipped
    np.testing.assert_allclose(angles.flexion_deg[before], -truth[before], atol=1.0)  # mirrored
    np.testing.assert_allclose(angles.flexion_deg[after], truth[after], atol=1.0)
    naive = NaiveOrientation(OrientationSettings()).run(samples.t, samples.acc, samples.gyro)
    np.testing.assert_allclose(as_array(angles), naive, rtol=0, atol=1e-6)
    analyzer = Analyzer(events=False)
    analyzer.push(samples)
    assert any("a lean back" in note and f"until {flipped - samples.t[0]:.1f} s" in note
               for note in analyzer.finish().notes)


def test_a_lean_back_first_is_turned_round_without_a_gyroscope_too() -> None:
    truth, samples, orientation, angles = _worn(_lean_back_then_bends(), 3, accelerometer_only=True)
    flipped = orientation.sign_flipped_t_s
    assert flipped is not None and 11.0 < flipped - samples.t[0] < 13.0
    after = samples.t >= flipped
    assert np.sqrt(np.mean((angles.flexion_deg[after] - truth[after]) ** 2)) < 5.0  # the accelerometer's tilt


@pytest.mark.parametrize("lie_s", [20.0, 4.0])
def test_lying_down_on_a_bench_does_not_turn_the_sign_round(lie_s: float) -> None:
    """Lying back on a bench (-90 deg, held longer than sign_check_s) is not a bend, nor is a lean back short
    of sign_check_deg held for a few seconds: the sign stays."""
    track = Track()
    track.hold(3.0)
    track.move(1.5, flexion_deg=40.0)  # decides the plane, short of confirming it
    track.move(1.5, flexion_deg=0.0)
    track.hold(2.0)
    track.move(3.0, flexion_deg=-90.0 if lie_s > 8.0 else -45.0)
    track.hold(lie_s)
    track.move(3.0, flexion_deg=0.0)
    track.hold(2.0)
    truth, samples, orientation, angles = _worn(track, 4)
    assert orientation.sign_flipped_t_s is None
    np.testing.assert_allclose(angles.flexion_deg, truth, atol=1.5)


def test_a_live_view_is_told_when_forward_and_back_are_turned_round() -> None:
    """Live, the turn is an event (at its sample, whatever the blocks), and the display says what happened."""
    import io

    from analysis.events import ForwardCorrected
    from sensor.live.display import LiveDisplay

    _, samples, orientation, _ = _worn(_lean_back_then_bends(), 3)
    for block_n in (10, 777):
        analyzer, events = Analyzer(), []
        for i in range(0, len(samples), block_n):
            events += analyzer.push(samples[i : i + block_n])
        turned = [e for e in events if isinstance(e, ForwardCorrected)]
        assert [e.t_s for e in turned] == [orientation.sign_flipped_t_s - samples.t[0]]
    out = io.StringIO()
    display = LiveDisplay(out, tty=False)
    display.on_event(turned[0])
    assert "forward and back were swapped until now" in out.getvalue()


def test_a_bias_learnt_in_a_slow_movement_is_learnt_again() -> None:
    """A recording that begins in a slow lean (3 deg/s, taken for stillness: the first bias is learnt from it,
    3 deg/s off) gets its bias right at the next rest, where gravity stays put for bias_check_s while the
    gyroscope, with that bias taken off, still reads a turn (before, the wrong bias made the still test fail
    for the rest of the session: every later angle drifted)."""
    true_bias_dps = np.array([0.8, -1.2, 0.5])
    track = Track()
    track.move(2.0, flexion_deg=6.0)
    for _ in range(2):
        track.move(1.5, flexion_deg=50.0)
        track.move(1.5, flexion_deg=0.0)
    track.hold(6.0)  # a rest
    for _ in range(3):
        track.move(1.5, flexion_deg=50.0)
        track.move(1.5, flexion_deg=0.0)
    rng = np.random.default_rng(1)
    device = Device(gyro_bias_dps=tuple(true_bias_dps), gyro_noise_dps=0.1)
    mounting = Mounting(taping_deg=30.0, face="out", lordosis_deg=8.0)
    t_true, t_rec = sample_times(track.t_s, 100.0, device, rng)
    rot, acc_w, omega = segment_motion(track, t_true, mounting.lever_m)
    acc, gyro = measure(rot, acc_w, omega, mounting, device, rng)
    truth = track.evaluate(t_true)
    orientation = TrunkOrientation()
    angles = orientation.process(Samples(t_rec, acc, gyro))
    after_rest = t_rec > t_rec[0] + 17.0
    err = angles.flexion_deg - truth[:, 0]
    assert np.sqrt(np.mean(err[after_rest] ** 2)) < 1.0
    # (3 deg/s off before; the rest's first seconds include the end of the move into it)
    assert np.abs(np.degrees(orientation.gyro_bias_radps) - true_bias_dps).max() < 0.5
    naive = NaiveOrientation(OrientationSettings())
    twin = np.array([naive.step(t, a, g)[0] for t, a, g in zip(t_rec, acc, gyro, strict=True)])
    np.testing.assert_allclose(angles.flexion_deg, twin, atol=1e-6)
