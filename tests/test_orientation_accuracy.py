"""Trunk flexion against the simulator's truth: whole sessions, every exercise, random taping and devices.

Fixed seeds; a larger sweep lives in scripts/sweep_orientation.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.orientation import TrunkOrientation
from analysis.samples import Samples
from sensor.simulator import EXERCISES, random_session_spec, simulate_session

SEEDS = range(2000, 2018)  # 18 sessions, three of each exercise


def _flexion(seed: int, accelerometer_only: bool = False):
    exercise = EXERCISES[seed % len(EXERCISES)]
    rec, truth = simulate_session(random_session_spec(seed, exercise))
    samples = Samples(rec.samples.t, rec.samples.acc, None if accelerometer_only else rec.samples.gyro)
    angles = TrunkOrientation(accelerometer_only=accelerometer_only).process(samples)
    return angles, truth


def _peak_errors(angles, truth) -> list[float]:
    errors = []
    for st in truth.sets:
        for rep in st.reps:
            sel = (angles.t_s >= rep.start_s) & (angles.t_s <= rep.end_s)
            errors.append(abs(angles.flexion_deg[sel].max() - rep.peak_flexion_deg))
    return errors


@pytest.mark.parametrize("seed", SEEDS)
def test_flexion_rmse_and_sign(seed: int) -> None:
    angles, truth = _flexion(seed)
    err = angles.flexion_deg - truth.flexion_deg
    # target 1.5 deg; deep good-mornings (80-90 deg) with 1.5 % gyroscope scale error reach ~1.6-2.0
    assert np.sqrt(np.mean(err**2)) <= 2.0
    bent = np.abs(truth.flexion_deg) > 5.0
    assert np.mean(np.sign(angles.flexion_deg[bent]) == np.sign(truth.flexion_deg[bent])) > 0.99
    assert np.mean(_peak_errors(angles, truth)) <= 2.0


def test_mean_figures_over_the_seeds() -> None:
    rmse, peak = [], []
    for seed in SEEDS:
        angles, truth = _flexion(seed)
        rmse.append(np.sqrt(np.mean((angles.flexion_deg - truth.flexion_deg) ** 2)))
        peak += _peak_errors(angles, truth)
    assert np.mean(rmse) <= 1.0
    assert np.mean(peak) <= 1.0


@pytest.mark.parametrize("seed", [2000, 2003, 2007])
def test_accelerometer_only_is_signed_and_within_a_few_degrees(seed: int) -> None:
    angles, truth = _flexion(seed, accelerometer_only=True)
    err = angles.flexion_deg - truth.flexion_deg
    assert np.sqrt(np.mean(err**2)) <= 8.0
    bent = truth.flexion_deg > 20.0
    assert np.mean(angles.flexion_deg[bent] > 0) > 0.95


def test_a_twist_while_bent_over_does_not_turn_the_sagittal_plane() -> None:
    """Seed 336 as a row session: the lifter bends over to ~36 deg and stays there, so the first excursion
    never turned back and the sagittal plane kept being refined through the set; a twisted rep (lateral
    bend -15 deg, axial twist -19 deg) turned the plane with it: lateral bend RMSE 13.5 deg over the
    session, flexion off by 2.5 deg during the twist, and that rep was lost. The plane's refinement also
    ends once the excursion is held still. Tolerance: lateral bend RMSE 1 deg (the session's other rows)."""
    rec, truth = simulate_session(random_session_spec(336, "bent-over-row"))
    angles = TrunkOrientation().process(rec.samples)
    assert np.sqrt(np.mean((angles.lateral_deg - truth.lateral_deg) ** 2)) <= 1.0
    twisted = (truth.trace_t_s > 25.2) & (truth.trace_t_s < 27.0)  # lateral -15.5 deg, held
    assert np.abs(angles.lateral_deg[twisted] - truth.lateral_deg[twisted]).max() <= 2.0
    assert np.abs(angles.flexion_deg[twisted] - truth.flexion_deg[twisted]).max() <= 1.5
