"""`backcheck live --source SPEC`: a live session with the view, cues, a recording and a report at the end.

The session ends when the source ends, on Ctrl-C, after --duration seconds of data or after
--max-sets sets. Then the recording is closed and analysed (report.json, trace.csv, plots, the
summary printed here) and the session is stored in the history.
"""

from __future__ import annotations

import argparse
import asyncio
import math
from pathlib import Path
from typing import Any

from analysis.exercises import exercise_name
from analysis.report import SessionReport
from sensor.cmd_analyze import add_tempo_argument, positive_count
from sensor.errors import InputError
from sensor.live.cues import SENSITIVITY_KINDS, Cues, CueSettings
from sensor.live.display import LiveDisplay
from sensor.live.session import (
    LiveSession,
    dated_recording_path,
    ended_line,
    run_source,
    source_counts,
    warm_analyzer,
    with_source_counts,
)
from sensor.live.sources import SYNTAX, open_source, opened
from sensor.outputs import prepare_analysis_folder, writing
from sensor.recording import RecordingMeta

RECORD_HELP = "record to this file (default: recordings/live-<date>T<time>.csv); never overwrites"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_argument(parser)
    rec = parser.add_mutually_exclusive_group()
    rec.add_argument("--record", metavar="PATH", type=Path, help=RECORD_HELP)
    rec.add_argument("--no-record", action="store_true", help="do not record (the report comes from memory)")
    parser.add_argument("--no-history", action="store_true", help="do not store the session in the history")
    add_session_arguments(parser)


def add_source_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, metavar="SPEC", help=f"where samples come from: {SYNTAX}")
    parser.add_argument("--phone", choices=("ios", "android"), default=None,
                        help="Sensor Logger: the phone's sign convention when it cannot be told from the stream "
                        "(an iPhone without 'Standardise Units & Frames' needs ios)")


def add_session_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `live` and `replay` share: what to analyse, when to stop, the view and the cues."""
    parser.add_argument("--exercise", metavar="NAME", type=exercise_name,
                        help="the exercise, when it should not be guessed")
    parser.add_argument("--flexion-limit", type=float, default=None, metavar="DEG",
                        help="your hinge limit in degrees (default: from backcheck calibrate, if run)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.NAME=VALUE",
                        help="change an analysis setting, e.g. flags.rounding_margin_deg=10 (see README)")
    add_tempo_argument(parser)
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="where the report goes (default: out/<recording name>, as analyze does; "
                             "replay: only with --out)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing report in --out")
    parser.add_argument("--duration", metavar="S", type=positive_seconds, help="stop after this many seconds of data")
    parser.add_argument("--max-sets", metavar="N", type=positive_count, help="stop when this many sets are done")
    parser.add_argument("--plain", action="store_true", help="one line per event, even on a terminal")
    cues = parser.add_argument_group("audio cues")
    cues.add_argument("--quiet", action="store_true", help="no audio cues")
    cues.add_argument("--cue", choices=("auto", "speech", "bell"), default="auto",
                      help="speech (espeak-ng, espeak, spd-say or say, if installed) or the terminal bell")
    cues.add_argument("--cue-cooldown", metavar="S", type=seconds_or_zero, default=CueSettings.cooldown_s,
                      help=f"s a cue stays silent after it sounded (default {CueSettings.cooldown_s:g})")
    cues.add_argument("--cue-sensitivity", choices=tuple(SENSITIVITY_KINDS), default=CueSettings.sensitivity,
                      help="low: rounding only; medium: + momentum, twist, tempo; high: every flag (default medium)")
    cues.add_argument("--rep-bell", action="store_true", help="ring the bell at every completed rep")


def positive_seconds(text: str) -> float:
    """A duration in s above 0 (argparse type)."""
    return _seconds(text, zero_ok=False)


def seconds_or_zero(text: str) -> float:
    """A finite duration in s, 0 or more (argparse type)."""
    return _seconds(text, zero_ok=True)


def _seconds(text: str, zero_ok: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0.0 or (value == 0.0 and not zero_ok):
        raise argparse.ArgumentTypeError(f"expected seconds, {'0 or more' if zero_ok else 'above 0'}, got {text!r}")
    return value


def cue_settings(args: argparse.Namespace) -> CueSettings:
    return CueSettings(
        mode="off" if args.quiet else args.cue,
        cooldown_s=args.cue_cooldown,
        sensitivity=args.cue_sensitivity,
        rep_bell=args.rep_bell,
    )


def run(args: argparse.Namespace) -> int:
    record_path = None if args.no_record else (args.record or dated_recording_path())
    report = run_live(args.source, args, record_path=record_path, **phone_options(args))
    return 0 if report is not None or args.no_record else 1


def phone_options(args: argparse.Namespace) -> dict[str, bool]:
    """--phone ios|android as the option Sensor Logger's source takes (nothing for other sources)."""
    if args.phone is None or not args.source.lower().startswith("sensorlogger"):
        return {}
    return {args.phone: True}


