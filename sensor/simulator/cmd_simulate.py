"""`backcheck simulate`: write a simulated session (recording + truth) for development and demos."""

from __future__ import annotations

import argparse
from pathlib import Path

from sensor.errors import InputError, OverwriteError
from sensor.recording import write_recording
from sensor.simulator.exercises import EXERCISES, FAULTS
from sensor.simulator.session import random_session_spec, simulate_session, truth_paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exercise", choices=EXERCISES, help="exercise (default: drawn from the seed)")
    parser.add_argument("--sets", type=int, help="number of sets (default: 2-4)")
    parser.add_argument("--reps", type=int, help="reps in every set (default: 4-10 per set)")
    parser.add_argument("--rate-hz", type=float, help="sample rate, 25-400 Hz (default: drawn)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"fault kinds to inject at random, comma-separated from {','.join(FAULTS)}, or 'none' "
        "(default: all)",
    )
    parser.add_argument(
        "--noise",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="device noise, bias, scale error, quantisation, jitter and dropouts (default: on)",
    )
    parser.add_argument("--taping-deg", type=float, help="sensor rotation about the skin normal, deg")
    parser.add_argument("--face", choices=("out", "in"), help="sensor face away from the skin or on it")
    parser.add_argument("--load-kg", type=float, help="bar load written to the notes, kg")
    parser.add_argument("--tempo-scale", type=float,
                        help="stretch every rep's phases and pauses, 0.5-4 (tempo work, grinders; default: 1)")
    parser.add_argument("--out", help="recording path (default: simulated-<exercise>-<seed>.csv)")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")


def run(args: argparse.Namespace) -> int:
    kinds = () if args.faults.strip().lower() == "none" else tuple(k.strip() for k in args.faults.split(","))
    for kind in kinds:
        if kind not in FAULTS:
            raise InputError(
                f"--faults: unknown fault {kind!r}; expected some of {','.join(FAULTS)} or 'none'"
            )
    if args.rate_hz is not None and not 25.0 <= args.rate_hz <= 400.0:
        raise InputError(f"--rate-hz: expected 25 to 400 Hz, got {args.rate_hz:g}")
    if args.tempo_scale is not None and not 0.5 <= args.tempo_scale <= 4.0:
        raise InputError(f"--tempo-scale: expected 0.5 to 4, got {args.tempo_scale:g}")
    for name in ("sets", "reps"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise InputError(f"--{name}: expected a positive whole number, got {getattr(args, name)}")
    options = {
        "sets": args.sets,
        "reps": args.reps,
        "rate_hz": args.rate_hz,
        "taping_deg": args.taping_deg,
        "face": args.face,
        "load_kg": args.load_kg,
        "tempo_scale": args.tempo_scale,
    }
    overrides = {k: v for k, v in options.items() if v is not None}
    spec = random_session_spec(args.seed, args.exercise, fault_kinds=kinds, noise=args.noise, **overrides)
    out = Path(args.out or f"simulated-{spec.exercise}-{args.seed}.csv")
    if out.suffix != ".csv":
        raise InputError(f"--out {out}: expected a .csv file name")
    if not args.force:
        for path in (out, *truth_paths(out)):
            if path.exists():
                raise OverwriteError(path)
    recording, truth = simulate_session(spec)
    recording.meta.notes["truth"] = truth_paths(out)[0].name
    recording.meta.notes["command"] = _command(args, spec.exercise)
    write_recording(out, recording, force=args.force)
    json_path, csv_path = truth.write(out, force=args.force)
    reps = [r for s in truth.sets for r in s.reps]
    faulty = [
        f"set {s.index} rep {r.index}: {'+'.join(r.labels)}" for s in truth.sets for r in s.reps if r.labels
    ]
    print(
        f"wrote {out} ({len(recording.samples)} samples, {recording.samples.duration_s:.1f} s at "
        f"{spec.rate_hz:g} Hz; {spec.exercise}, {len(truth.sets)} sets, {len(reps)} reps)"
    )
    print(f"truth: {json_path} and {csv_path}")
    print("faulty reps: " + ("; ".join(faulty) if faulty else "none"))
    return 0


def _command(args: argparse.Namespace, exercise: str) -> str:
    """The command line that reproduces this session."""
    words = ["backcheck simulate", f"--exercise {exercise}", f"--seed {args.seed}", f"--faults {args.faults}"]
    for name in ("sets", "reps", "rate_hz", "taping_deg", "face", "load_kg", "tempo_scale"):
        if getattr(args, name) is not None:
            words.append(
                f"--{name.replace('_', '-')} {getattr(args, name):g}"
                if name != "face"
                else f"--face {args.face}"
            )
    words.append("--noise" if args.noise else "--no-noise")
    return " ".join(words)
