"""A whole simulated session: still start, sets, rests (stand, walk, sit, plate pick-up), and truth.

`random_session_spec` draws everything that varies (exercise, sets, reps, tempo, faults, mounting,
device, rate, rests) from a seed; `simulate_session` turns a spec into a `Recording` and its
`Truth` deterministically (device noise and dropouts come from the spec's seed too).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from analysis.samples import Samples
from sensor.errors import InputError, OverwriteError
from sensor.recording import Recording, RecordingMeta
from sensor.simulator.body import Track, segment_motion, walk
from sensor.simulator.exercises import (
    EXERCISES,
    FAULTS,
    PATTERNS,
    SetSpec,
    TruthRep,
    TruthSet,
    perform_set,
    random_set,
    sit_down,
    stand_up,
)
from sensor.simulator.imu import Device, Mounting, measure, sample_times

ACTIVITIES = ("stand", "walk", "sit", "plate-pickup")
RATES_HZ = (25.0, 50.0, 52.0, 100.0, 104.0, 200.0, 400.0)
_LOAD_KG = {
    "deadlift": (60, 220),
    "rdl": (40, 140),
    "good-morning": (20, 80),
    "squat": (40, 180),
    "bent-over-row": (30, 100),
    "lat-pulldown": (30, 90),
}
_MIN_S = {"stand": 2.0, "walk": 6.0, "sit": 8.0, "plate-pickup": 3.0}

Activities = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class SessionSpec:
    """Everything a simulated session is made of.

    activities[i]: (activity, duration s) blocks before set i; the last entry follows the last set
    (so there are len(sets) + 1 entries; the first starts with the still standing start).
    """

    seed: int
    exercise: str
    sets: tuple[SetSpec, ...]
    activities: tuple[Activities, ...]
    rate_hz: float
    mounting: Mounting
    device: Device
    load_kg: float


def random_session_spec(seed: int, exercise: str | None = None, **overrides: Any) -> SessionSpec:
    """Draw a session from `seed`; the same seed gives the same motion whatever the overrides.

    Overrides: sets (int), reps (int or one int per set), faults (iterable of (set, rep, label),
    1-based; empty for none), fault_kinds (labels drawn from), rate_hz, noise (False: ideal device,
    no dropouts), dropouts (bool), taping_deg, face, lordosis_deg, mounting (Mounting), device
    (Device), load_kg, rest_activities (allowed activities), start_still_s, end_still_s, tempo_scale
    (stretches every rep's phases and pauses; a bounce's stay fast).
    """
    unknown = set(overrides) - {
        "sets",
        "reps",
        "faults",
        "fault_kinds",
        "rate_hz",
        "noise",
        "dropouts",
        "taping_deg",
        "face",
        "lordosis_deg",
        "mounting",
        "device",
        "load_kg",
        "rest_activities",
        "start_still_s",
        "end_still_s",
        "tempo_scale",
    }
    if unknown:
        raise TypeError(f"unknown override(s) {sorted(unknown)}")
    r_session, r_sets, r_rests, r_device = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    drawn = str(r_session.choice(EXERCISES))
    exercise = exercise or drawn
    if exercise not in PATTERNS:
        raise ValueError(f"unknown exercise {exercise!r}; expected one of {EXERCISES}")
    n_sets = int(overrides.get("sets", r_session.integers(2, 5)))
    reps = overrides.get("reps", r_session.integers(4, 11, size=n_sets))
    reps = [int(reps)] * n_sets if np.ndim(reps) == 0 else [int(r) for r in reps]
    if n_sets < 1 or min(reps) < 1 or not 1.0 <= float(overrides.get("rate_hz", 100.0)) <= 10000.0:
        raise ValueError(f"sets and reps must be 1 or more and rate_hz 1-10000, got sets={n_sets}, reps={reps}, "
                         f"rate_hz={overrides.get('rate_hz')}")
    rate_hz = (
        float(r_session.choice(RATES_HZ))
        if r_session.uniform() < 0.7
        else round(r_session.uniform(25, 400), 1)
    )
    mounting = Mounting(
        taping_deg=float(r_session.uniform(0, 360)),
        face=str(r_session.choice(["out", "in"])),
        lordosis_deg=float(r_session.uniform(-5, 15)),
        lever_back_m=float(r_session.uniform(0.06, 0.12)),
        lever_up_m=float(r_session.uniform(0.08, 0.20)),
    )
    load_kg = float(round(r_session.uniform(*_LOAD_KG[exercise]) / 2.5) * 2.5)
    device = Device.random(r_device)

    kinds = tuple(overrides.get("fault_kinds", FAULTS))
    placed = overrides.get("faults")
    sets = []
    for i in range(n_sets):
        fixed = None if placed is None else {r: label for s, r, label in placed if s == i + 1}
        if fixed and min(fixed) < 3 or fixed and max(fixed) > reps[i]:
            raise ValueError(f"set {i + 1}: faults go on reps 3..{reps[i]}, got reps {sorted(fixed)}")
        sets.append(random_set(r_sets, exercise, reps[i], kinds, fixed, float(overrides.get("tempo_scale", 1.0))))
    allowed = tuple(overrides.get("rest_activities", ACTIVITIES))
    still_s = float(overrides.get("start_still_s", r_rests.uniform(5.0, 10.0)))
    activities = [(("stand", still_s),)]
    activities += [_random_rest(r_rests, allowed) for _ in range(n_sets - 1)]
    end_still_s = float(r_rests.uniform(2.0, 5.0))
    activities.append((("stand", float(overrides.get("end_still_s", end_still_s))),))
    if exercise in ("deadlift", "lat-pulldown"):  # walk up to the bar / the machine
        activities[:-1] = [(*a, ("walk", float(r_rests.uniform(2.5, 4.0)))) for a in activities[:-1]]

    mounting = overrides.get("mounting", mounting)
    mounting = replace(
        mounting, **{k: overrides[k] for k in ("taping_deg", "face", "lordosis_deg") if k in overrides}
    )
    device = overrides.get("device", device if overrides.get("noise", True) else Device())
    if "dropouts" in overrides:
        device = replace(
            device, dropouts_per_min=float(r_device.uniform(0.5, 4.0)) if overrides["dropouts"] else 0.0
        )
    return SessionSpec(
        seed=seed,
        exercise=exercise,
        sets=tuple(sets),
        activities=tuple(activities),
        rate_hz=float(overrides.get("rate_hz", rate_hz)),
        mounting=mounting,
        device=device,
        load_kg=float(overrides.get("load_kg", load_kg)),
    )


def _random_rest(rng: np.random.Generator, allowed: tuple[str, ...]) -> Activities:
    """15-40 s of one to three activities."""
    total_s = float(rng.uniform(15.0, 40.0))
    names = [str(a) for a in rng.choice(allowed, size=int(rng.integers(1, 4)))]
    names = [a for i, a in enumerate(names) if i == 0 or a != names[i - 1]]
    if all(a == "plate-pickup" for a in names):
        names.append("stand")
    durations = [float(rng.uniform(3.0, 5.0)) if a == "plate-pickup" else _MIN_S[a] for a in names]
    free = [i for i, a in enumerate(names) if a != "plate-pickup"]
    spare = max(total_s - sum(durations), 0.0)
    for i, w in zip(free, rng.dirichlet(np.ones(len(free))), strict=True):
        durations[i] += spare * float(w)
    return tuple(zip(names, durations, strict=True))


def simulate_session(spec: SessionSpec) -> tuple[Recording, Truth]:
    """Run the session: body motion -> sensor readings at the device's sample instants -> truth."""
    r_style, r_device = (np.random.default_rng(s) for s in np.random.SeedSequence([spec.seed, 7]).spawn(2))
    track = Track()
    rests: list[tuple[float, float, str]] = []
    truth_sets = []
    for i, st in enumerate(spec.sets):
        rests += _do_activities(track, spec.activities[i], r_style)
        reps = perform_set(track, st)
        truth_sets.append(TruthSet(i + 1, st.exercise, st.pattern, reps[0].start_s, reps[-1].end_s, reps))
    rests += _do_activities(track, spec.activities[-1], r_style)

    t_true, t_rec = sample_times(track.t_s, spec.rate_hz, spec.device, r_device)
    rot_wb, acc_w, omega_b = segment_motion(track, t_true, spec.mounting.lever_m)
    acc, gyro = measure(rot_wb, acc_w, omega_b, spec.mounting, spec.device, r_device)
    angles = track.evaluate(t_true)[:, :3]
    truth_sets = [replace(s, reps=[_shape(track, r) for r in s.reps]) for s in truth_sets]
    meta = RecordingMeta(
        format="simulated",
        device="backcheck simulator",
        placement=spec.mounting.placement(),
        sample_rate_hz=spec.rate_hz,
        notes={"exercise": spec.exercise, "seed": spec.seed, "simulated": True, "load_kg": spec.load_kg},
    )
    truth = Truth(
        exercise=spec.exercise,
        seed=spec.seed,
        sample_rate_hz=spec.rate_hz,
        load_kg=spec.load_kg,
        mounting=spec.mounting,
        sets=truth_sets,
        rests=rests,
        trace_t_s=t_rec,
        flexion_deg=angles[:, 0],
        lateral_deg=angles[:, 1],
        twist_deg=angles[:, 2],
    )
    return Recording(Samples(t_rec, acc, gyro), meta), truth