def run_live(
    spec: str,
    args: argparse.Namespace,
    *,
    record_path: Path | None,
    analyse: bool = True,
    replayed_path: Path | None = None,
    **source_options: Any,
) -> SessionReport | None:
    """Run a whole session from `spec`; returns the report (None when there was nothing to analyse). The
    report comes from the recording made (record_path) or replayed (replayed_path), else from the live
    analyzer."""
    out_dir = _out_dir(args, record_path) if analyse else None
    if out_dir is not None:  # (before the session: a folder that cannot be written fails at once)
        prepare_analysis_folder(out_dir, args.force)
    display = LiveDisplay(tty=False if args.plain else None)
    make_analyzer = _analyzer_factory(args.exercise, args.flexion_limit, [*args.set, *args.tempo]) if analyse else None
    if make_analyzer is not None:
        warm_analyzer(make_analyzer)
    cues = Cues(cue_settings(args), terminal=display.stream) if analyse else None
    session = LiveSession(
        make_analyzer=make_analyzer,
        record_path=record_path,
        display=display,
        cues=cues,
        duration_s=args.duration,
        max_sets=getattr(args, "max_sets", None),
        source_spec=spec,
    )

    if spec.partition(":")[0].strip().lower() == "sensorlogger":
        source_options.setdefault("announce", display.log)  # the push URL, above the live view

    async def main() -> tuple[Any, str]:
        source = await opened(open_source(spec, **source_options))
        return source, await run_source(source, session)

    try:
        source, why = asyncio.run(main())
    finally:
        session.close()
        if cues:
            cues.close()
        display.close()
    display.log(ended_line(why, session))
    if record_path is not None:
        display.log(f"recording: {record_path}" if record_path.exists() else "no data came: nothing was recorded")
    if not analyse or not session.n_samples:
        return None
    report = _report(session, args, record_path or replayed_path, out_dir, source_counts(source))
    print(_summary(report), file=display.stream, flush=True)
    if not getattr(args, "no_history", True):
        _store_history(report, record_path, display)
    return report


def _out_dir(args: argparse.Namespace, record_path: Path | None) -> Path | None:
    """--out, else out/<recording name> as `backcheck analyze` does, else None (no recording)."""
    if args.out is not None or record_path is None:
        return args.out
    return Path("out") / record_path.stem


def _analyzer_factory(exercise: str | None, flexion_limit_deg: float | None = None,
                      overrides: list[str] | tuple[str, ...] = ()):
    from analysis.analyzer import Analyzer
    from analysis.exercises import pattern_of
    from sensor.cmd_analyze import exercise_from_notes, settings_for

    if exercise is not None:
        try:
            pattern_of(exercise)
        except ValueError as err:
            raise InputError(f"--exercise: {err}") from None

    # the trace comes from the recording file at the end, so the live analyzer keeps none
    settings = settings_for(flexion_limit_deg, keep_trace=False, overrides=overrides)

    def make(meta: RecordingMeta) -> Any:
        return Analyzer(settings, exercise=exercise or exercise_from_notes(meta.notes),
                        accelerometer_only=meta.accelerometer_only)

    return make


def _report(session: LiveSession, args: argparse.Namespace, path: Path | None, out: Path | None,
            counts: dict) -> SessionReport:
    """The report from the recording file when there is one (with its trace and plots in `out`, as
    analyze writes them), else from the live analyzer; with the source's drop and gap counts, in
    report.json too."""
    if path is not None:
        from sensor.cmd_analyze import analyze_recording

        report = analyze_recording(path, args.exercise, out, history=False, flexion_limit_deg=args.flexion_limit,
                                   overrides=[*args.set, *args.tempo])
    else:
        report = session.analyzer.finish(session.recording_info(counts))
    report = with_source_counts(report, counts)
    if out is not None:
        with writing(out):
            (out / "report.json").write_text(report.to_json())
    return report


def _summary(report: SessionReport) -> str:
    from analysis.summary_text import format_summary

    rec = report.recording
    where = f" in {rec.gaps} gaps" if rec.gaps else " (no gap: invalid readings, or none of the other sensor's)"
    lost = f"\nStream: {rec.dropped_samples} samples dropped{where}" if rec.dropped_samples or rec.gaps else ""
    return format_summary(report) + lost


def _store_history(report: SessionReport, recording_path: Path | None, display: LiveDisplay) -> None:
    from sensor.history import store_session

    store_session(report, recording_path)
    display.log("stored in the history (backcheck history)")
