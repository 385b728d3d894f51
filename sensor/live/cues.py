"""Audio cues during a live set: a terminal bell or a short spoken word, never a nag.

A cue answers a `FlagRaised` event the moment the analyzer emits it (a rounding flag as the
flexion crosses the limit). `sensitivity` chooses which flag kinds speak; the same kind stays
silent for `cooldown_s` of data time after it spoke. Speech uses the first of espeak-ng, espeak,
spd-say or say found on the PATH, started without waiting for it; otherwise the bell.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from analysis.events import Event, FlagRaised, RepCompleted

SENSITIVITY_KINDS = {
    "low": ("rounding",),
    "medium": ("rounding", "momentum", "twist", "tempo"),
    "high": ("rounding", "momentum", "twist", "tempo", "partial", "fatigue"),
}
WORDS = {
    "rounding": "back",
    "momentum": "control",
    "twist": "square up",
    "partial": "full range",
    "fatigue": "slowing",
    "tempo": "slow down",
}
SPEECH_TOOLS = ("espeak-ng", "espeak", "spd-say", "say")


@dataclass(frozen=True)
class CueSettings:
    """mode: "auto" (speech if a tool exists, else bell), "speech", "bell" or "off" (--quiet).
    cooldown_s: s of data time a flag kind stays silent after its cue (0 = cue every flag).
    sensitivity: "low" (rounding only), "medium" (+ momentum, twist, tempo), "high" (every flag kind).
    rep_bell: ring the bell at each completed rep (a rep counter by ear)."""

    mode: str = "auto"
    cooldown_s: float = 5.0
    sensitivity: str = "medium"
    rep_bell: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("auto", "speech", "bell", "off"):
            raise ValueError(f"cue mode must be auto, speech, bell or off, got {self.mode!r}")
        if self.sensitivity not in SENSITIVITY_KINDS:
            raise ValueError(f"cue sensitivity must be low, medium or high, got {self.sensitivity!r}")
        if not self.cooldown_s >= 0:
            raise ValueError(f"cue cooldown must be >= 0 s, got {self.cooldown_s!r}")


@dataclass(frozen=True)
class FiredCue:
    kind: str  # a flag kind, or "rep"
    t_s: float  # data time of the event that caused it
    host_s: float  # time.perf_counter() when it was played
    how: str  # "bell", "speech" or "off"


def speech_tool() -> str | None:
    """The first speech program on the PATH, or None."""
    for name in SPEECH_TOOLS:
        if shutil.which(name):
            return name
    return None


class Cues:
    """Turns analyzer events into sounds. `play(kind, word)` is injectable for tests."""

    def __init__(
        self,
        settings: CueSettings = CueSettings(),
        *,
        terminal: TextIO | None = None,
        play: Callable[[str, str], str] | None = None,
    ) -> None:
        self.settings = settings
        self._terminal = terminal if terminal is not None else sys.stdout
        self._tool = speech_tool() if settings.mode in ("auto", "speech") else None
        self._play = play or self._play_sound
        self._last_t_s: dict[str, float] = {}
        self._speakers: list[subprocess.Popen] = []
        self.fired: deque[FiredCue] = deque(maxlen=256)

    @property
    def how(self) -> str:
        if self.settings.mode == "off":
            return "off"
        return "speech" if self._tool else "bell"

    def on_event(self, event: Event) -> FiredCue | None:
        """Play the cue this event calls for, if any; returns what was played."""
        if isinstance(event, FlagRaised):
            kind = event.flag.kind
            if kind not in SENSITIVITY_KINDS[self.settings.sensitivity]:
                return None
            last = self._last_t_s.get(kind)
            if last is not None and event.t_s - last < self.settings.cooldown_s:
                return None
            self._last_t_s[kind] = event.t_s
            return self._fire(kind, WORDS.get(kind, kind), event.t_s)
        if isinstance(event, RepCompleted) and self.settings.rep_bell:
            return self._fire("rep", "", event.t_s)
        return None

    def _fire(self, kind: str, word: str, t_s: float) -> FiredCue | None:
        if self.settings.mode == "off":
            return None
        how = self._play(kind, word)
        cue = FiredCue(kind, t_s, time.perf_counter(), how)
        self.fired.append(cue)
        return cue

    def _play_sound(self, kind: str, word: str) -> str:
        self._speakers = [p for p in self._speakers if p.poll() is None]
        if self._tool and word and not self._speakers:
            self._speakers.append(
                subprocess.Popen(
                    [self._tool, word], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
            return "speech"
        self._terminal.write("\a")
        self._terminal.flush()
        return "bell"

    def close(self) -> None:
        for p in self._speakers:
            try:
                p.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                p.kill()
