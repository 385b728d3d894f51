"""The live terminal view: what a lifter glances at between reps.

On a terminal: a status block redrawn in place (set, exercise, rep count, the current trunk angle
with a bar, the last rep's tempo, the latest flag) under a scrolling log of lines (set started, each
rep, each flag the moment it is raised, the set summary when the weight is racked). Plain ANSI:
cursor-up, erase-below and colour only. When the output is not a terminal only the log lines are
written, one per event, each stamped with the data time at which it was shown, and flushed at once.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from analysis.events import (
    CalibrationDone,
    Event,
    FlagRaised,
    ForwardCorrected,
    PostureUpdate,
    RepCompleted,
    SetDiscarded,
    SetEnded,
    SetStarted,
)
from analysis.report import Rep, SetReport

BAR_MIN_DEG = -30.0
BAR_MAX_DEG = 90.0
BAR_WIDTH = 40
RED, YELLOW, BOLD, RESET = "\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[0m"


def angle_bar(flexion_deg: float, width: int = BAR_WIDTH) -> str:
    """A bar from BAR_MIN_DEG to BAR_MAX_DEG: '|' marks 0 (standing), '#' fills from 0 to the angle."""
    per_char = (BAR_MAX_DEG - BAR_MIN_DEG) / width
    zero = round(-BAR_MIN_DEG / per_char)
    pos = round((min(max(flexion_deg, BAR_MIN_DEG), BAR_MAX_DEG) - BAR_MIN_DEG) / per_char)
    lo, hi = min(zero, pos), max(zero, pos)
    cells = ["#" if lo <= i < hi else "." for i in range(width)]
    cells[min(zero, width - 1)] = "|"
    return "[" + "".join(cells) + "]"


def clock_text(t_s: float) -> str:
    """Data time as mm:ss.s."""
    minutes, seconds = divmod(max(t_s, 0.0), 60.0)
    return f"{int(minutes):02d}:{seconds:04.1f}"


def rep_line(set_index: int, rep: Rep) -> str:
    return (
        f"set {set_index} rep {rep.index}  tempo {rep.tempo}  peak {rep.peak_flexion_deg:.0f} deg"
        f"  ROM {rep.rom_deg:.0f} deg"
    )


def set_summary_line(s: SetReport) -> str:
    """One line for a finished set: reps, tempo range, peak flexion range and flag counts."""
    reps = s.reps
    text = f"set {s.index} done: {s.exercise}{' (guessed)' if s.exercise_guessed else ''}, {len(reps)} reps"
    if reps:
        peaks = [r.peak_flexion_deg for r in reps]
        text += f", peak flexion {min(peaks):.0f}-{max(peaks):.0f} deg"
        text += f", tempo {reps[0].tempo} .. {reps[-1].tempo}"
    flags = Counter(f.kind for r in reps for f in r.flags)
    text += ", flags: " + (", ".join(f"{k} x{n}" for k, n in sorted(flags.items())) if flags else "none")
    return text


class LiveDisplay:
    """Renders analyzer events; `tty=None` asks the stream; posture redraws <= `refresh_hz` (host time)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        refresh_hz: float = 12.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self._min_redraw_s = 1.0 / refresh_hz
        self._clock = clock
        self._last_draw = -float("inf")
        self._drawn_lines = 0
        self.closed = False
        self._driven = False
        self.t_s = 0.0
        self.flexion_deg: float | None = None
        self.set_index = 0
        self.exercise = ""
        self.in_set = False
        self.rep_count = 0
        self.last_rep: Rep | None = None
        self.last_flag = ""

    def advance(self, t_s: float) -> None:
        """The stream's data time (s from the first sample): log lines are stamped with it from now on."""
        self.t_s = t_s
        self._driven = True

    def on_event(self, event: Event) -> None:
        if not self._driven:
            self.t_s = max(self.t_s, event.t_s)
        if isinstance(event, PostureUpdate):
            self.flexion_deg = event.flexion_deg
            if self.tty and not self.closed and self._clock() - self._last_draw >= self._min_redraw_s:
                self._redraw()
        elif isinstance(event, CalibrationDone):
            if not event.refreshed:
                self.log(f"calibrated: sensor {event.neutral_tilt_deg:.0f} deg from vertical while standing")
            else:
                self.log("calibrated again: the first still moment was not standing, or the sensor moved on your "
                         "back; angles are measured from this standing pose from here on", t_s=self.t_s)
        elif isinstance(event, ForwardCorrected):
            self.log("forward and back were swapped until now: your first large movement was a lean back, "
                     "taken for a bend forward; angles are right from here on", t_s=self.t_s)
        elif isinstance(event, SetStarted):
            self.set_index, self.exercise, self.in_set = event.set_index, event.exercise, True
            self.rep_count, self.last_rep, self.last_flag = 0, None, ""
            guessed = " (guessed)" if event.exercise_guessed else ""
            self.log(f"set {event.set_index} started at {clock_text(event.t_s)}: {event.exercise}{guessed}",
                     t_s=self.t_s)
        elif isinstance(event, RepCompleted):
            self.rep_count, self.last_rep = event.rep.index, event.rep
            self.log(rep_line(event.set_index, event.rep), t_s=self.t_s)
        elif isinstance(event, FlagRaised):
            self.last_flag = f"{event.flag.kind} at rep {event.rep_index}: {event.flag.message}"
            where = f"! set {event.set_index} rep {event.rep_index}"
            self.log(f"{where} {self.last_flag}", t_s=self.t_s, colour=RED)
        elif isinstance(event, SetDiscarded):
            self.in_set, self.rep_count, self.last_rep, self.last_flag = False, 0, None, ""
            self.log(f"set {event.set_index} was a single movement, not a set: forgotten", t_s=self.t_s)
        elif isinstance(event, SetEnded):
            self.in_set = False
            self.rep_count = len(event.set_report.reps)
            self.log(set_summary_line(event.set_report), t_s=self.t_s, colour=BOLD)

    def log(self, text: str, *, t_s: float | None = None, colour: str = "") -> None:
        """Lines in the scrolling log (every mode), the first prefixed with the data time when given."""
        lines = text.rstrip("\n").split("\n")
        if t_s is not None:
            lines[0] = f"{clock_text(t_s)}  {lines[0]}"
        if self.tty and not self.closed:
            self._clear()
            for line in lines:
                self.stream.write(f"{colour}{self._fit(line)}{RESET if colour else ''}\n")
            self._redraw()
        else:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()

    def status_lines(self) -> list[str]:
        where = f"set {self.set_index} {self.exercise}" if self.in_set else "between sets"
        head = f"backcheck live  {clock_text(self.t_s)}  {where}  reps {self.rep_count}"
        if self.flexion_deg is None:
            trunk = "trunk   --- (waiting for data)"
        else:
            trunk = f"trunk {self.flexion_deg:+5.0f} deg {angle_bar(self.flexion_deg)}"
        rep = self.last_rep
        last = f"last rep  tempo {rep.tempo}  peak {rep.peak_flexion_deg:.0f} deg" if rep else "last rep  -"
        flag = f"flag  {self.last_flag or 'none'}"
        return [
            f"{BOLD}{self._fit(head)}{RESET}",
            self._fit(trunk),
            self._fit(last),
            f"{YELLOW}{self._fit(flag)}{RESET}" if self.last_flag else self._fit(flag),
        ]

    def close(self) -> None:
        """Leave the last status block on screen; later log lines go below it."""
        if self.tty and not self.closed:
            self._redraw()
            self.stream.write("\n")
            self._drawn_lines = 0
        self.closed = True
        self.stream.flush()

    def _fit(self, line: str) -> str:
        width = shutil.get_terminal_size((100, 24)).columns - 1
        return line if len(line) <= width else line[: width - 1] + "~"

    def _clear(self) -> None:
        if self._drawn_lines > 1:
            self.stream.write(f"\x1b[{self._drawn_lines - 1}A")
        if self._drawn_lines:
            self.stream.write("\r\x1b[J")
        self._drawn_lines = 0

    def _redraw(self) -> None:
        self._clear()
        lines = self.status_lines()
        self.stream.write("\n".join(lines))
        self.stream.flush()
        self._drawn_lines = len(lines)
        self._last_draw = self._clock()
