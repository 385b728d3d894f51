"""`backcheck replay PATH`: a recording through the live view and cues, paced in real time or faster.

Nothing is recorded and nothing goes into the history; the report printed at the end is the one
`backcheck analyze PATH` gives (with --out, its report.json, trace.csv and plots are written there).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sensor.live.cmd_live import add_session_arguments, run_live
from sensor.live.sources import parse_speed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="a recording in any supported format")
    parser.add_argument("--speed", default="1", metavar="X",
                        help="1 = real time (default), 4 = four times faster, max = as fast as possible")
    add_session_arguments(parser)


def run(args: argparse.Namespace) -> int:
    spec = f"replay:{args.path}@{args.speed}"
    parse_speed(args.speed, spec)  # a bad --speed is reported before anything starts
    report = run_live(spec, args, record_path=None, replayed_path=args.path)
    return 0 if report is not None else 1