def _shape(track: Track, rep):
    """Fill a rep's peak flexion and range of motion from the trajectory (1 ms grid)."""
    flexion = track.evaluate(np.arange(rep.start_s, rep.end_s + 5e-4, 1e-3))[:, 0]
    return replace(rep, peak_flexion_deg=float(flexion.max()), rom_deg=float(flexion.max() - flexion.min()))


def _do_activities(
    track: Track, activities: Activities, rng: np.random.Generator
) -> list[tuple[float, float, str]]:
    done = []
    for name, duration_s in activities:
        start = track.t_s
        if name == "stand":
            track.hold(duration_s)
        elif name == "walk":
            walk(track, duration_s, rng)
        elif name == "sit":
            move_s = float(rng.uniform(1.5, 2.2))
            sit_down(track, move_s, lean_deg=float(rng.uniform(10, 25)), seated_deg=float(rng.uniform(3, 10)))
            track.hold(duration_s - 2 * move_s)
            stand_up(track, move_s, lean_deg=float(rng.uniform(20, 30)))
        elif name == "plate-pickup":
            _plate_pickup(track, duration_s, rng)
        else:
            raise ValueError(f"unknown activity {name!r}; expected one of {ACTIVITIES}")
        done.append((start, track.t_s, name))
    return done


def _plate_pickup(track: Track, duration_s: float, rng: np.random.Generator) -> None:
    """One bend to 70-95 deg and back (down 40 %, hold 20 %, up 40 % of the time)."""
    heading = math.radians(track.value("heading_deg"))
    x, y = track.value("hip_x_m"), track.value("hip_y_m")
    back, drop = float(rng.uniform(0.1, 0.2)), float(rng.uniform(0.08, 0.2))
    track.move(
        0.4 * duration_s,
        flexion_deg=float(rng.uniform(70, 95)),
        hip_x_m=x - back * math.cos(heading),
        hip_y_m=y - back * math.sin(heading),
        hip_z_m=-drop,
    )
    track.hold(0.2 * duration_s)
    track.move(0.4 * duration_s, flexion_deg=0.0, hip_x_m=x, hip_y_m=y, hip_z_m=0.0)


