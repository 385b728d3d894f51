"""Streaming events the Analyzer emits from `push()` for live use.

Each event carries `t_s`, the time in the data (seconds from the first sample) at which the
analyzer could first know it, so latency is measured in data time, not wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.report import Flag, Rep, SetReport


@dataclass(frozen=True)
class PostureUpdate:
    """Current trunk angles, decimated (see AnalyzerSettings.posture_update_hz)."""

    t_s: float
    flexion_deg: float  # signed: forward +, leaning back -
    lateral_deg: float  # signed lateral bend
    in_set: bool


@dataclass(frozen=True)
class CalibrationDone:
    """Neutral standing pose captured: at the first stillness, or (refreshed) again where the first stillness was
    not standing or the sensor turned on the body (analysis.orientation, item 3)."""

    t_s: float
    neutral_tilt_deg: float  # sensor tilt from vertical while standing, for the user's information
    refreshed: bool


@dataclass(frozen=True)
class ForwardCorrected:
    """The trunk's forward and back were swapped until now (the orientation's sign check: the first large
    movement was a lean back, taken for a bend forward); the angles are right from t_s on."""

    t_s: float


@dataclass(frozen=True)
class SetStarted:
    t_s: float
    set_index: int
    exercise: str
    exercise_guessed: bool


@dataclass(frozen=True)
class RepCompleted:
    t_s: float
    set_index: int
    rep: Rep


@dataclass(frozen=True)
class FlagRaised:
    """A flag, raised the moment it is known (a rounding flag as the flexion crosses the limit)."""

    t_s: float
    set_index: int
    rep_index: int  # the rep in progress or just completed
    flag: Flag


@dataclass(frozen=True)
class SetDiscarded:
    """An announced set turned out not to be one (a single bend): forget its reps."""

    t_s: float
    set_index: int


@dataclass(frozen=True)
class SetEnded:
    t_s: float
    set_report: SetReport


Event = (PostureUpdate | CalibrationDone | ForwardCorrected | SetStarted | RepCompleted | FlagRaised | SetDiscarded
         | SetEnded)
