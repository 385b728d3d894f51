"""Exercises: set and rep specifications, their random draw, and their keyframes on a `Track`.

Rep patterns and boundaries follow the simulator contract (docs/simulator.md): top-start
(squat, rdl, good-morning), floor-start (deadlift) and trunk-still (bent-over-row, lat-pulldown).
Faults: rounding (a 12-20 deg flexion pulse with a 0.3 s rise ending at the bottom, or at the bar
leaving the floor), momentum (rushed eccentric, no dwell at the turn, a sharp V reversal that
overshoots by 2-4 deg, a 0.35-0.6 s concentric; trunk-still: an 8-15 deg heave at 75-110 deg/s),
partial (35-60 % of the set's range; trunk-still: 40-60 % of the pull's excursion) and twist
(15-30 deg axial twist and/or 10-20 deg lateral bend peaking at the turn).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from sensor.simulator.body import Track

PATTERNS = {
    "deadlift": "floor-start",
    "rdl": "top-start",
    "good-morning": "top-start",
    "squat": "top-start",
    "bent-over-row": "trunk-still",
    "lat-pulldown": "trunk-still",
}
EXERCISES = tuple(PATTERNS)
FAULTS = ("rounding", "momentum", "partial", "twist")
SEAT_DROP_M = 0.45
_V_SHARPNESS = 6.0  # turn acceleration of a momentum rep, in units of range / (shorter phase)^2
_ROUNDING_RISE_S = 0.3

# exercise -> (depth or base inclination deg, hip drop m, hips back m) ranges
_PROFILES = {
    "deadlift": ((45.0, 75.0), (0.20, 0.35), (0.10, 0.20)),
    "rdl": ((55.0, 80.0), (0.03, 0.10), (0.10, 0.20)),
    "good-morning": ((65.0, 90.0), (0.02, 0.08), (0.08, 0.15)),
    "squat": ((30.0, 50.0), (0.35, 0.60), (0.05, 0.15)),
    "bent-over-row": ((35.0, 60.0), (0.05, 0.12), (0.08, 0.15)),
    "lat-pulldown": ((-20.0, -5.0), (SEAT_DROP_M, SEAT_DROP_M), (0.15, 0.15)),
}


@dataclass(frozen=True)
class RepSpec:
    """One rep as the lifter performs it (durations s, angles deg).

    depth_offset_deg moves this rep's bottom (top-start), floor (floor-start, where the rep puts the
    bar down) or base inclination (trunk-still) from the set's; top_offset_deg moves its standing top
    or lockout. lateral_deg / twist_deg: peak lateral bend / axial twist during the rep.
    rounding_deg, rebound_deg, rom_ratio, heave_deg carry the faults named in `labels`.
    """

    eccentric_s: float
    pause_bottom_s: float
    concentric_s: float
    pause_top_s: float
    depth_offset_deg: float = 0.0
    top_offset_deg: float = 0.0
    lateral_deg: float = 0.0
    twist_deg: float = 0.0
    labels: tuple[str, ...] = ()
    rounding_deg: float = 0.0
    rebound_deg: float = 0.0
    rom_ratio: float = 1.0
    heave_deg: float = 0.0


@dataclass(frozen=True)
class SetSpec:
    """One set: the exercise's set-up, its reps, and the hold before standing up again.

    depth_deg: bottom (top-start), set-up floor flexion (floor-start) or base inclination
    (trunk-still), deg. hip_drop_m / hip_back_m: hip translation at that depth, m.
    excursion_deg: trunk-still pull's trunk excursion, deg. setup_s / ready_s / finish_s /
    standup_s: set-up move, hold before rep 1, hold after the last rep, move back to standing, s.
    """

    exercise: str
    depth_deg: float
    hip_drop_m: float
    hip_back_m: float
    reps: tuple[RepSpec, ...]
    excursion_deg: float = 0.0
    setup_s: float = 1.8
    ready_s: float = 1.5
    finish_s: float = 0.8
    standup_s: float = 1.6

    @property
    def pattern(self) -> str:
        return PATTERNS[self.exercise]


@dataclass(frozen=True)
class TruthRep:
    """A rep's exact boundaries (s from the first sample) and shape; 1-based index within the set."""

    index: int
    start_s: float
    turn_s: float
    end_s: float
    eccentric_s: float
    pause_bottom_s: float | None
    concentric_s: float
    pause_top_s: float | None
    peak_flexion_deg: float = math.nan
    rom_deg: float = math.nan
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class TruthSet:
    """A set's reps; start_s / end_s are the first rep's start and the last rep's end, s."""

    index: int
    exercise: str
    pattern: str
    start_s: float
    end_s: float
    reps: list[TruthRep]


