"""Exercises backcheck knows, the movement pattern of each, and guessing one from the movement.

Patterns (what a rep looks like to a sensor on the lower back):
- "top-start": from standing, the trunk flexes to a turning point and returns (squat, RDL, good
  morning, hip hinge). Eccentric first.
- "floor-start": from a flexed set-up at the floor the trunk rises to lockout and returns to the
  floor (deadlift and its variants). Concentric first.
- "trunk-still": the trunk holds an inclination while the arms pull; a rep is a small trunk
  excursion whose turning point is the end of the pull (rows, pulldowns). Concentric first.
"""

from __future__ import annotations

TOP_START = "top-start"
FLOOR_START = "floor-start"
TRUNK_STILL = "trunk-still"
PATTERNS = (TOP_START, FLOOR_START, TRUNK_STILL)

EXERCISES: dict[str, str] = {
    "deadlift": FLOOR_START,
    "sumo-deadlift": FLOOR_START,
    "trap-bar-deadlift": FLOOR_START,
    "rdl": TOP_START,
    "stiff-leg-deadlift": TOP_START,
    "good-morning": TOP_START,
    "hip-hinge": TOP_START,
    "squat": TOP_START,
    "front-squat": TOP_START,
    "goblet-squat": TOP_START,
    "bent-over-row": TRUNK_STILL,
    "seated-row": TRUNK_STILL,
    "lat-pulldown": TRUNK_STILL,
}

# Reps seen best in the hips' vertical travel (the trunk's inclination may wobble at the bottom).
HIPS_TRAVEL = frozenset({"squat", "front-squat", "goblet-squat"})


def exercise_name(text: str) -> str:
    """A name as backcheck spells it: lower case, words joined by hyphens ('RDL' -> 'rdl', 'Bent over row' ->
    'bent-over-row'); known or not."""
    return "-".join(text.strip().lower().replace("_", " ").replace("-", " ").split())


def pattern_of(exercise: str) -> str:
    """The movement pattern of a named exercise; raises ValueError naming the known ones."""
    try:
        return EXERCISES[exercise]
    except KeyError:
        known = ", ".join(sorted(EXERCISES))
        raise ValueError(f"unknown exercise {exercise!r}; known: {known}") from None


def guess_exercise(pattern: str, median_peak_flexion_deg: float, home_flexion_deg: float) -> str:
    """A name for a set found without --exercise, from its pattern and depth (a guess, reported as such).

    Top-start depth separates squat (trunk stays fairly upright, < 50°), RDL (50-72°) and good
    morning (deeper); trunk-still separates a bent-over row (trunk forward) from a lat pulldown (trunk
    near upright or leaning back; a seated row looks the same from the lower back and is named a pulldown).
    """
    if pattern == FLOOR_START:
        return "deadlift"
    if pattern == TRUNK_STILL:
        return "bent-over-row" if home_flexion_deg > 25.0 else "lat-pulldown"
    if median_peak_flexion_deg < 50.0:
        return "squat"
    return "rdl" if median_peak_flexion_deg < 72.0 else "good-morning"
