"""`backcheck history`: list past sessions, plot an exercise's trend over weeks, export the rep table."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from analysis.exercises import exercise_name
from analysis.summary_text import clock, plural
from sensor.errors import InputError
from sensor.history import ENV_VAR, History, default_path
from sensor.outputs import prepare_file, writing


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH", help=f"history database (default: ${ENV_VAR} or "
                        "~/.local/share/backcheck/history.sqlite3)")
    parser.add_argument("--exercise", metavar="NAME", type=exercise_name,
                        help="only sessions with a set of this exercise")
    parser.add_argument("--since", metavar="DATE", type=_date,
                        help="only sessions on or after this day (YYYY-MM-DD, UTC)")
    parser.add_argument("--until", metavar="DATE", type=_date,
                        help="only sessions on or before this day (YYYY-MM-DD, UTC)")
    parser.add_argument("--trend", metavar="EXERCISE", help="plot reps, flagged reps per set, peak flexion "
                        "and tempo week by week (needs --out)")
    parser.add_argument("--out", metavar="PNG", help="where --trend writes its plot")
    parser.add_argument("--export-csv", metavar="PATH", help="write the rep table as CSV")
    parser.add_argument("--export-parquet", metavar="PATH", help="write the rep table as Parquet")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")


def _target(path: str, force: bool, suffix: str) -> Path:
    """The file to write, `suffix` added to a name without one (as matplotlib would add .png), checked first."""
    out = Path(path)
    if not out.suffix:
        out = out.with_name(out.name + suffix)
    prepare_file(out, force, (suffix,) if suffix == ".png" else ())
    return out


def _list(h: History, args: argparse.Namespace) -> None:
    rows = h.sessions(args.exercise, args.since, args.until)
    if not rows:
        print("No sessions match." if h.sessions() else f"No sessions stored in {h.path} yet.")
        return
    print(f"{'id':>4}  {'started (UTC)':<17} {'length':>7} {'sets':>4} {'reps':>4} {'flagged':>7}  exercises")
    for r in rows:
        exercises = ", ".join(dict.fromkeys(r.exercises.split(",")))  # each once, in set order
        line = (f"{r.id:>4}  {r.started_utc[:16].replace('T', ' '):<17} {clock(r.duration_s):>7} "
                f"{r.n_sets:>4} {r.n_reps:>4} {r.n_flagged:>7}  {exercises}")
        print(line if len(line) <= 100 else line[:99] + "…")
    print(f"{plural(len(rows), 'session')}, {plural(sum(r.n_reps for r in rows), 'rep')}, "
          f"{sum(r.n_flagged for r in rows)} flagged")


def _trend(h: History, args: argparse.Namespace) -> None:
    from analysis.plots import trend_figure

    if not args.out:
        raise InputError("--trend needs --out PNG: the file to write the plot to")
    weeks = h.trend(args.trend)
    if weeks.empty:
        known = sorted(set(h.rep_table()["exercise"]))
        raise InputError(f"{h.path}: no reps of {args.trend!r} stored (stored exercises: "
                         f"{', '.join(known) or 'none'})")
    out = _target(args.out, args.force, ".png")
    with writing(out):
        trend_figure(weeks, args.trend).savefig(out, dpi=100)
    print(f"{'week':<9} {'sessions':>8} {'sets':>4} {'reps/set':>8} {'flagged/set':>11} {'peak°':>6}  tempo")
    for w in weeks.itertuples():
        tempo = "-".join(f"{x:.1f}" for x in (w.eccentric_s, w.pause_bottom_s, w.concentric_s, w.pause_top_s))
        print(f"{w.week:<9} {w.sessions:>8} {w.sets:>4} {w.reps_per_set:>8.1f} {w.flagged_per_set:>11.1f} "
              f"{w.peak_flexion_deg:>6.1f}  {tempo}")
    print(f"trend plot: {out}")


def run(args: argparse.Namespace) -> int:
    path = Path(args.db).expanduser() if args.db else default_path()
    if not path.exists():
        print(f"No history yet at {path}: sessions are stored by `backcheck analyze` and `backcheck live`.")
        return 0
    filters = {"exercise": args.exercise, "since": args.since, "until": args.until}
    with History(path) as h:
        if args.trend:
            _trend(h, args)
        for dest, export, suffix in ((args.export_csv, h.export_csv, ".csv"),
                                     (args.export_parquet, h.export_parquet, ".parquet")):
            if dest:
                target = _target(dest, args.force, suffix)
                with writing(target):
                    n = export(target, **filters)
                print(f"exported {n} reps to {target}")
        if not (args.trend or args.export_csv or args.export_parquet):
            _list(h, args)
    return 0