def random_set(
    rng: np.random.Generator,
    exercise: str,
    n_reps: int,
    fault_kinds: tuple[str, ...],
    faults: dict[int, str] | None = None,
    tempo_scale: float = 1.0,
) -> SetSpec:
    """Draw a set: depth, tempo (concentric slowing ~3 %/rep with fatigue) and faulty reps.

    faults: 1-based rep -> label; None draws 0-2 of `fault_kinds` on reps 3 and later. tempo_scale
    stretches every phase and pause of the reps (tempo work, grinding heavy reps), not a bounce's.
    """
    pattern = PATTERNS[exercise]
    depth, drop, back = (float(rng.uniform(*r)) for r in _PROFILES[exercise])
    ecc, pb, conc, pt = (
        rng.uniform(1.2, 2.6),
        rng.uniform(0.2, 0.8),
        rng.uniform(0.9, 1.4),
        rng.uniform(0.5, 1.6),
    )
    kinds = tuple(k for k in fault_kinds if not (pattern == "trunk-still" and k == "rounding"))
    if faults is None:
        faults = {}
        if kinds and n_reps >= 3:
            n_faulty = int(rng.integers(0, min(2, n_reps - 2) + 1))
            for k in rng.choice(np.arange(3, n_reps + 1), size=n_faulty, replace=False):
                faults[int(k)] = str(rng.choice(kinds))
    reps = []
    for k in range(1, n_reps + 1):
        vary = rng.uniform(0.9, 1.1, 4)
        reps.append(
            RepSpec(
                eccentric_s=tempo_scale * float(np.clip(ecc * vary[0], 1.2, 3.0)),
                pause_bottom_s=tempo_scale * float(np.clip(pb * vary[1], 0.2, 1.0)),
                concentric_s=tempo_scale * float(np.clip(conc * vary[2] * (1 + 0.03 * (k - 1)), 0.9, 1.8)),
                pause_top_s=tempo_scale * float(np.clip(pt * vary[3], 0.5, 2.0)),
                depth_offset_deg=float(rng.uniform(-1.5, 1.5)),
                top_offset_deg=float(rng.uniform(-1.0, 1.0)),
                lateral_deg=float(rng.uniform(-1.5, 1.5)),
                twist_deg=float(rng.uniform(-2.0, 2.0)),
            )
        )
    for k, label in sorted(faults.items()):
        reps[k - 1] = _with_fault(reps[k - 1], label, pattern, rng)
        if label in ("rounding", "momentum") and k >= 2 and pattern == "floor-start":
            # the previous rep's floor is this rep's start: keep it nominal; touch-and-go for momentum
            wait = 0.0 if label == "momentum" else max(reps[k - 2].pause_bottom_s, 0.45)
            reps[k - 2] = replace(reps[k - 2], depth_offset_deg=0.0, pause_bottom_s=wait)
    return SetSpec(
        exercise,
        depth,
        drop,
        back,
        tuple(reps),
        excursion_deg=float(rng.uniform(1.5, 4.0)),
        setup_s=float(rng.uniform(1.5, 2.5)),
        ready_s=float(rng.uniform(1.0, 2.0)),
        finish_s=float(rng.uniform(0.5, 1.2)),
        standup_s=float(rng.uniform(1.3, 2.0)),
    )