TRUTH_SCHEMA = "backcheck.truth/1"
TRACE_COLUMNS = ("t_s", "flexion_deg", "lateral_deg", "twist_deg")
ANGLES_NOTE = (
    "deg, lumbar segment relative to standing, R_WB = Rz(heading - twist) Rx(lateral) Ry(flexion): with up = "
    "the vertical in the segment frame (x anterior, y left, z cranial), flexion = atan2(-up_x, up_z) "
    "(forward +), lateral = asin(up_y) (right +); twist about the vertical, right +"
)


@dataclass(eq=False)
class Truth:
    """What really happened in a simulated session (times in s from the first sample, angles in deg).

    The trace holds the true trunk angles at the recording's sample times: flexion (forward +),
    lateral bend (right +) and axial twist (right +) of the lumbar segment relative to standing,
    with R_WB = Rz(heading - twist) Rx(lateral) Ry(flexion) (see body.py). rests: (start_s, end_s,
    activity) blocks between sets; a set's own set-up and stand-up moves lie between them and its reps.
    """

    exercise: str
    seed: int
    sample_rate_hz: float
    load_kg: float
    mounting: Mounting
    sets: list[TruthSet]
    rests: list[tuple[float, float, str]]
    trace_t_s: np.ndarray
    flexion_deg: np.ndarray
    lateral_deg: np.ndarray
    twist_deg: np.ndarray

    def write(self, path_stem: str | os.PathLike, *, force: bool = False) -> tuple[Path, Path]:
        """Write <stem>.truth.json and <stem>.truth.csv; never overwrites without `force`."""
        json_path, csv_path = truth_paths(path_stem)
        for path in (json_path, csv_path):
            if path.exists() and not force:
                raise OverwriteError(path)
        doc = {
            "schema": TRUTH_SCHEMA,
            "exercise": self.exercise,
            "seed": self.seed,
            "sample_rate_hz": self.sample_rate_hz,
            "load_kg": self.load_kg,
            "mounting": asdict(self.mounting),
            "angles": ANGLES_NOTE,
            "trace": csv_path.name,
            "sets": [
                {
                    **{k: v for k, v in asdict(s).items() if k != "reps"},
                    "reps": [{**asdict(r), "labels": list(r.labels)} for r in s.reps],
                }
                for s in self.sets
            ],
            "rests": [{"start_s": a, "end_s": b, "activity": name} for a, b, name in self.rests],
        }
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        trace = np.column_stack([self.trace_t_s, self.flexion_deg, self.lateral_deg, self.twist_deg])
        np.savetxt(
            csv_path,
            trace,
            fmt=["%.6f", "%.4f", "%.4f", "%.4f"],
            delimiter=",",
            header=",".join(TRACE_COLUMNS),
            comments="",
        )
        return json_path, csv_path


