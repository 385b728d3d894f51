"""`backcheck analyze RECORDING`: sets, reps, tempo and flags; a summary, report.json, trace.csv, plots."""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.exercises import EXERCISES, exercise_name
from analysis.flags import FlagSettings
from analysis.report import RecordingInfo, SessionReport
from analysis.summary_text import clock
from sensor.errors import InputError
from sensor.importers.cmd_convert import add_import_arguments, import_options
from sensor.outputs import prepare_analysis_folder, writing

if TYPE_CHECKING:  # the analyzer (numba) loads only when a recording is analysed, not for --help
    from analysis.analyzer import AnalyzerSettings
    from analysis.trace import Trace

PROFILE_ENV = "BACKCHECK_PROFILE"
DEFAULT_PROFILE = "~/.config/backcheck/profile.json"


def profile_path() -> Path:
    """Where `backcheck calibrate` keeps the lifter's flexion limit."""
    return Path(os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE).expanduser()


def calibrated_limit_deg() -> float | None:
    path = profile_path()
    if not path.exists():
        return None
    try:
        return float(json.loads(path.read_text())["flexion_limit_deg"])
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path}: not a backcheck profile ({err}); run backcheck calibrate again") from None


def settings_for(flexion_limit_deg: float | None, *, keep_trace: bool = True,
                 overrides: list[str] | tuple[str, ...] = ()) -> AnalyzerSettings:
    """Default settings with the lifter's flexion limit (given, else calibrated, else none) and
    `SECTION.NAME=VALUE` overrides (sections: orientation, segmentation, flags)."""
    from analysis.analyzer import AnalyzerSettings

    if flexion_limit_deg is not None and not 0.0 < flexion_limit_deg < 180.0:
        raise InputError(f"--flexion-limit {flexion_limit_deg:g}: expected your hinge limit in degrees, between 0 "
                         "and 180 (e.g. 60)")
    limit = flexion_limit_deg if flexion_limit_deg is not None else calibrated_limit_deg()
    settings = AnalyzerSettings(flags=FlagSettings(flexion_limit_deg=limit), keep_trace=keep_trace)
    for item in overrides:
        settings = _override(settings, item)
    return settings


def _override(settings: AnalyzerSettings, item: str) -> AnalyzerSettings:
    name, sep, text = item.partition("=")
    section, _, field_name = name.strip().partition(".")
    sub = getattr(settings, section, None) if section in ("orientation", "segmentation", "flags") else None
    known = {f.name: f for f in fields(sub)} if sub is not None else {}
    if not sep or field_name not in known:
        raise InputError(f"--set {item!r}: expected SECTION.NAME=VALUE with SECTION one of orientation, "
                         "segmentation, flags and NAME one of its settings (see README)")
    current, optional = getattr(sub, field_name), "None" in str(known[field_name].type)
    kind = int if isinstance(current, int) else float
    if text.strip().lower() == "none":
        if not optional:
            raise InputError(f"--set {item!r}: {name.strip()} needs a value (it cannot be none)")
        return replace(settings, **{section: replace(sub, **{field_name: None})})
    try:
        value = kind(text)
    except ValueError:
        raise InputError(f"--set {item!r}: {text!r} is not a{' whole' if kind is int else ''} number") from None
    if not math.isfinite(value) or value < (1 if kind is int else 0):
        least = "a whole number from 1" if kind is int else "a finite number, 0 or more"
        raise InputError(f"--set {item!r}: expected {least} (the README's settings table gives each unit)")
    return replace(settings, **{section: replace(sub, **{field_name: value})})


TEMPO_SETTINGS = ("eccentric_s", "pause_bottom_s", "concentric_s", "pause_top_s")


def tempo_overrides(text: str) -> list[str]:
    """`--tempo E-P-C-P` (eccentric, pause at the bottom, concentric, pause at the top, in s; `X`: no target;
    also without dashes for one digit each, e.g. 31X0) as `flags.tempo_*_s` overrides."""
    parts = text.split("-") if "-" in text else list(text)
    targets = []
    for part in parts:
        part = part.strip().upper()
        try:
            targets.append(None if part == "X" else float(part))
        except ValueError:
            targets.append(-1.0)
    if len(targets) != 4 or any(x is not None and not 0 <= x <= 60 for x in targets):
        raise argparse.ArgumentTypeError(f"{text!r}: expected four phases E-P-C-P in seconds, e.g. 3-1-1-0 or 31X0 "
                                         "(X: no target)")
    return [f"flags.tempo_{name}={x}" for name, x in zip(TEMPO_SETTINGS, targets, strict=True) if x is not None]


