"""`backcheck record --source SPEC`: record a source to a file without analysing it."""

from __future__ import annotations

import argparse
from pathlib import Path

from sensor.live.cmd_live import RECORD_HELP, add_source_argument, phone_options, positive_seconds, run_live
from sensor.live.session import dated_recording_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_argument(parser)
    parser.add_argument("--record", metavar="PATH", type=Path, help=RECORD_HELP)
    parser.add_argument("--duration", metavar="S", type=positive_seconds, help="stop after this many seconds of data")
    parser.add_argument("--plain", action="store_true", help="plain lines, even on a terminal")


def run(args: argparse.Namespace) -> int:
    run_live(args.source, args, record_path=args.record or dated_recording_path(), analyse=False,
             **phone_options(args))
    return 0
