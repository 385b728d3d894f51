"""Coaching flags: each compares one measured value of a rep with a threshold, in stated units.

Defaults and their reasons are in the README ("Flags"). A flag carries the measured value, the
threshold it crossed, the unit and one sentence for the lifter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from analysis.exercises import FLOOR_START, TRUNK_STILL
from analysis.report import Flag, Rep


@dataclass(frozen=True)
class FlagSettings:
    """Flag thresholds, in human units."""

    baseline_reps: int = 2  # the first reps of a set define its baseline depth
    rounding_margin_deg: float = 8.0  # rounding: peak flexion this far past the baseline reps
    flexion_limit_deg: float | None = None  # rounding: personal hinge limit (calibrate / --flexion-limit)
    momentum_max_turn_pause_s: float = 0.12  # momentum: no longer pause than this at the turn ...
    momentum_max_concentric_s: float = 0.7  # ... and a concentric faster than this (bounce, jerk)
    momentum_max_concentric_accelerometer_only_s: float = 0.8  # the same, as timed without a gyroscope (a
    # bounce's concentric keeps the smoothing's spread at its turn: simulated bounced ones measure at most
    # 0.82 s, 95 % under 0.81; controlled ones 0.88 s and up, 1st percentile; the lowest 0.77)
    rounding_bounce_extra_deg: float = 0.0  # rounding on a rep flagged for momentum: this far past the threshold
    rounding_bounce_extra_accelerometer_only_deg: float = 8.0  # the same, as measured without a gyroscope: a
    # bounce's rebound tilts the accelerometer past the trunk (simulated: +3.3 ± 2.9°, up to 10.5°)
    momentum_hips_reversal_mps2: float = 3.0  # momentum on squats: the hips turn up out of the bottom this hard
    momentum_hips_reversal_ratio: float = 3.0  # ... or this many times as hard as the set's earlier reps (their
    momentum_hips_min_reversal_mps2: float = 1.5  # median, from two) and at least this hard
    heave_sway_deg: float = 6.0  # momentum on trunk-still lifts: trunk swing larger than this ...
    heave_velocity_dps: float = 30.0  # ... or a trunk velocity higher than this
    partial_fraction: float = 0.7  # partial: range of motion below this fraction of the set's median
    twist_deg: float = 10.0  # twist: axial rotation during the rep beyond this
    lateral_deg: float = 10.0  # twist: lateral bend during the rep beyond this
    fatigue_loss_pct: float = 30.0  # fatigue: peak trunk velocity this far below the set's best rep
    min_rounding_flexion_deg: float = 20.0  # no rounding flag for reps shallower than this
    rounding_tuck_deg: float = 6.0  # rounding on squats (butt wink): the pelvis tucks under at the bottom,
    # tipping the sensor back and forward again this far as the hips turn (needs a gyroscope) ...
    rounding_tuck_window_s: float = 0.6  # ... each way within this time
    tempo_eccentric_s: float | None = None  # tempo: the prescribed phases (--tempo E-P-C-P; None: no target) ...
    tempo_pause_bottom_s: float | None = None
    tempo_concentric_s: float | None = None
    tempo_pause_top_s: float | None = None
    tempo_tolerance_s: float = 0.5  # ... a phase this much shorter than prescribed was rushed

    @cached_property
    def tempo_prescribed(self) -> bool:
        """Is a tempo prescribed (any of its phases)?"""
        return (self.tempo_eccentric_s is not None or self.tempo_pause_bottom_s is not None
                or self.tempo_concentric_s is not None or self.tempo_pause_top_s is not None)


def rounding_threshold_deg(settings: FlagSettings, baseline_peak_deg: float | None) -> float | None:
    """The flexion (deg) past which a rep counts as rounded: the lower of baseline+margin and the limit."""
    limit_deg = settings.flexion_limit_deg
    if baseline_peak_deg is None:
        return limit_deg
    past_baseline_deg = baseline_peak_deg + settings.rounding_margin_deg
    return past_baseline_deg if limit_deg is None else min(past_baseline_deg, limit_deg)


def rounding_flag(rep: Rep, threshold_deg: float | None, crossed_s: float, baseline_deg: float | None,
                  settings: FlagSettings, extra_deg: float = 0.0) -> Flag | None:
    """Peak flexion past threshold_deg (`rounding_threshold_deg`) + extra_deg (a bounced rep measured by
    the accelerometer alone: `rounding_bounce_extra_deg`)."""
    if threshold_deg is None or rep.peak_flexion_deg <= threshold_deg + extra_deg:
        return None
    if rep.peak_flexion_deg < settings.min_rounding_flexion_deg:
        return None
    if baseline_deg is not None and threshold_deg == baseline_deg + settings.rounding_margin_deg:
        why = f"{rep.peak_flexion_deg - baseline_deg:.0f}° past the depth of your first reps"
    else:
        why = f"past your flexion limit of {threshold_deg:.0f}°"
    return Flag(
        "rounding", crossed_s, round(rep.peak_flexion_deg, 2), round(threshold_deg + extra_deg, 2), "deg",
        f"Your lower back rounded: {why}. Reduce the load, brace, and push the hips back.",
    )


def tuck_flag(rep: Rep, tuck_deg: float | None, settings: FlagSettings) -> Flag | None:
    """A squat's butt wink: the pelvis tucked under at the bottom by more than `rounding_tuck_deg`
    (analysis.squats.pelvis_tuck_deg); None when not measured (not a squat, or no gyroscope)."""
    if tuck_deg is None or tuck_deg <= settings.rounding_tuck_deg:
        return None
    return Flag("rounding", rep.turn_s, round(tuck_deg, 1), settings.rounding_tuck_deg, "deg",
                f"Butt wink: your pelvis tucked under at the bottom, rounding your lower back {tuck_deg:.0f}°. "
                "Stop just above the depth where it happens; a slightly wider stance or raised heels help.")


def momentum_flag(rep: Rep, pattern: str, turn_pause_s: float | None, settings: FlagSettings,
                  hips_reversal_mps2: float | None = None, set_reversal_mps2: float | None = None) -> Flag | None:
    """Ballistic concentric with no pause at the turn, or a torso heave on trunk-still lifts; on squats
    timed by the hips (whose leaky height shows no pause to time), hips reversing hard at the bottom:
    harder than `momentum_hips_reversal_mps2`, or than `momentum_hips_reversal_ratio` times the set's
    earlier reps (set_reversal_mps2, their median) and `momentum_hips_min_reversal_mps2`."""
    if hips_reversal_mps2 is not None:
        threshold = settings.momentum_hips_reversal_mps2
        if set_reversal_mps2 is not None:
            threshold = min(threshold, max(settings.momentum_hips_min_reversal_mps2,
                                           settings.momentum_hips_reversal_ratio * set_reversal_mps2))
        if hips_reversal_mps2 < threshold:
            return None
        return Flag("momentum", rep.turn_s, round(hips_reversal_mps2, 2), round(threshold, 2),
                    "m/s²", f"Bounce: your hips turned up out of the bottom at {hips_reversal_mps2 / 9.81:.2f} g. "
                    "Control the descent and drive up without bouncing.")
    if pattern == TRUNK_STILL:
        sway = rep.sway_deg or 0.0
        if sway > settings.heave_sway_deg:
            return Flag("momentum", rep.turn_s, round(sway, 2), settings.heave_sway_deg, "deg",
                        f"Torso heave: your trunk swung {sway:.0f}° to move the weight. "
                        "Keep the trunk still and let the arms and back muscles pull.")
        if rep.peak_velocity_dps > settings.heave_velocity_dps:
            return Flag("momentum", rep.turn_s, round(rep.peak_velocity_dps, 1), settings.heave_velocity_dps,
                        "dps", "Torso jerk: your trunk rocked fast during the pull. Keep it still.")
        return None
    if rep.concentric_s is None or turn_pause_s is None:
        return None
    if turn_pause_s <= settings.momentum_max_turn_pause_s and rep.concentric_s < settings.momentum_max_concentric_s:
        where = "off the floor" if pattern == FLOOR_START else "out of the bottom"
        return Flag("momentum", rep.start_s if pattern == FLOOR_START else rep.turn_s,
                    round(rep.concentric_s, 2), settings.momentum_max_concentric_s, "s",
                    f"Bounce: you came {where} in {rep.concentric_s:.1f} s with no pause. "
                    "Control the turn and drive without bouncing.")
    return None


def twist_flag(rep: Rep, settings: FlagSettings) -> Flag | None:
    if rep.peak_twist_deg is not None and rep.peak_twist_deg > settings.twist_deg:
        return Flag("twist", rep.turn_s, round(rep.peak_twist_deg, 1), settings.twist_deg, "deg",
                    f"Your trunk twisted {rep.peak_twist_deg:.0f}° during the rep. Keep hips and shoulders square.")
    if rep.peak_lateral_deg is not None and rep.peak_lateral_deg > settings.lateral_deg:
        return Flag("twist", rep.turn_s, round(rep.peak_lateral_deg, 1), settings.lateral_deg, "deg",
                    f"Your trunk bent {rep.peak_lateral_deg:.0f}° to the side. Keep the load centred and hips level.")
    return None


def fatigue_flag(rep: Rep, best_velocity_dps: float, settings: FlagSettings) -> Flag | None:
    if best_velocity_dps <= 0:
        return None
    loss = 100.0 * (1.0 - rep.peak_velocity_dps / best_velocity_dps)
    if loss <= settings.fatigue_loss_pct:
        return None
    return Flag("fatigue", rep.end_s, round(loss, 1), settings.fatigue_loss_pct, "%",
                f"Rep speed dropped {loss:.0f}% from your best rep: fatigue is setting in; "
                "consider ending the set before form breaks down.")


_TEMPO_PHASES = {  # Rep field -> (what the lifter did, what to do)
    "eccentric_s": ("Rushed the way down", "Lower under control"),
    "pause_bottom_s": ("Cut the pause at the bottom short", "Hold the bottom, braced"),
    "concentric_s": ("Rushed the way up", "Drive at the tempo you set"),
    "pause_top_s": ("Cut the pause at the top short", "Reset and brace at the top"),
}


def tempo_flag(phases_s: Mapping[str, float | None], turn_s: float, settings: FlagSettings) -> Flag | None:
    """The phase (Rep field -> s, None where unknown) furthest short of the prescribed tempo
    (`tempo_*_s`), when more than `tempo_tolerance_s` short: rushed. None without a prescription."""
    if not settings.tempo_prescribed:
        return None
    targets = (settings.tempo_eccentric_s, settings.tempo_pause_bottom_s, settings.tempo_concentric_s,
               settings.tempo_pause_top_s)
    worst = None
    for name, target in zip(_TEMPO_PHASES, targets, strict=True):
        value = phases_s[name]
        if target is not None and value is not None:
            short_s = target - settings.tempo_tolerance_s - value
            if short_s > 0 and (worst is None or short_s > worst[0]):
                worst = (short_s, name, value, target)
    if worst is None:
        return None
    _, name, value, target = worst
    did, do = _TEMPO_PHASES[name]
    return Flag("tempo", turn_s, round(value, 2), round(target - settings.tempo_tolerance_s, 2), "s",
                f"{did}: {value:.1f} s where your tempo asks for {target:g} s. {do}.")


def partial_flag(rep: Rep, median_rom_deg: float, settings: FlagSettings) -> Flag | None:
    limit = settings.partial_fraction * median_rom_deg
    if rep.rom_deg >= limit:
        return None
    pct = 100.0 * rep.rom_deg / median_rom_deg
    return Flag("partial", rep.turn_s, round(rep.rom_deg, 2), round(limit, 2), "deg",
                f"Partial rep: {pct:.0f}% of your usual range. Use the full range, or lighten the load.")