def exercise_from_notes(notes: dict) -> str | None:
    """The exercise a recording's notes name (backcheck's own format keeps one), if backcheck knows it."""
    name = exercise_name(str(notes.get("exercise") or ""))
    return name if name in EXERCISES else None


def analyze_recording(
    path: str | os.PathLike,
    exercise: str | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    force: bool = False,
    flexion_limit_deg: float | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    plots: bool = True,
    html: bool = False,
    history: bool = True,
    import_options: dict | None = None,
    jobs: int | None = 1,
) -> SessionReport:
    """Analyse a recording in any supported format; write report.json, trace.csv and plots to out_dir.
    import_options: `sensor.importers.load`'s keyword arguments (a format, columns, units); jobs: processes
    drawing the plots (None: as many as pay off, `analysis.plots.drawing_workers`; more than one needs the
    program's entry point guarded, `analysis.plots.session_pngs`)."""
    from analysis.analyzer import Analyzer
    from sensor.history import samples_sha256
    from sensor.importers import load

    path = Path(path)
    out = None if out_dir is None else Path(out_dir)
    if out is not None:  # (before the work: a folder that cannot be written fails at once)
        prepare_analysis_folder(out, force)
    recording = load(path, **(import_options or {}))
    meta = recording.meta
    if len(recording.samples) < 2:
        raise InputError(f"{path}: the recording holds {len(recording.samples)} samples; nothing to analyse")
    if exercise is None and exercise_from_notes(meta.notes):
        exercise = exercise_from_notes(meta.notes)
        meta.decisions.append(f"exercise: {exercise}, as the recording's notes say (--exercise to change)")
    elif exercise is None and str(meta.notes.get("exercise") or "").strip():
        meta.decisions.append(f"exercise: the recording's notes name {meta.notes['exercise']!r}, which backcheck does "
                              "not know: guessed from the movement (--exercise to give one it knows)")
    settings = replace(settings_for(flexion_limit_deg, overrides=overrides), posture_update_hz=0.0)  # no live view
    analyzer = Analyzer(settings, exercise=exercise, accelerometer_only=meta.accelerometer_only, events=False)
    analyzer.push(recording.samples)
    samples = recording.samples
    again = None
    if (found := analyzer.standing_found) is not None:  # begun bent over: measure it all from standing
        again = (f"The recording began without standing still: its first still moment ({found.first_still_s:.1f} s) "
                 f"was bent over. The first upright still moment came at {found.standing_s:.1f} s (standing, or "
                 "sitting upright), and the whole recording was analysed again from that pose.")
        analyzer = Analyzer(settings, exercise=exercise, accelerometer_only=meta.accelerometer_only, events=False,
                            standing=found.pose)
        analyzer.push(samples)
    notes = {**meta.notes, "recording_sha256": samples_sha256(samples)}
    if meta.start_utc:
        notes["start_utc"] = meta.start_utc
    if meta.decisions:
        notes["import_decisions"] = list(meta.decisions)
    steps = samples.t[1:] - samples.t[:-1]
    gaps = int((steps > 2.5 / samples.median_rate_hz()).sum()) if len(samples) > 2 else 0
    info = RecordingInfo(path=str(path), format=meta.format, duration_s=round(samples.duration_s, 3),
                         sample_rate_hz=round(samples.median_rate_hz(), 2),
                         accelerometer_only=meta.accelerometer_only, device=meta.device,
                         placement=meta.placement, notes=notes, gaps=gaps)
    report = analyzer.finish(info)
    for note in (again, gaps_note(samples.t, steps)):
        if note:
            report = replace(report, notes=(*report.notes, note))
    if out is not None:
        with writing(out):
            write_outputs(report, analyzer.trace(), out, plots=plots, html=html, jobs=jobs)
    if history:
        from sensor.history import store_session

        store_session(report, path)
    return report


