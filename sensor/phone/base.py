"""What the phone sources share: merged channels out as `Samples` blocks timed from the first sample."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import numpy as np

from analysis.samples import Samples
from sensor.phone.merge import StreamMerger, StreamStats
from sensor.recording import RecordingMeta
from sensor.source_notes import SourceNotes


class SilenceNotes:
    """Says in a source's notes when a phone that was sending has sent nothing for `after_s` (`silent_note`,
    formatted with the seconds as `s`), and when it sends again (`again_note`, likewise); clock seconds."""

    def __init__(self, notes: SourceNotes, after_s: float, silent_note: str, again_note: str) -> None:
        self._notes, self._after_s = notes, after_s
        self._silent_note, self._again_note = silent_note, again_note
        self._last_s: float | None = None  # when the last data came (None: none yet, or counted afresh)
        self._silent = False  # the silence was said

    def data(self, now_s: float) -> None:
        """Data came at now_s."""
        if self._silent:
            self._notes.append(self._again_note.format(s=now_s - self._last_s))
        self._last_s, self._silent = now_s, False

    def quiet(self, now_s: float) -> None:
        """Nothing came, as seen at now_s."""
        if not self._silent and self._last_s is not None and now_s - self._last_s >= self._after_s:
            self._silent = True
            self._notes.append(self._silent_note.format(s=now_s - self._last_s))

    def reset(self) -> None:
        """Count afresh from the next data (the phone said why it stopped)."""
        self._last_s, self._silent = None, False


class MergedPhoneSource:
    """Base of `PhyphoxSource` and `SensorLoggerSource`: `info`, `stats`, `events`, iteration.

    A subclass feeds `self.merger`, yields `_pop()` results from `_blocks()`, and says how its
    merged values become acceleration and angular rate (`_acc_gyro`) and which Unix time a time
    on the merger's axis is (`_unix_s`).
    """

    def __init__(self, merger: StreamMerger, info: RecordingMeta):
        self.merger = merger
        self.info = info
        self.events = SourceNotes()  # what happened during the session (a pause, a lost link): shown live
        self._t0_s: float | None = None  # merger time of the first emitted sample
        self._iter: AsyncIterator[Samples] | None = None

    @property
    def stats(self) -> StreamStats:
        return self.merger.stats

    def __aiter__(self) -> AsyncIterator[Samples]:
        if self._iter is None:
            self._iter = self._blocks()
        return self._iter

    def _blocks(self) -> AsyncIterator[Samples]:
        raise NotImplementedError

    def _unix_s(self, t_s: float) -> float:
        raise NotImplementedError

    def _acc_gyro(self, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _pop(self, final: bool) -> Samples | None:
        """The merged samples ready now (all held ones if `final`), t in s from the first sample."""
        out = self.merger.pop(final=final)
        if out is None:
            return None
        t, values = out
        if self._t0_s is None:
            self._t0_s = float(t[0])
            self.info.start_utc = datetime.fromtimestamp(self._unix_s(self._t0_s), UTC).isoformat()
        self.info.sample_rate_hz = self.stats.achieved_rate_hz
        return Samples(t - self._t0_s, *self._acc_gyro(values))