def _with_fault(rep: RepSpec, label: str, pattern: str, rng: np.random.Generator) -> RepSpec:
    if label not in FAULTS:
        raise ValueError(f"unknown fault {label!r}; expected one of {FAULTS}")
    if label == "rounding" and pattern == "trunk-still":
        raise ValueError("rounding is not simulated on trunk-still exercises")
    rep = replace(rep, labels=(*rep.labels, label))
    if label == "rounding":
        return replace(rep, rounding_deg=float(rng.uniform(12.0, 20.0)), depth_offset_deg=0.0)
    if label == "partial":
        lo, hi = (0.4, 0.6) if pattern == "trunk-still" else (0.35, 0.6)
        return replace(rep, rom_ratio=float(rng.uniform(lo, hi)))
    if label == "twist":
        sign = rng.choice([-1.0, 1.0], 2)
        which = rng.integers(0, 3)  # 0 twist, 1 lateral bend, 2 both
        return replace(
            rep,
            twist_deg=float(sign[0] * rng.uniform(15, 30)) if which != 1 else rep.twist_deg,
            lateral_deg=float(sign[1] * rng.uniform(10, 20)) if which != 0 else rep.lateral_deg,
        )
    if pattern == "trunk-still":
        heave = float(rng.uniform(8.0, 15.0))
        return replace(rep, heave_deg=heave, concentric_s=1.875 * heave / float(rng.uniform(75.0, 110.0)))
    turn_pause = {"pause_bottom_s": 0.0} if pattern == "top-start" else {"pause_top_s": 0.0}
    return replace(
        rep,
        eccentric_s=float(rng.uniform(0.5, 0.9)),
        concentric_s=float(rng.uniform(0.35, 0.6)),
        rebound_deg=float(rng.uniform(2.0, 4.0)),
        **turn_pause,
    )


def _hips(track: Track, base: tuple[float, float], back_m: float, drop_m: float) -> dict[str, float]:
    heading = math.radians(track.value("heading_deg"))
    return {
        "hip_x_m": base[0] - back_m * math.cos(heading),
        "hip_y_m": base[1] - back_m * math.sin(heading),
        "hip_z_m": -drop_m,
    }


def _turn_accel(rep: RepSpec, range_deg: float) -> dict[str, float]:
    shorter_s = min(rep.eccentric_s, rep.concentric_s)
    return {"flexion_deg": _V_SHARPNESS * range_deg / shorter_s**2}


def sit_down(track: Track, duration_s: float, lean_deg: float, seated_deg: float) -> float:
    """Lower the hips onto a seat (SEAT_DROP_M) leaning forward on the way down; returns the end time."""
    base = (track.value("hip_x_m"), track.value("hip_y_m"))
    track.move(duration_s * 0.55, flexion_deg=lean_deg, **_hips(track, base, 0.10, SEAT_DROP_M * 0.6))
    return track.move(duration_s * 0.45, flexion_deg=seated_deg, **_hips(track, base, 0.15, SEAT_DROP_M))


def stand_up(track: Track, duration_s: float, lean_deg: float) -> float:
    """Rise from a seat (leaning forward to get the weight over the feet); returns the end time."""
    base = _hips(track, (track.value("hip_x_m"), track.value("hip_y_m")), -0.15, 0.0)
    base_xy = (base["hip_x_m"], base["hip_y_m"])
    track.move(duration_s * 0.45, flexion_deg=lean_deg, **_hips(track, base_xy, 0.05, SEAT_DROP_M * 0.7))
    return track.move(duration_s * 0.55, flexion_deg=0.0, **_hips(track, base_xy, 0.0, 0.0))


def perform_set(track: Track, st: SetSpec) -> list[TruthRep]:
    """Append the set (set-up, reps, return to standing) to `track`; returns the reps' boundaries."""
    base = (track.value("hip_x_m"), track.value("hip_y_m"))
    if st.exercise == "lat-pulldown":
        sit_down(track, st.setup_s, lean_deg=15.0, seated_deg=0.0)
        track.move(1.2, flexion_deg=st.depth_deg)
    elif st.pattern != "top-start":
        track.move(st.setup_s, flexion_deg=st.depth_deg, **_hips(track, base, st.hip_back_m, st.hip_drop_m))
    track.hold(st.ready_s)
    perform = {"top-start": _top_start_rep, "floor-start": _floor_start_rep, "trunk-still": _trunk_still_rep}
    reps = [
        perform[st.pattern](track, st, rep, k, base, k == len(st.reps)) for k, rep in enumerate(st.reps, 1)
    ]
    track.hold(st.finish_s)
    if st.exercise == "lat-pulldown":
        track.move(1.0, flexion_deg=0.0)
        stand_up(track, st.standup_s, lean_deg=25.0)
    elif st.pattern != "top-start":
        track.move(st.standup_s, flexion_deg=0.0, **_hips(track, base, 0.0, 0.0))
    return reps


