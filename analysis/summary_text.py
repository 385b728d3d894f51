"""A compact plain-text summary of a session for the terminal: sets, reps and flags (<= 100 columns)."""

from __future__ import annotations

import textwrap

from analysis.report import Flag, Rep, SessionReport, SetReport

WIDTH = 100
_HEAD = f"{'rep':>5} {'start':>6} {'tempo':>9} {'peak°':>6} {'ROM°':>6} {'vel°/s':>7} {'sway°':>6}  flags"


def clock(t_s: float) -> str:
    """Seconds as m:ss (or h:mm:ss)."""
    whole = int(round(t_s))
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def flag_text(flag: Flag) -> str:
    """A flag in a few characters, e.g. "rounding 77>75 deg"."""
    unit = flag.unit if flag.unit in ("%", "s") else f" {flag.unit}"
    cmp = "<" if flag.value < flag.threshold else ">"
    return f"{flag.kind} {flag.value:.3g}{cmp}{flag.threshold:.3g}{unit}"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _rep_line(rep: Rep) -> str:
    line = (f"{rep.index:>5} {clock(rep.start_s):>6} {rep.tempo:>9} {_num(rep.peak_flexion_deg, '.1f'):>6} "
            f"{_num(rep.rom_deg, '.1f'):>6} {_num(rep.peak_velocity_dps, '.0f'):>7} "
            f"{_num(rep.sway_deg, '.1f'):>6}  {', '.join(flag_text(f) for f in rep.flags)}")
    line = line.rstrip()
    return line if len(line) <= WIDTH else line[: WIDTH - 1] + "…"


def plural(n: int, noun: str) -> str:
    """'1 rep', '2 reps'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def set_title(s: SetReport) -> str:
    guessed = " (guessed)" if s.exercise_guessed else ""
    flagged = sum(1 for r in s.reps if r.flags)
    return (f"Set {s.index}: {s.exercise}{guessed}, {plural(len(s.reps), 'rep')}, {flagged} flagged "
            f"({clock(s.start_s)}-{clock(s.end_s)})")


def prescribed_tempo(flag_settings: dict) -> str | None:
    """The tempo the lifter set (report.json's flags settings), in words; None when none was."""
    targets = [flag_settings.get(f"tempo_{name}") for name in ("eccentric_s", "pause_bottom_s", "concentric_s",
                                                                "pause_top_s")]
    if all(x is None for x in targets):
        return None
    notation = "-".join("X" if x is None else f"{x:g}" for x in targets)
    return (f"Tempo set: {notation} (s; X: no target); a phase more than "
            f"{flag_settings.get('tempo_tolerance_s', 0.5):g} s shorter is flagged.")


def format_summary(report: SessionReport) -> str:
    """Sets and reps as a text table, one line per rep, flags spelled out; lines <= 100 chars."""
    reps = report.reps
    flagged = sum(1 for _, r in reps if r.flags)
    rec = report.recording
    source = ", ".join(x for x in (rec.device, f"{rec.sample_rate_hz:.0f} Hz") if x)
    lines = [f"Session {clock(rec.duration_s)} long ({source}): {plural(len(report.sets), 'set')}, "
             f"{plural(len(reps), 'rep')}, {flagged} flagged"]
    for note in report.notes:
        lines += textwrap.wrap(f"Note: {note}", WIDTH, subsequent_indent="  ")
    if prescribed := prescribed_tempo(report.settings.get("flags", {})):
        lines.append(prescribed)
    if not report.sets:
        lines += textwrap.wrap("No sets found: a set is at least two similar reps in a row (a single bend to "
                               "pick something up is not one). If you lifted, check the sensor sits on your "
                               "lower back and name the exercise with --exercise.", width=100)
    for s in report.sets:
        lines += ["", set_title(s), _HEAD]
        lines += [_rep_line(r) for r in s.reps]
    return "\n".join(lines)
