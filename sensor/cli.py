"""The `backcheck` command line: one subcommand per job.

Each subcommand lives in its own module exposing `add_arguments(parser)` and `run(args) -> int`;
modules are imported only when their subcommand runs, so `backcheck --help` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sensor.errors import EXIT_NOT_AVAILABLE, UserError

# name -> (module, one-line help, issue that brings it)
COMMANDS: dict[str, tuple[str, str, int]] = {
    "analyze": ("sensor.cmd_analyze", "analyze a recording: sets, reps, tempo, flags; writes a report", 3),
    "live": ("sensor.live.cmd_live", "live session from a BLE tag, a phone or the simulator, with cues", 4),
    "record": ("sensor.live.cmd_record", "record a source to a file without analysis", 4),
    "replay": ("sensor.live.cmd_replay", "replay a recording through the live view, paced or fast", 4),
    "scan": ("sensor.ble.cmd_scan", "list nearby BLE devices and the profile each matches", 4),
    "calibrate": ("sensor.cmd_calibrate", "record a careful hinge to set your personal flexion limit", 3),
    "simulate": ("sensor.simulator.cmd_simulate", "simulate a session with ground truth (dev bench, demo)", 2),
    "convert": ("sensor.importers.cmd_convert", "convert any supported input to a backcheck recording", 2),
    "report": ("sensor.cmd_report", "HTML report and plots from an analysis (report.json)", 5),
    "history": ("sensor.cmd_history", "list past sessions, trends over weeks, export the rep table", 5),
}


def _load(name: str):
    module_name, _, issue = COMMANDS[name]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backcheck",
        description="Lower-back IMU coach: finds sets and reps, measures trunk flexion and tempo, "
        "flags rounding, momentum, partial reps, twisting and fatigue.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = sys.argv[1] if len(sys.argv) > 1 else None
    for name, (_, help_text, _) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # only the chosen subcommand's module is imported
            module = _load(name)
            if module is not None:
                module.add_arguments(p)
            else:
                p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:])
    if not args.command:
        parser.print_help()
        return 0
    module = _load(args.command)
    if module is None:
        issue = COMMANDS[args.command][2]
        print(
            f"backcheck {args.command}: not available yet in this version (planned in issue #{issue}).",
            file=sys.stderr,
        )
        return EXIT_NOT_AVAILABLE
    try:
        return int(module.run(args) or 0)
    except UserError as err:
        print(f"backcheck {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"backcheck {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a pager or `head` that stopped reading
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