def _finish_rep(
    track: Track, rep: RepSpec, k: int, times: tuple[float, float, float, float], last: bool, pull_first: bool
) -> TruthRep:
    """Add the rep's twist pulse and the rest before the next rep; returns the rep's truth.

    times: start, arrival at the turn, leaving the turn, end (s). A top-start rep lowers first and
    rests at the top; floor-start and trunk-still reps (`pull_first`) rest at the bottom.
    """
    start, arrive, leave, end = times
    track.pulse(
        start,
        arrive - start,
        leave - arrive,
        end - leave,
        lateral_deg=rep.lateral_deg,
        twist_deg=rep.twist_deg,
    )
    rest_s = rep.pause_bottom_s if pull_first else rep.pause_top_s
    if not last:
        track.hold(rest_s)
    first_s, turn_s, second_s, rest = arrive - start, leave - arrive, end - leave, None if last else rest_s
    # TruthRep's phases in order: eccentric, pause at the bottom, concentric, pause at the top
    phases = (second_s, rest, first_s, turn_s) if pull_first else (first_s, turn_s, second_s, rest)
    return TruthRep(k, start, 0.5 * (arrive + leave), end, *phases, labels=rep.labels)


def _top_start_rep(
    track: Track, st: SetSpec, rep: RepSpec, k: int, base: tuple[float, float], last: bool
) -> TruthRep:
    top = rep.top_offset_deg
    bottom = top + rep.rom_ratio * (st.depth_deg + rep.depth_offset_deg - top)
    frac = (bottom - top) / (st.depth_deg - top)
    hips_down = _hips(track, base, st.hip_back_m * frac, st.hip_drop_m * frac)
    start = track.t_s
    if rep.rebound_deg:
        deepest = bottom + rep.rebound_deg
        arrive = track.move(
            rep.eccentric_s, flexion_deg=deepest, accel=_turn_accel(rep, -(deepest - top)), **hips_down
        )
    else:
        arrive = track.move(rep.eccentric_s, flexion_deg=bottom, **hips_down)
    leave = track.hold(rep.pause_bottom_s)
    if rep.rounding_deg:
        track.pulse(
            arrive - _ROUNDING_RISE_S,
            _ROUNDING_RISE_S,
            leave - arrive,
            0.5 * rep.concentric_s,
            flexion_deg=rep.rounding_deg,
        )
    end = track.move(rep.concentric_s, flexion_deg=top, **_hips(track, base, 0.0, 0.0))
    return _finish_rep(track, rep, k, (start, arrive, leave, end), last, pull_first=False)


def _floor_start_rep(
    track: Track, st: SetSpec, rep: RepSpec, k: int, base: tuple[float, float], last: bool
) -> TruthRep:
    floor_start = track.value("flexion_deg")
    floor_end = st.depth_deg + rep.depth_offset_deg
    lockout = floor_start - rep.rom_ratio * (floor_start - rep.top_offset_deg)
    frac = 1.0 - rep.rom_ratio
    hips_up = _hips(track, base, st.hip_back_m * frac, st.hip_drop_m * frac)
    start = track.t_s
    if rep.rounding_deg:
        track.pulse(
            start - _ROUNDING_RISE_S,
            _ROUNDING_RISE_S,
            0.0,
            0.45 * rep.concentric_s,
            flexion_deg=rep.rounding_deg,
        )
    if rep.rebound_deg:
        leaning = lockout - rep.rebound_deg
        arrive = track.move(
            rep.concentric_s, flexion_deg=leaning, accel=_turn_accel(rep, floor_start - leaning), **hips_up
        )
    else:
        arrive = track.move(rep.concentric_s, flexion_deg=lockout, **hips_up)
    leave = track.hold(rep.pause_top_s)
    end = track.move(
        rep.eccentric_s, flexion_deg=floor_end, **_hips(track, base, st.hip_back_m, st.hip_drop_m)
    )
    return _finish_rep(track, rep, k, (start, arrive, leave, end), last, pull_first=True)


def _trunk_still_rep(
    track: Track, st: SetSpec, rep: RepSpec, k: int, base: tuple[float, float], last: bool
) -> TruthRep:
    excursion = rep.heave_deg or st.excursion_deg * rep.rom_ratio
    start = track.t_s
    arrive = track.move(rep.concentric_s, flexion_deg=track.value("flexion_deg") - excursion)
    leave = track.hold(rep.pause_top_s)
    end = track.move(rep.eccentric_s, flexion_deg=st.depth_deg + 0.3 * rep.depth_offset_deg)
    return _finish_rep(track, rep, k, (start, arrive, leave, end), last, pull_first=True)
