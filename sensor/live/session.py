"""The live session runner: one asyncio loop from a source to the recording, the Analyzer, the view and cues.

Each block is first appended to the crash-safe recording (so a killed session loses at most the
block in hand), then pushed into the one Analyzer; its events go to the cues first, then the
display. The session ends when the source ends, on Ctrl-C / SIGTERM, after `duration_s` of data,
or after `max_sets` sets. Then the recording is closed and the report is made by analysing the
recording file (the same numbers as live, by the analyzer's chunk invariance), so nothing of the
session needs to stay in memory; without a recording the live analyzer's own report is used.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from analysis.events import Event, SetEnded
from analysis.report import RecordingInfo, SessionReport
from analysis.samples import Samples
from sensor.errors import OverwriteError, UserError
from sensor.live.cues import Cues
from sensor.live.display import LiveDisplay, clock_text
from sensor.outputs import prepare_file, writing
from sensor.recording import RecordingMeta, RecordingWriter
from sensor.source_notes import SourceNotes

DEFAULT_RECORD_DIR = Path("recordings")
RECORD_STATUS_EVERY_S = 5.0


class RecordingExists(OverwriteError):
    def __init__(self, path: Path) -> None:
        UserError.__init__(self, f"{path} already exists; a live session never overwrites: name a new file")


def dated_recording_path(directory: Path = DEFAULT_RECORD_DIR, now: datetime | None = None) -> Path:
    """recordings/live-2026-11-22T10-31-05.csv, with -2, -3 ... appended if that name is taken."""
    stem = f"live-{(now or datetime.now()):%Y-%m-%dT%H-%M-%S}"
    path, k = directory / f"{stem}.csv", 2
    while path.exists():
        path, k = directory / f"{stem}-{k}.csv", k + 1
    return path


def recording_meta(info: Any, source_spec: str | None = None, first: Samples | None = None) -> RecordingMeta:
    """A RecordingMeta for the recording from a source's `info` (a RecordingMeta or any object like it:
    `rate_hz` and `has_gyro` are understood too) and its first block (no gyroscope = accelerometer-only)."""
    notes = dict(getattr(info, "notes", None) or {})
    if source_spec:
        notes["source"] = source_spec
    if getattr(info, "profile", None):
        notes["profile"] = info.profile
    acc_only = getattr(info, "accelerometer_only", None)
    if acc_only is None:
        acc_only = getattr(info, "has_gyro", True) is False
    return RecordingMeta(
        format="backcheck",
        device=getattr(info, "device", None),
        placement=getattr(info, "placement", None),
        sample_rate_hz=getattr(info, "sample_rate_hz", None) or getattr(info, "rate_hz", None),
        accelerometer_only=bool(acc_only) or (first is not None and first.gyro is None),
        start_utc=getattr(info, "start_utc", None) or datetime.now(UTC).isoformat(timespec="seconds"),
        notes=notes,
    )


def source_counts(source: Any) -> dict[str, int]:
    """dropped_samples (or lost_samples) and gaps from a source's `stats`; counts it lacks are 0."""
    stats = getattr(source, "stats", None)
    dropped = getattr(stats, "dropped_samples", None)
    if dropped is None:
        dropped = getattr(stats, "lost_samples", 0)
    return {"dropped_samples": int(dropped or 0), "gaps": int(getattr(stats, "gaps", 0) or 0)}


class LiveSession:
    """The per-block work of a live session; `feed` is synchronous so tests can drive it block by block."""

    def __init__(
        self,
        *,
        make_analyzer: Callable[[RecordingMeta], Any] | None,
        record_path: Path | None,
        display: LiveDisplay | None = None,
        cues: Cues | None = None,
        duration_s: float | None = None,
        max_sets: int | None = None,
        source_spec: str | None = None,
    ) -> None:
        if record_path is not None:  # (before any data: a path that cannot be written fails at once)
            if record_path.exists() and not record_path.is_dir():
                raise RecordingExists(record_path)
            prepare_file(record_path, force=False, suffixes=(".csv",))
        self.make_analyzer = make_analyzer
        self.analyzer: Any | None = None
        self.record_path = record_path
        self.display = display
        self.cues = cues
        self.duration_s = duration_s
        self.max_sets = max_sets
        self.source_spec = source_spec
        self.writer: RecordingWriter | None = None
        self.meta: RecordingMeta | None = None
        self.first_t_s: float | None = None
        self.last_t_s: float | None = None
        self.n_samples = 0
        self.sets_ended = 0
        self._next_status_s = RECORD_STATUS_EVERY_S

    def start(self, info: Any, first: Samples | None = None) -> None:
        """Make the analyzer and open the recording with the source's info and first block."""
        self.meta = recording_meta(info, self.source_spec, first)
        if self.make_analyzer is not None:
            self.analyzer = self.make_analyzer(self.meta)
        if self.record_path is not None:
            try:
                with writing(self.record_path):
                    self.writer = RecordingWriter(self.record_path, self.meta)
            except OverwriteError:
                raise RecordingExists(self.record_path) from None
            if self.display:
                self.display.log(f"recording to {self.record_path}")

    def feed(self, block: Samples) -> list[Event]:
        """Record, analyse, cue and show one block; returns the analyzer's events."""
        if not len(block):
            return []
        if self.meta is None:
            self.start(None, block)
        if self.writer is not None:
            self.writer.append(block)
        if self.first_t_s is None:
            self.first_t_s = float(block.t[0])
        self.last_t_s = float(block.t[-1])
        self.n_samples += len(block)
        if self.display:
            self.display.advance(self.elapsed_s)
        events = self.analyzer.push(block) if self.analyzer is not None else []
        for event in events:
            if self.cues:
                self.cues.on_event(event)
            if self.display:
                self.display.on_event(event)
            if isinstance(event, SetEnded):
                self.sets_ended += 1
        if self.analyzer is None and self.display and self.elapsed_s >= self._next_status_s:
            self.display.log(f"recorded {self.n_samples} samples", t_s=self.elapsed_s)
            self._next_status_s += RECORD_STATUS_EVERY_S
        return events

    @property
    def elapsed_s(self) -> float:
        return 0.0 if self.first_t_s is None else self.last_t_s - self.first_t_s

    @property
    def done(self) -> str | None:
        """Why the session should stop now, or None."""
        if self.duration_s is not None and self.elapsed_s >= self.duration_s:
            return f"{self.duration_s:g} s of data recorded"
        if self.max_sets is not None and self.sets_ended >= self.max_sets:
            return f"{self.max_sets} set{'s' if self.max_sets > 1 else ''} done"
        return None

    def source_note(self, text: str) -> None:
        """Show what the source says happened (a lost link, a reconnect, ...)."""
        if self.display:
            self.display.log(f"source: {text}")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def recording_info(self, counts: dict[str, int]) -> RecordingInfo:
        """What the live analyzer's report says about the stream (when there is no recording file)."""
        meta = self.meta or recording_meta(None)
        rate = meta.sample_rate_hz or (
            (self.n_samples - 1) / self.elapsed_s if self.elapsed_s > 0 else float("nan")
        )
        return RecordingInfo(
            path=None,
            format="live",
            duration_s=self.elapsed_s,
            sample_rate_hz=float(rate),
            accelerometer_only=meta.accelerometer_only,
            device=meta.device,
            placement=meta.placement,
            notes=meta.notes,
            **counts,
        )


