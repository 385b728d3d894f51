"""Streaming merge of separately timestamped phone sensor series onto one timeline.

Phones deliver the accelerometer, the gyroscope (and for Sensor Logger the gravity vector) as
separate series, each with its own timestamps, in batches that may arrive late, twice or out of
order. `StreamMerger` holds the samples of every channel, sorted and de-duplicated by time, and
emits the primary channel's samples once every channel has covered them (plus a reorder window),
with each secondary channel linearly interpolated onto the primary timestamps, only across steps
of a few sample periods (`sensor.importers.merge.interpolate_onto`, the importers' rule); primary
samples that fall in a longer secondary gap are dropped and counted, so a gap stays a gap.

Pure computation, no clock: times are seconds on any fixed axis chosen by the source.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from sensor.importers.merge import interpolate_onto


@dataclass(frozen=True)
class MergeSettings:
    """How long to wait for late data and how far to interpolate.

    reorder_window_s: data time a sample is held back after every channel has passed it, so a
        message that arrives late by up to this much is still put in order (0: emit at once).
    reorder_batches: ... or at least this many times the data a batch of the primary channel spans (its
        median over the last batches): a message overtaken by the next one arrives a batch late, however
        long the phone's batches are (0: the window alone).
    max_step_periods: a secondary channel is interpolated only across steps of at most this many
        of its median sample periods (the importers' rule).
    max_wait_s: when a secondary channel falls silent, primary samples older than this (s of
        data time) behind the newest primary sample are given up on (dropped and counted).
    first_wait_s: the same for a secondary channel not heard from yet: longer, so a source that learns
        the phone has no such sensor (Sensor Logger's `missing_sensor_after_s`) can go on without it and
        lose nothing.
    history_s: data time of already emitted samples kept to recognise duplicates.
    """

    reorder_window_s: float = 0.1
    reorder_batches: float = 1.5
    max_step_periods: float = 3.0
    max_wait_s: float = 1.0
    first_wait_s: float = 4.0
    history_s: float = 10.0


@dataclass
class StreamStats:
    """Counts for the session summary, in samples of one channel unless said otherwise."""

    samples_out: int = 0  # merged samples emitted
    duplicates: int = 0  # samples seen before (same channel, same time), dropped
    out_of_order: int = 0  # samples that arrived after newer ones and were put back in order
    late: int = 0  # samples older than what was already emitted, dropped
    invalid: int = 0  # samples with a missing (null/NaN) time or value, dropped
    unpaired: int = 0  # primary samples with no secondary data close enough, dropped
    missing: int = 0  # samples the phone never delivered, estimated from the gaps
    reconnects: int = 0  # connections re-established by the source
    gap_spans: list[tuple[float, float]] = field(default_factory=list)  # (last t before, first after), s
    covered_s: float = 0.0  # time spanned by emitted samples, gaps excluded
    covered_steps: int = 0  # sample steps in covered_s

    @property
    def gaps(self) -> int:
        return len(self.gap_spans)

    @property
    def dropped_samples(self) -> int:
        """Samples lost on the way: never delivered (a late message's among them: its hole was counted when
        the samples around it went out), invalid or without a partner."""
        return self.missing + self.invalid + self.unpaired

    @property
    def achieved_rate_hz(self) -> float:
        """Samples per second over the time covered by emitted samples (NaN until two samples)."""
        return self.covered_steps / self.covered_s if self.covered_s > 0 else float("nan")


class _Channel:
    def __init__(self) -> None:
        self.t = np.zeros(0)
        self.xyz = np.zeros((0, 3))
        self.newest_s = -np.inf

    def period_s(self) -> float:
        return float(np.median(np.diff(self.t))) if self.t.size > 1 else np.inf


class StreamMerger:
    """Merge a primary channel and secondary channels (interpolated onto the primary times).

    `add()` takes a batch of one channel; `pop()` returns what is ready as
    `(t_s, {channel: (n, 3) values})`, or None. `pop(final=True)` flushes everything held.
    """

    def __init__(self, primary: str, secondary: tuple[str, ...], settings: MergeSettings | None = None):
        self.settings = settings or MergeSettings()
        self.primary = primary
        self.channels = {name: _Channel() for name in (primary, *secondary)}
        self.stats = StreamStats()
        self.emitted_s = -np.inf  # time of the last emitted primary sample
        self._period_s = np.nan  # primary sample period, for gap detection
        self._last_out_s = np.nan
        self._batch_spans_s: deque[float] = deque(maxlen=20)  # data each recent primary batch spans (s)

    def add(self, channel: str, t_s: np.ndarray, xyz: np.ndarray) -> None:
        """Take a batch of samples of one channel, in any order; bad, old and repeated ones are dropped."""
        ch = self.channels[channel]
        t_s = np.asarray(t_s, dtype=np.float64).reshape(-1)
        xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        ok = np.isfinite(t_s) & np.isfinite(xyz).all(axis=1)
        self.stats.invalid += int((~ok).sum())
        t_s, xyz = t_s[ok], xyz[ok]
        if t_s.size == 0:
            return
        t_s, first = np.unique(t_s, return_index=True)  # sorted; repeats inside the batch dropped
        self.stats.duplicates += xyz.shape[0] - t_s.size
        xyz = xyz[first]
        seen = np.isin(t_s, ch.t)
        self.stats.duplicates += int(seen.sum())
        late = ~seen & (t_s <= self.emitted_s)
        self.stats.late += int(late.sum())
        keep = ~seen & ~late
        self.stats.out_of_order += int((keep & (t_s < ch.newest_s)).sum())
        t_all = np.concatenate([ch.t, t_s[keep]])
        order = np.argsort(t_all, kind="stable")
        ch.t = t_all[order]
        ch.xyz = np.concatenate([ch.xyz, xyz[keep]])[order]
        ch.newest_s = max(ch.newest_s, float(t_s[-1]))
        if channel == self.primary and t_s.size > 1:
            self._batch_spans_s.append(float(t_s[-1] - t_s[0]) * t_s.size / (t_s.size - 1))
        # bounded while another channel is silent (nothing is emitted, `pop` prunes nothing): a channel keeps
        # at most twice history_s of its own data; what falls off cannot be paired any more
        i = int(np.searchsorted(ch.t, ch.newest_s - 2.0 * self.settings.history_s, side="left"))
        if i:
            ch.t, ch.xyz = ch.t[i:], ch.xyz[i:]

    def ready_until_s(self) -> float:
        """Primary samples up to this time can be emitted now."""
        s = self.settings
        newest_primary = self.channels[self.primary].newest_s
        edge = newest_primary
        for name, ch in self.channels.items():
            if name != self.primary:
                wait_s = s.max_wait_s if np.isfinite(ch.newest_s) else s.first_wait_s
                edge = min(edge, max(ch.newest_s, newest_primary - wait_s))
        window_s = s.reorder_window_s
        if s.reorder_batches > 0.0 and self._batch_spans_s:
            window_s = max(window_s, s.reorder_batches * float(np.median(self._batch_spans_s)))
        return edge - window_s

    def pop(self, final: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """Emit the primary samples every channel has covered, secondaries interpolated onto them."""
        edge = np.inf if final else self.ready_until_s()
        prim = self.channels[self.primary]
        i0, i1 = np.searchsorted(prim.t, [self.emitted_s, edge], side="right")
        if i1 <= i0:
            return None
        t = prim.t[i0:i1]
        values = {self.primary: prim.xyz[i0:i1]}
        ok = np.ones(t.size, dtype=bool)
        for name, ch in self.channels.items():
            if name != self.primary:
                values[name], valid = self._interpolate(ch, t)
                ok &= valid
        self.stats.unpaired += int((~ok).sum())
        self.emitted_s = float(t[-1])
        self._prune()
        t = t[ok]
        if t.size == 0:
            return None
        self._count(t)
        return t, {name: v[ok] for name, v in values.items()}

    def _interpolate(self, ch: _Channel, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if ch.t.size == 0:
            return np.zeros((t.size, 3)), np.zeros(t.size, dtype=bool)
        return interpolate_onto(t, ch.t, ch.xyz, self.settings.max_step_periods * ch.period_s())

    def _prune(self) -> None:
        keep_from_s = self.emitted_s - self.settings.history_s
        for ch in self.channels.values():
            i = int(np.searchsorted(ch.t, keep_from_s, side="left"))
            # keep one sample before the horizon so a secondary can still bracket the next block
            i = max(i - 1, 0)
            if i:
                ch.t, ch.xyz = ch.t[i:], ch.xyz[i:]

    def _count(self, t: np.ndarray) -> None:
        st = self.stats
        if np.isfinite(self._last_out_s):
            t_steps = np.concatenate([[self._last_out_s], t])
        else:
            t_steps = t
        steps = np.diff(t_steps)
        if steps.size and not np.isfinite(self._period_s):
            self._period_s = float(np.median(steps))
        if steps.size:
            gap = steps > max(3.0 * self._period_s, 0.05)
            st.gap_spans.extend(zip(t_steps[:-1][gap].tolist(), t_steps[1:][gap].tolist(), strict=True))
            st.missing += int(np.sum(np.round(steps[gap] / self._period_s) - 1))
            st.covered_s += float(steps[~gap].sum())
            st.covered_steps += int((~gap).sum())
        st.samples_out += int(t.size)
        self._last_out_s = float(t[-1])
