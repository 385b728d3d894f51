"""Coaching texts per flag kind: what a flag means and what to change, in plain words.

Used by the HTML report, the terminal summary and the live view (`cue`). Momentum reads
differently for trunk-still exercises (rows, pulldowns), where it means heaving the torso.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.report import FLAG_KINDS


@dataclass(frozen=True)
class Advice:
    kind: str
    title: str  # a few words, e.g. "Rounded lower back"
    meaning: str  # one or two sentences: what the sensor saw
    changes: tuple[str, ...]  # what to change, most important first
    cue: str  # a short cue to say or show during a set


_ADVICE = {
    "rounding": Advice(
        "rounding",
        "Rounded lower back",
        "Your lower back bent further forward than your own normal reps (or past the limit you set) "
        "at the bottom of the lift, or in a squat your pelvis tucked under at the bottom (butt wink). That is "
        "where the spine takes the most load.",
        (
            "Lighten the load until every rep looks like your first two.",
            "Brace before each rep: breathe in, tighten your belly as if about to be punched, then move.",
            "Hinge at the hips: push your hips back and keep your chest proud instead of bending the back.",
            "Lower the weight more slowly so you can feel where your back starts to round, and stop there.",
            "In a squat, stop just above the depth where your pelvis tucks; a wider stance or raised heels help.",
        ),
        "Brace, flat back",
    ),
    "momentum": Advice(
        "momentum",
        "Bouncing or swinging",
        "The rep was rushed: a fast drop and a bounce out of the bottom, so momentum did part of the work "
        "instead of your muscles.",
        (
            "Control the lowering: take two to three seconds on the way down.",
            "Pause for a moment at the bottom, then lift without a bounce.",
            "If you cannot lift it without bouncing, the load is too heavy for this set.",
        ),
        "Slow down, no bounce",
    ),
    "heave": Advice(
        "momentum",
        "Torso heave",
        "Your upper body swung to help the pull. The trunk should stay almost still and the arms and back "
        "muscles should move the weight.",
        (
            "Keep your torso still: lock your chest angle and only move your arms.",
            "Lighten the load until you can pull without swinging.",
            "Squeeze briefly at the end of the pull and lower under control.",
        ),
        "Chest still, no heave",
    ),
    "partial": Advice(
        "partial",
        "Partial rep",
        "This rep covered much less range than your normal reps in this set.",
        (
            "Use the full range on every rep: the same depth as your first reps.",
            "If the last reps get shorter, stop the set or lighten the load.",
        ),
        "Full range",
    ),
    "twist": Advice(
        "twist",
        "Twisting or leaning sideways",
        "Your trunk rotated or bent to one side during the rep, which loads the spine unevenly.",
        (
            "Keep your hips and shoulders square to the front.",
            "Grip and stance even on both sides; check the bar or handles are loaded evenly.",
            "Brace your core so the trunk cannot turn under load.",
        ),
        "Hips square",
    ),
    "fatigue": Advice(
        "fatigue",
        "Slowing down (fatigue)",
        "Your reps got clearly slower than the fastest rep of the set. Form usually breaks down soon after.",
        (
            "End the set here, or take a few reps off the next set.",
            "Rest longer between sets, or lighten the load for the next set.",
        ),
        "Last good rep? Rack it",
    ),
    "tempo": Advice(
        "tempo",
        "Off your tempo (rushed)",
        "A phase of the rep (the way down, a pause, the way up) was clearly shorter than the tempo you set. "
        "Rushing the lowering or skipping a pause lets momentum and the stretch do the work instead of "
        "your muscles.",
        (
            "Count the way down out loud, or lighten the load until the tempo holds.",
            "Hold pauses still and braced, not just a slow-down.",
        ),
        "Slow down",
    ),
}


def advice(kind: str, pattern: str | None = None) -> Advice:
    """The advice for a flag kind; momentum on a trunk-still exercise is a torso heave."""
    if kind not in FLAG_KINDS:
        raise ValueError(f"unknown flag kind {kind!r}; expected one of {', '.join(FLAG_KINDS)}")
    if kind == "momentum" and pattern == "trunk-still":
        return _ADVICE["heave"]
    return _ADVICE[kind]


def cue(kind: str, pattern: str | None = None) -> str:
    """A short cue for the live view, e.g. "Brace, flat back"."""
    return advice(kind, pattern).cue
