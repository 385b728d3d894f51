"""backcheck's simulator: a lifter's lumbar segment, a taped-on IMU, and the ground truth.

    spec = random_session_spec(seed, exercise=None, **overrides)
    recording, truth = simulate_session(spec)
    truth.write(path_stem); load_truth(path)

See docs/simulator.md for frames, angle conventions, rep boundaries and faults.
"""

from sensor.simulator.exercises import EXERCISES, FAULTS, PATTERNS, RepSpec, SetSpec, TruthRep, TruthSet
from sensor.simulator.imu import Device, Mounting
from sensor.simulator.session import (
    ACTIVITIES,
    RATES_HZ,
    TRUTH_SCHEMA,
    SessionSpec,
    Truth,
    load_truth,
    random_session_spec,
    simulate_session,
    truth_paths,
)

__all__ = [
    "ACTIVITIES",
    "EXERCISES",
    "FAULTS",
    "PATTERNS",
    "RATES_HZ",
    "TRUTH_SCHEMA",
    "Device",
    "Mounting",
    "RepSpec",
    "SessionSpec",
    "SetSpec",
    "Truth",
    "TruthRep",
    "TruthSet",
    "load_truth",
    "random_session_spec",
    "simulate_session",
    "truth_paths",
]
