"""Trunk-flexion accuracy of `TrunkOrientation` over many simulated sessions.

    .venv/bin/python scripts/sweep_orientation.py [--seeds 60] [--first 1000] [--accelerometer-only]

Prints, per session, the flexion RMSE over the whole session, the RMSE after the sagittal plane is
decided, the mean absolute peak-flexion error over the reps and whether the sign came out right;
then the summary over all sessions.
"""

from __future__ import annotations

import argparse

import numpy as np

from analysis.orientation import TrunkOrientation
from sensor.simulator import EXERCISES, random_session_spec, simulate_session


def evaluate(seed: int, exercise: str, accelerometer_only: bool = False) -> dict:
    """Simulate one session and compare the filter's flexion with the truth."""
    rec, truth = simulate_session(random_session_spec(seed, exercise))
    samples = rec.samples
    if accelerometer_only:
        samples = type(samples)(samples.t, samples.acc, None)
    orientation = TrunkOrientation(accelerometer_only=accelerometer_only)
    angles = orientation.process(samples)
    err = angles.flexion_deg - truth.flexion_deg
    decided = orientation.sagittal_decided_t_s
    after = angles.t_s >= (decided if decided is not None else np.inf)
    peak_err = []
    for st in truth.sets:
        for rep in st.reps:
            sel = (angles.t_s >= rep.start_s) & (angles.t_s <= rep.end_s)
            peak_err.append(abs(angles.flexion_deg[sel].max() - rep.peak_flexion_deg))
    moving = np.abs(truth.flexion_deg) > 10.0
    sign_ok = bool(np.mean(np.sign(angles.flexion_deg[moving]) == np.sign(truth.flexion_deg[moving])) > 0.9)
    return {
        "seed": seed,
        "exercise": exercise,
        "rate_hz": rec.meta.sample_rate_hz,
        "face": truth.mounting.face,
        "rmse_deg": float(np.sqrt(np.mean(err**2))),
        "rmse_decided_deg": float(np.sqrt(np.mean(err[after] ** 2))) if after.any() else float("nan"),
        "peak_err_deg": float(np.mean(peak_err)),
        "sign_ok": sign_ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("--first", type=int, default=1000, help="first seed")
    parser.add_argument("--accelerometer-only", action="store_true")
    args = parser.parse_args()
    rows = []
    for i in range(args.seeds):
        seed = args.first + i
        row = evaluate(seed, EXERCISES[i % len(EXERCISES)], args.accelerometer_only)
        rows.append(row)
        print(
            f"{row['seed']:6d} {row['exercise']:14s} {row['rate_hz']:6.1f} Hz face {row['face']:3s} "
            f"rmse {row['rmse_deg']:5.2f} (decided {row['rmse_decided_deg']:5.2f}) "
            f"peak {row['peak_err_deg']:5.2f} sign {'ok' if row['sign_ok'] else 'WRONG'}"
        )
    rmse = np.array([r["rmse_deg"] for r in rows])
    peak = np.array([r["peak_err_deg"] for r in rows])
    print(
        f"\n{len(rows)} sessions: flexion RMSE mean {rmse.mean():.2f} deg, median {np.median(rmse):.2f}, "
        f"max {rmse.max():.2f}; peak-flexion error mean {peak.mean():.2f} deg; "
        f"sign right in {sum(r['sign_ok'] for r in rows)}/{len(rows)}"
    )
    for exercise in EXERCISES:
        sel = [r["rmse_deg"] for r in rows if r["exercise"] == exercise]
        if sel:
            print(f"  {exercise:14s} RMSE mean {np.mean(sel):.2f}  max {np.max(sel):.2f}")


if __name__ == "__main__":
    main()
