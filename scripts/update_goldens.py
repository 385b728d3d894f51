"""Regenerate the golden summaries of the bundled recordings (tests/golden/*.json).

    .venv/bin/python scripts/update_goldens.py

Run it when a change to the analysis is meant to change its results, and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ("demo_deadlift.csv",)
PHASES = ("eccentric_s", "pause_bottom_s", "concentric_s", "pause_top_s")


def summary(report: dict) -> dict:
    """What a golden pins down: sets, exercises, reps with times (s), depth (deg) and flags."""
    return {
        "sets": [
            {
                "exercise": s["exercise"],
                "pattern": s["pattern"],
                "reps": [
                    {
                        "start_s": round(r["start_s"], 2),
                        "turn_s": round(r["turn_s"], 2),
                        "end_s": round(r["end_s"], 2),
                        "peak_flexion_deg": round(r["peak_flexion_deg"], 1),
                        **{k: None if r[k] is None else round(r[k], 2) for k in PHASES},
                        "flags": sorted(f["kind"] for f in r["flags"]),
                    }
                    for r in s["reps"]
                ],
            }
            for s in report["sets"]
        ]
    }


def main() -> None:
    from sensor.cmd_analyze import analyze_recording

    for name in RECORDINGS:
        report = analyze_recording(ROOT / "recordings" / name, history=False)
        path = ROOT / "tests" / "golden" / (Path(name).stem + ".summary.json")
        path.write_text(json.dumps(summary(report.to_dict()), indent=1) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
