"""Accuracy sweep of the analyzer over simulated sessions (the larger sibling of the accuracy test).

    .venv/bin/python scripts/sweep_analysis.py --sessions 60 [--auto] [--accelerometer-only] [--tempo-scale K]
        [--verbose]

Seeds 0..N-1; exercises cycle through the six of the simulator so every one is covered. Prints a
line per session below rep F1 0.98 and the totals: rep F1, sets with the exact rep count, eccentric /
concentric duration error, peak-flexion error, trunk-flexion RMSE, rounding / momentum precision and
recall; then rep F1, exact sets and phase errors per exercise.
"""

from __future__ import annotations

import argparse

import numpy as np

from analysis.analyzer import Analyzer
from analysis.evaluate import Score, score_sets
from analysis.samples import Samples
from sensor.simulator import random_session_spec, simulate_session

EXERCISES = ("deadlift", "rdl", "good-morning", "squat", "bent-over-row", "lat-pulldown")


def run_session(seed: int, exercise: str, auto: bool, accelerometer_only: bool, tempo_scale: float = 1.0,
                ) -> tuple[Score, float]:
    """Score one simulated session; returns (score, trunk flexion RMSE in degrees)."""
    rec, truth = simulate_session(random_session_spec(seed, exercise=exercise, tempo_scale=tempo_scale))
    samples = rec.samples
    if accelerometer_only:
        samples = Samples(samples.t, samples.acc, None)
    analyzer = Analyzer(exercise=None if auto else exercise, accelerometer_only=accelerometer_only, events=False)
    analyzer.push(samples)
    report = analyzer.finish()
    trace = analyzer.trace()
    t_truth = truth.trace_t_s - truth.trace_t_s[0]
    flexion_true = np.interp(trace.t_s, t_truth, truth.flexion_deg)
    rmse = float(np.sqrt(np.mean((trace.flexion_deg - flexion_true) ** 2)))
    return score_sets(report, truth.sets), rmse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--auto", action="store_true", help="do not tell the analyzer the exercise")
    parser.add_argument("--accelerometer-only", action="store_true")
    parser.add_argument("--tempo-scale", type=float, default=1.0,
                        help="stretch every rep's phases and pauses (slow tempo work; default 1)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    total = Score()
    by_exercise = {exercise: Score() for exercise in EXERCISES}
    rmses = []
    for seed in range(args.first_seed, args.first_seed + args.sessions):
        exercise = EXERCISES[seed % len(EXERCISES)]
        score, rmse = run_session(seed, exercise, args.auto, args.accelerometer_only, args.tempo_scale)
        total.merge(score)
        by_exercise[exercise].merge(score)
        rmses.append(rmse)
        if args.verbose or score.f1 < 0.98:
            print(f"seed {seed:3d} {exercise:14s} rmse {rmse:5.2f}° {score.summary()}")
    print("sessions", args.sessions, "auto" if args.auto else "exercise given",
          "accelerometer-only" if args.accelerometer_only else "",
          f"tempo x{args.tempo_scale:g}" if args.tempo_scale != 1.0 else "")
    summary = total.summary()
    summary["flexion_rmse_deg_mean"] = round(float(np.mean(rmses)), 3)
    summary["flexion_rmse_deg_max"] = round(float(np.max(rmses)), 3)
    for key, value in summary.items():
        print(f"  {key:28s} {value}")
    print("  reps (truth / found / matched)", total.truth, total.found, total.true_positives)
    for exercise, score in by_exercise.items():
        if score.sets:
            s = score.summary()
            print(f"  {exercise:14s} rep F1 {s['rep_f1']:.3f}, exact sets {s['sets_exact_pct']:5.1f} % "
                  f"({score.sets_exact}/{score.sets}), eccentric / concentric {s['eccentric_mae_s']:.3f} / "
                  f"{s['concentric_mae_s']:.3f} s"
                  + (f", named right {s['exercise_guessed_right_pct']:.1f} %" if score.sets_named else ""))


if __name__ == "__main__":
    main()