NOTE_GAP_S = 1.0  # data missing for longer than this is named in the report's notes (s)


def gaps_note(t_s, steps) -> str | None:
    """A sentence naming where data is missing for longer than NOTE_GAP_S (a dropout), or None: reps in a
    gap cannot be counted, and a set across one may come out split or short."""
    import numpy as np

    where = np.flatnonzero(steps > NOTE_GAP_S)
    if where.size == 0:
        return None
    listed = ", ".join(f"{float(steps[i]):.1f} s at {clock(float(t_s[i] - t_s[0]))}" for i in where[:5])
    more = f" and {where.size - 5} more" if where.size > 5 else ""
    return (f"Data is missing in {where.size} gap{'s' if where.size > 1 else ''} longer than {NOTE_GAP_S:g} s "
            f"({listed}{more}; a dropout of the sensor or its connection): reps in a gap are not counted, and "
            "a set across one may come out split or short.")


def write_outputs(report: SessionReport, trace: Trace, out: Path, *, plots: bool, html: bool,
                  jobs: int | None = 1) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json", out / "trace.csv"]
    written[0].write_text(report.to_json())
    trace.write_csv(written[1])
    pngs = {}
    if plots:
        from analysis.plots import drawing_workers, write_plots

        workers = jobs or drawing_workers(len(report.sets) + 1)
        pngs = {path.stem: data for path, data in write_plots(report, trace, out, workers).items()}
        written += [out / f"{stem}.png" for stem in pngs]
    if html:  # (with the plots' images, not drawn again)
        from analysis.html_report import write_html

        written.append(write_html(report, trace, out / "report.html", pngs))
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", type=Path, help="a recording in any supported format (see README)")
    parser.add_argument("--exercise", choices=sorted(EXERCISES), default=None, type=exercise_name,
                        help="the exercise of every set (default: the recording's notes, else guessed from the "
                        "movement, and said so)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for report.json, trace.csv, plots (default: out/<recording name>)")
    parser.add_argument("--html", action="store_true", help="also write report.html (set plots, coaching)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    add_jobs_argument(parser)
    parser.add_argument("--flexion-limit", type=float, default=None, metavar="DEG",
                        help="your hinge limit in degrees (default: from backcheck calibrate, if run)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.NAME=VALUE",
                        help="change a setting, e.g. flags.rounding_margin_deg=10 (repeatable; see README)")
    add_tempo_argument(parser)
    parser.add_argument("--no-history", action="store_true",
                        help="do not store the session in the history database (BACKCHECK_HISTORY)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing report in --out")
    parser.add_argument("--quiet", action="store_true", help="no summary on the terminal")
    add_import_arguments(parser.add_argument_group("reading the recording (as backcheck convert)"))


def add_jobs_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=positive_count, default=None, metavar="N",
                        help="processes drawing the plots (default: as many as pay off, one per CPU up to 4, for "
                        "sessions of 8 figures or more; 1: this process alone)")


def positive_count(text: str) -> int:
    """A whole number from 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, got {text!r}")
    return value


def add_tempo_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tempo", type=tempo_overrides, default=[], metavar="E-P-C-P",
                        help="your prescribed tempo in s, e.g. 3-1-1-0 (X: no target): a phase more than "
                        "flags.tempo_tolerance_s shorter is flagged as rushed")


def run(args: argparse.Namespace) -> int:
    from analysis.summary_text import format_summary

    out = args.out if args.out is not None else Path("out") / _stem(args.recording)
    report = analyze_recording(args.recording, args.exercise, out, force=args.force,
                               flexion_limit_deg=args.flexion_limit, overrides=[*args.set, *args.tempo],
                               plots=not args.no_plots, html=args.html, history=not args.no_history,
                               import_options=import_options(args), jobs=args.jobs)
    if not args.quiet:
        for decision in report.recording.notes.get("import_decisions", []):
            print(f"note: {decision}")
        print(format_summary(report))
        extra = ("" if args.no_plots else ", plots") + (", report.html" if args.html else "")
        print(f"\nwritten to {out}/ (report.json, trace.csv{extra})")
    return 0


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv", ".zip", ".tsv", ".txt"):
        name = name.removesuffix(suffix)
    return name or "recording"



