"""A set's numbers in the lifter's terms: tempo notation and the summary of its reps."""

from __future__ import annotations

import math

from analysis.report import Rep
from analysis.stats import median, std


def speed_reference(rep: Rep) -> bool:
    """Can this rep's speed be the set's best for velocity loss? Not a bounced or rounded one."""
    return not rep.flags or not any(f.kind in ("momentum", "rounding") for f in rep.flags)


def tempo(eccentric_s: float | None, pause_bottom_s: float | None, concentric_s: float | None,
          pause_top_s: float | None) -> str:
    """eccentric-pause_bottom-concentric-pause_top in whole seconds ('?' where unknown)."""
    return (f"{'?' if eccentric_s is None else round(eccentric_s)}-"
            f"{'?' if pause_bottom_s is None else round(pause_bottom_s)}-"
            f"{'?' if concentric_s is None else round(concentric_s)}-"
            f"{'?' if pause_top_s is None else round(pause_top_s)}")


def summary(reps: list[Rep], baseline_deg: float | None, rounding_threshold_deg: float | None) -> dict:
    """The set report's summary of its reps: counts, tempo means, time under tension, consistency and
    velocity loss (s, deg, deg/s, %); baseline_deg and rounding_threshold_deg as the set used them."""
    durations = [r.end_s - r.start_s for r in reps]
    velocities = [r.peak_velocity_dps for r in reps]
    clean = [r.peak_velocity_dps for r in reps if speed_reference(r)]
    best = max(clean) if clean else max(velocities)
    counts: dict[str, int] = {}
    for r in reps:
        for f in r.flags:
            counts[f.kind] = counts.get(f.kind, 0) + 1
    means = {}
    for name in ("eccentric_s", "pause_bottom_s", "concentric_s", "pause_top_s"):
        values = [v for r in reps if (v := r.__dict__[name]) is not None]
        means[f"mean_{name}"] = round(math.fsum(values) / len(values), 2) if values else None
    time_under_tension_s = math.fsum(durations)
    duration_sd_s = std(durations)
    return {
        "reps": len(reps),
        "flagged_reps": sum(1 for r in reps if r.flags),
        "flags": counts,
        "time_under_tension_s": round(time_under_tension_s, 2),
        **means,
        "rep_duration_cv_pct": round(100 * duration_sd_s / (time_under_tension_s / len(durations)), 1),
        "peak_flexion_sd_deg": round(std([r.peak_flexion_deg for r in reps]), 2),
        "baseline_peak_flexion_deg": None if baseline_deg is None else round(baseline_deg, 2),
        "rounding_threshold_deg": None if rounding_threshold_deg is None else round(rounding_threshold_deg, 2),
        "median_rom_deg": round(median([r.rom_deg for r in reps]), 2),
        "best_velocity_dps": round(best, 1),
        "velocity_loss_pct": round(100 * (1 - velocities[-1] / best), 1) if best > 0 else None,
    }