async def run_source(source: Any, session: LiveSession, *, stop: asyncio.Event | None = None) -> str:
    """Feed every block of `source` to `session` until it ends, `session.done`, or `stop` is set; the
    source's notes (`events`) go to `session.source_note` as they come.

    SIGINT and SIGTERM set `stop` while this runs (a second Ctrl-C interrupts hard). Returns why
    the session ended. The source is closed on every path.
    """
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    handled, stopped_by = [], []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, _stop_once, loop, sig, stop, stopped_by)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            pass
    source_events = getattr(source, "events", None)
    shown = 0

    def show_source_events() -> None:  # (a dropped link, a reconnect, a paused phone: as they are known)
        nonlocal shown
        if source_events:
            for text in source_events[shown:]:
                session.source_note(text)
        shown = len(source_events) if source_events is not None else 0

    async def show_source_events_as_they_come() -> None:  # (while no data comes: a lost link)
        while True:
            await source_events.wait_past(shown)
            show_source_events()

    async def consume() -> str:
        started = False
        async for block in source:
            if not started:
                session.start(getattr(source, "info", None), block)
                started = True
            show_source_events()
            session.feed(block)
            if session.done:
                return session.done
        return "the source ended"

    consumer = asyncio.ensure_future(consume())
    stopper = asyncio.ensure_future(stop.wait())
    noter = (asyncio.ensure_future(show_source_events_as_they_come())
             if isinstance(source_events, SourceNotes) else None)
    try:
        await asyncio.wait({consumer, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if consumer.done():
            return consumer.result()
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        return f"stopped ({'SIGTERM' if stopped_by == [signal.SIGTERM] else 'Ctrl-C'})"
    finally:
        if noter is not None:
            noter.cancel()
            await asyncio.gather(noter, return_exceptions=True)
        show_source_events()
        stopper.cancel()
        for sig in handled:
            loop.remove_signal_handler(sig)
        await _aclose(source)


def _stop_once(loop: asyncio.AbstractEventLoop, sig: int, stop: asyncio.Event, stopped_by: list) -> None:
    stopped_by.append(sig)
    stop.set()
    loop.remove_signal_handler(sig)


async def _aclose(source: Any) -> None:
    close = getattr(source, "aclose", None)
    if close is not None:
        await close()


def warm_analyzer(make_analyzer: Callable[[RecordingMeta], Any], rate_hz: float = 100.0) -> None:
    """Run a throwaway analyzer over 2 s of standing still so the kernels are compiled before data arrives."""
    n = int(2 * rate_hz)
    t = np.arange(n) / rate_hz
    acc = np.tile([0.0, 0.0, 9.80665], (n, 1))
    analyzer = make_analyzer(RecordingMeta(format="warm-up", sample_rate_hz=rate_hz))
    for i in range(0, n, 10):
        analyzer.push(Samples(t[i : i + 10], acc[i : i + 10], np.zeros((len(t[i : i + 10]), 3))))


def with_source_counts(report: SessionReport, counts: dict[str, int]) -> SessionReport:
    """The report with the source's own drop/gap counts where the source counted more than the file shows."""
    rec = report.recording
    merged = {k: max(int(getattr(rec, k) or 0), v) for k, v in counts.items()}
    return dataclasses.replace(report, recording=dataclasses.replace(rec, **merged))


def ended_line(why: str, session: LiveSession) -> str:
    return f"session ended: {why}; {clock_text(session.elapsed_s)} of data, {session.n_samples} samples"