def truth_paths(path_stem: str | os.PathLike) -> tuple[Path, Path]:
    """(<stem>.truth.json, <stem>.truth.csv); a recording path's .csv suffix is dropped first."""
    stem = str(path_stem)
    for suffix in (".truth.json", ".truth.csv", ".csv"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return Path(stem + ".truth.json"), Path(stem + ".truth.csv")


def load_truth(path: str | os.PathLike) -> Truth:
    """Read a truth file (the .truth.json, its stem, or the recording's path) and its trace."""
    json_path, _ = truth_paths(path)
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{json_path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{json_path}: not a readable JSON truth file ({err})") from None
    if not isinstance(doc, dict) or doc.get("schema") != TRUTH_SCHEMA:
        raise InputError(f"{json_path}: expected schema {TRUTH_SCHEMA!r}")
    csv_path = json_path.with_name(doc["trace"])
    try:
        with open(csv_path, encoding="utf-8") as f:
            header = f.readline().strip()
            trace = np.loadtxt(f, delimiter=",", ndmin=2)
    except FileNotFoundError:
        raise InputError(f"{csv_path}: no such file (the truth trace named in {json_path.name})") from None
    except ValueError as err:
        raise InputError(f"{csv_path}: expected four numeric columns ({err})") from None
    if header != ",".join(TRACE_COLUMNS) or trace.shape[1] != 4:
        raise InputError(f"{csv_path}, line 1: expected columns {','.join(TRACE_COLUMNS)}")
    sets = [
        TruthSet(**{**s, "reps": [TruthRep(**{**r, "labels": tuple(r["labels"])}) for r in s["reps"]]})
        for s in doc["sets"]
    ]
    return Truth(
        exercise=doc["exercise"],
        seed=doc["seed"],
        sample_rate_hz=doc["sample_rate_hz"],
        load_kg=doc["load_kg"],
        mounting=Mounting(**doc["mounting"]),
        sets=sets,
        rests=[(r["start_s"], r["end_s"], r["activity"]) for r in doc["rests"]],
        trace_t_s=trace[:, 0],
        flexion_deg=trace[:, 1],
        lateral_deg=trace[:, 2],
        twist_deg=trace[:, 3],
    )
