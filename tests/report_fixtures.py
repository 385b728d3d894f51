"""A realistic analysed session built by hand: a SessionReport and the Trace it was drawn from.

Three sets (deadlift, bent-over row, Romanian deadlift) with rests in between; the trunk flexion
trace is built from the same keyframes as the reps, so phases, peaks, velocities and flags agree
with the trace. Every flag kind occurs at least once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.report import FLAG_KINDS, Flag, RecordingInfo, Rep, SessionReport, SetReport
from analysis.trace import Trace

RATE_HZ = 50.0
FLEXION_LIMIT_DEG = 75.0


@dataclass
class RepSpec:
    eccentric_s: float
    pause_bottom_s: float
    concentric_s: float
    pause_top_s: float
    bottom_deg: float  # stretched/lowered position (deepest flexion; the row's base inclination)
    top_deg: float  # contracted/standing position
    flags: tuple[str, ...] = ()
    lateral_deg: float = 0.0  # peak lateral bend during the rep
    rest_deg: float | None = None  # where the trailing pause ends (the deadlift settles after a rounded rep)


@dataclass
class SetSpec:
    exercise: str
    pattern: str
    start_s: float
    reps: list[RepSpec] = field(default_factory=list)


def _ease(t: np.ndarray, keys: list[tuple[float, float]]) -> np.ndarray:
    """Cosine-eased interpolation through keyframes (t_s, value); flat outside them."""
    kt = np.array([k[0] for k in keys])
    kv = np.array([k[1] for k in keys])
    out = np.interp(t, kt, kv)
    for (t0, v0), (t1, v1) in zip(keys[:-1], keys[1:], strict=True):
        inside = (t >= t0) & (t < t1)
        if t1 > t0:
            u = (t[inside] - t0) / (t1 - t0)
            out[inside] = v0 + (v1 - v0) * (1 - np.cos(np.pi * u)) / 2
    return out


def _phases(pattern: str, r: RepSpec) -> list[tuple[str, float | None, float]]:
    """(phase, duration, flexion at its end) in time order for one rep, trailing pause last."""
    if pattern == "top-start":
        return [("eccentric_s", r.eccentric_s, r.bottom_deg),
                ("pause_bottom_s", r.pause_bottom_s, r.bottom_deg),
                ("concentric_s", r.concentric_s, r.top_deg), ("pause_top_s", r.pause_top_s, r.top_deg)]
    return [("concentric_s", r.concentric_s, r.top_deg), ("pause_top_s", r.pause_top_s, r.top_deg),
            ("eccentric_s", r.eccentric_s, r.bottom_deg),
            ("pause_bottom_s", r.pause_bottom_s, r.rest_deg if r.rest_deg is not None else r.bottom_deg)]


def _flag(kind: str, t_s: float, rep: RepSpec, velocity_loss_pct: float) -> Flag:
    if kind == "rounding":
        return Flag(kind, t_s, rep.bottom_deg, FLEXION_LIMIT_DEG, "deg",
                    f"Trunk flexion reached {rep.bottom_deg:.0f}° (limit {FLEXION_LIMIT_DEG:.0f}°).")
    if kind == "momentum":
        return Flag(kind, t_s, rep.concentric_s, 0.7, "s",
                    f"The lift took {rep.concentric_s:.1f} s with a bounce; control it.")
    if kind == "partial":
        return Flag(kind, t_s, 48.0, 70.0, "%", "Range of motion was 48 % of your normal rep.")
    if kind == "twist":
        return Flag(kind, t_s, rep.lateral_deg, 8.0, "deg",
                    f"Trunk bent {rep.lateral_deg:.0f}° sideways during the rep.")
    if kind == "tempo":
        return Flag(kind, t_s, rep.eccentric_s, 2.5, "s",
                    f"Rushed the way down: {rep.eccentric_s:.1f} s where your tempo asks for 3 s. Lower under control.")
    return Flag(kind, t_s, velocity_loss_pct, 25.0, "%",
                f"Rep speed dropped {velocity_loss_pct:.0f} % from your best rep (speed < 75 % & falling).")


def _session_specs() -> list[SetSpec]:
    dl = SetSpec("deadlift", "floor-start", 20.0)
    for i in range(6):
        flags = {1: ("tempo",), 3: ("rounding",), 5: ("fatigue",)}.get(i, ())
        dl.reps.append(RepSpec(1.4, 0.8 if i < 5 else None, 1.0 + 0.12 * i, 0.6, 62.0 + (-1) ** i
                               + (16 if i == 3 else 0), 1.0, flags, rest_deg=62.0))
    row = SetSpec("bent-over-row", "trunk-still", 110.0)
    for i in range(8):
        flags = {4: ("momentum",), 5: ("twist",), 6: ("partial",)}.get(i, ())
        top = {4: 33.0, 6: 43.5}.get(i, 42.5)
        row.reps.append(RepSpec(1.1, 0.6 if i < 7 else None, 0.35 if i == 4 else 0.8, 0.4, 45.0, top, flags,
                                lateral_deg=14.0 if i == 5 else 1.0))
    rdl = SetSpec("rdl", "top-start", 200.0)
    for i in range(7):
        flags = {2: ("momentum", "twist"), 4: ("partial",), 6: ("rounding", "fatigue")}.get(i, ())
        bottom = {4: 34.0, 6: 84.0}.get(i, 70.0 + (i % 2))
        ecc, pb, conc = (0.7, 0.0, 0.45) if i == 2 else (2.0, 0.4, 1.2 + 0.1 * i)
        rdl.reps.append(RepSpec(ecc, pb, conc, 1.0 if i < 6 else None, bottom, 0.0, flags,
                                lateral_deg=15.0 if i == 2 else 1.0))
    return [dl, row, rdl]


def make_session(accelerometer_only: bool = False, sets: list[SetSpec] | None = None
                 ) -> tuple[SessionReport, Trace]:
    """The report and trace of the hand-built session (or of `sets`)."""
    specs = _session_specs() if sets is None else sets
    duration_s = specs[-1].start_s + 90.0
    t = np.arange(0.0, duration_s, 1.0 / RATE_HZ)
    keys: list[tuple[float, float]] = [(0.0, 0.0)]
    lat_keys: list[tuple[float, float]] = [(0.0, 0.0)]
    set_index = np.zeros(t.size, dtype=np.int64)
    layouts = []
    for k, spec in enumerate(specs, start=1):
        now = spec.start_s
        first_start_deg = spec.reps[0].top_deg if spec.pattern == "top-start" else spec.reps[0].bottom_deg
        keys.append((now, keys[-1][1]))
        if spec.pattern != "top-start":  # set-up bend (deadlift) or taking the row position: not a rep
            now += 1.5
            keys.append((now, first_start_deg))
            now += 0.5
            keys.append((now, first_start_deg))
        rep_times = []
        for r in spec.reps:
            start = now
            bounds = []
            for name, dur, deg in _phases(spec.pattern, r):
                if dur is None:
                    continue
                now += dur
                keys.append((now, deg))
                bounds.append((name, now - dur, now))
            lat_keys += [(start, 0.0), ((start + now) / 2, r.lateral_deg), (now, 0.0)]
            rep_times.append((start, bounds))
        set_end = now + (1.5 if spec.pattern != "top-start" else 0.0)
        keys.append((set_end, 0.0))
        set_index[(t >= spec.start_s) & (t <= set_end)] = k
        layouts.append((spec, rep_times, set_end))
    flexion = _ease(t, keys)
    lateral = _ease(t, lat_keys)
    rate = np.gradient(flexion, t)
    twist_rate = np.full(t.size, np.nan) if accelerometer_only else 0.3 * np.gradient(lateral, t) * 4
    sets = tuple(_set_report(k, spec, rep_times, set_end, t, flexion, rate, lateral)
                 for k, (spec, rep_times, set_end) in enumerate(layouts, start=1))
    notes = ("Accelerometer-only recording: trunk flexion is less accurate during fast movement "
             "and twisting cannot be measured.",) if accelerometer_only else ()
    info = RecordingInfo(path="recordings/fixture-session.csv", format="backcheck", duration_s=float(t[-1]),
                         sample_rate_hz=RATE_HZ, accelerometer_only=accelerometer_only, device="fixture tag",
                         placement="lower back, L3-L5", notes={"start_utc": "2026-03-02T18:30:00Z",
                                                               "recording_sha256": "ab" * 32})
    report = SessionReport(recording=info, sets=sets, settings={"flexion_limit_deg": FLEXION_LIMIT_DEG},
                           notes=notes)
    trace = Trace(t, flexion, lateral, rate, twist_rate, set_index)
    return report, trace


def _set_report(k, spec, rep_times, set_end, t, flexion, rate, lateral) -> SetReport:
    reps = []
    best_v = 0.0
    for i, (r, (start, bounds)) in enumerate(zip(spec.reps, rep_times, strict=True), start=1):
        d = {name: t1 - t0 for name, t0, t1 in bounds}
        end = bounds[2][2]
        turn_phase = "pause_bottom_s" if spec.pattern == "top-start" else "pause_top_s"
        tp = next(b for b in bounds if b[0] == turn_phase)
        turn = (tp[1] + tp[2]) / 2
        inside = (t >= start) & (t <= end)
        v = float(np.max(np.abs(rate[inside])))
        if "momentum" not in r.flags:  # a bounced rep is not the reference speed
            best_v = max(best_v, v)
        loss = 100 * (1 - v / best_v)
        deepest = float(t[inside][np.argmax(flexion[inside])])
        flags = tuple(_flag(kind, deepest if kind == "rounding" else turn, r, loss) for kind in r.flags)
        durations = {p: d.get(p) for p in ("eccentric_s", "pause_bottom_s", "concentric_s", "pause_top_s")}
        tempo = "-".join(f"{(durations[p] or 0):.0f}" for p in durations)
        excursion = float(np.ptp(flexion[inside]))
        reps.append(Rep(index=i, start_s=start, turn_s=turn, end_s=end, tempo=tempo,
                        peak_flexion_deg=float(np.max(flexion[inside])), rom_deg=excursion,
                        peak_velocity_dps=v, sway_deg=excursion if spec.pattern == "trunk-still" else None,
                        peak_lateral_deg=float(np.max(np.abs(lateral[inside]))),
                        peak_twist_deg=None, flags=flags, **durations))
    return SetReport(index=k, exercise=spec.exercise, exercise_guessed=(k == 2), pattern=spec.pattern,
                     start_s=spec.start_s, end_s=set_end, reps=tuple(reps),
                     summary={"reps": len(reps), "best_velocity_dps": best_v})


def all_flags(report: SessionReport) -> list[Flag]:
    return [f for _, r in report.reps for f in r.flags]


assert set(FLAG_KINDS) <= {k for s in _session_specs() for r in s.reps for k in r.flags}
