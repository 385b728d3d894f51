"""What an analysis produces: flags, reps, sets and the session report (schema backcheck.report/1).

Times are seconds from the first sample of the recording; a value that does not apply is None
(null in JSON). Every field is always present.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = "backcheck.report/1"

FLAG_KINDS = ("rounding", "momentum", "partial", "twist", "fatigue", "tempo")


@dataclass(frozen=True)
class Flag:
    """One coaching flag on a rep: what was measured, the threshold it crossed and a sentence."""

    kind: str  # one of FLAG_KINDS
    t_s: float  # when it happened (s from the first sample)
    value: float
    threshold: float
    unit: str  # "deg", "dps", "s", "%", ...
    message: str


@dataclass(frozen=True)
class Rep:
    """One repetition. Phases in seconds; angles in degrees; peak_velocity_dps in degrees/second."""

    index: int  # 1-based within the set
    start_s: float
    turn_s: float
    end_s: float
    eccentric_s: float | None
    pause_bottom_s: float | None
    concentric_s: float | None
    pause_top_s: float | None
    tempo: str  # "eccentric-pause-concentric-pause", e.g. "2-0-1-1"
    peak_flexion_deg: float
    rom_deg: float
    peak_velocity_dps: float
    sway_deg: float | None  # trunk-still exercises: trunk excursion; else None
    peak_lateral_deg: float | None = None
    peak_twist_deg: float | None = None  # axial rotation during the rep (integrated gyro); None without gyro
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class SetReport:
    index: int  # 1-based within the session
    exercise: str
    exercise_guessed: bool  # True when the analyzer chose the exercise from the movement
    pattern: str  # "top-start", "floor-start" or "trunk-still"
    start_s: float
    end_s: float
    reps: tuple[Rep, ...]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordingInfo:
    path: str | None
    format: str
    duration_s: float
    sample_rate_hz: float
    accelerometer_only: bool
    device: str | None = None
    placement: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    dropped_samples: int = 0
    gaps: int = 0


@dataclass(frozen=True)
class SessionReport:
    recording: RecordingInfo
    sets: tuple[SetReport, ...]
    settings: dict[str, Any]
    notes: tuple[str, ...] = ()  # plain sentences, e.g. the reduced accuracy of accelerometer-only mode
    software: str = "backcheck"

    def to_dict(self) -> dict[str, Any]:
        out = {"schema": SCHEMA, **asdict(self)}
        return _clean(out)

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @property
    def reps(self) -> list[tuple[SetReport, Rep]]:
        return [(s, r) for s in self.sets for r in s.reps]


def _clean(obj: Any) -> Any:
    """Tuples to lists, NaN/inf to None, numpy scalars to Python numbers."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def report_from_dict(data: dict[str, Any]) -> SessionReport:
    """Rebuild a SessionReport from its JSON form (as written by `to_dict`)."""
    if data.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} report (schema is {data.get('schema')!r})")
    sets = []
    for s in data["sets"]:
        reps = tuple(
            Rep(**{**r, "flags": tuple(Flag(**f) for f in r["flags"])}) for r in s["reps"]
        )
        sets.append(SetReport(**{**s, "reps": reps}))
    return SessionReport(
        recording=RecordingInfo(**data["recording"]),
        sets=tuple(sets),
        settings=data["settings"],
        notes=tuple(data.get("notes", ())),
        software=data.get("software", "backcheck"),
    )
