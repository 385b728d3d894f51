"""Device time -> host seconds, and loss accounting for BLE streams.

`HostClock` fits host ≈ device·(1 + skew) + offset to the LOWER envelope of (arrival - device time):
BLE delivers notifications late by a connection interval or more, never early, so the fastest
packets carry the clock and batching latency does not bias it. Changes of the fit are slewed in
(at most `max_slew` seconds per device second), so mapped times stay strictly increasing.

`LossTracker` sees each packet's sequence number (when the device sends one) and device times:
duplicates and late (out-of-order) packets are dropped, lost packets become gaps (the samples are
simply absent, so t jumps). `SampleCounter` gives counter-less streams (WitMotion, Thingy:52) a
device time from the sample count and infers losses from arrivals that are later than the fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ClockSettings:
    """How device time is mapped to host time (human units)."""

    window_s: float = 30.0  # device seconds of arrival history used by the fit
    bin_s: float = 2.0  # the fastest packet of each bin is one envelope point
    min_bins: int = 4  # complete bins needed before the skew (clock rate ratio) is fitted
    max_skew: float = 0.02  # |skew| limit: crystal drift, or a counter-less stream's nominal rate error
    max_slew: float = 0.05  # s of correction applied per s of device time
    gap_periods: float = 1.5  # a step above this many sample periods is a gap
    late_loss_s: float = 0.25  # counter-less streams: arrival this late after the fit = lost samples


@dataclass
class StreamStats:
    """Counts kept for the session summary."""

    packets: int = 0
    samples: int = 0
    dropped_packets: int = 0  # from sequence counters
    dropped_samples: int = 0  # from device time gaps (or lateness, counter-less)
    duplicates: int = 0
    out_of_order: int = 0
    malformed: int = 0
    garbage_bytes: int = 0
    gaps: int = 0
    reconnects: int = 0

    def add(self, other: StreamStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class HostClock:
    """Lower-envelope linear fit of arrival time against device time, with slewed corrections."""

    def __init__(self, settings: ClockSettings = ClockSettings()) -> None:
        self.settings = settings
        self._bins: dict[int, tuple[float, float]] = {}  # bin -> (device_s, arrival - device)
        self.skew = 0.0
        self.offset_s: float | None = None
        self._correction_s = 0.0
        self._last_device_s: float | None = None
        self._first_device_s: float | None = None

    def fitted(self, device_s: float) -> float:
        assert self.offset_s is not None, "observe() a packet first"
        return device_s * (1.0 + self.skew) + self.offset_s

    def observe(self, device_s: float, arrival_s: float) -> None:
        """A notification whose last sample has device time `device_s` arrived at `arrival_s`."""
        if self._first_device_s is None:
            self._first_device_s = device_s
        key = int(np.floor((device_s - self._first_device_s) / self.settings.bin_s))
        lag = arrival_s - device_s
        if key not in self._bins or lag < self._bins[key][1]:
            self._bins[key] = (device_s, lag)
        oldest = key - int(np.ceil(self.settings.window_s / self.settings.bin_s))
        for k in [k for k in self._bins if k < oldest]:
            del self._bins[k]
        before = None if self.offset_s is None else self.fitted(device_s)
        points = np.array([self._bins[k] for k in sorted(self._bins)])
        if len(points) > self.settings.min_bins:  # the newest bin is still filling: not in the slope
            slope = np.polyfit(points[:-1, 0], points[:-1, 1], 1)[0]
            self.skew = float(np.clip(slope, -self.settings.max_skew, self.settings.max_skew))
        self.offset_s = float(np.min(points[:, 1] - self.skew * points[:, 0]))
        if before is not None:
            self._correction_s += before - self.fitted(device_s)

    def to_host(self, device_s: np.ndarray) -> np.ndarray:
        """Host seconds for increasing device times later than any mapped before."""
        device_s = np.asarray(device_s, dtype=np.float64)
        prev = device_s[0] if self._last_device_s is None else self._last_device_s
        budget = np.maximum(device_s - prev, 0.0) * self.settings.max_slew
        c = self._correction_s
        correction = np.sign(c) * np.maximum(abs(c) - budget, 0.0)
        self._correction_s = float(correction[-1])
        self._last_device_s = float(device_s[-1])
        return device_s * (1.0 + self.skew) + self.offset_s + correction


@dataclass
class LossTracker:
    """Drops duplicate/late packets, counts losses, keeps device times strictly increasing."""

    period_s: float
    settings: ClockSettings = field(default_factory=ClockSettings)
    stats: StreamStats = field(default_factory=StreamStats)
    _seq: int | None = None
    _last_device_s: float | None = None

    def accept(self, device_s: np.ndarray, seq: int | None = None, seq_bits: int = 16) -> np.ndarray:
        """Boolean mask of the packet's samples to keep (all False for a duplicate or late packet)."""
        keep = np.ones(device_s.size, dtype=bool)
        if seq is not None:
            if self._seq is not None:
                step = (seq - self._seq) % (1 << seq_bits)
                if step == 0:
                    self.stats.duplicates += 1
                    return ~keep
                if step >= 1 << (seq_bits - 1):
                    self.stats.out_of_order += 1
                    return ~keep
                self.stats.dropped_packets += step - 1
            self._seq = seq
        if self._last_device_s is not None:
            keep = device_s > self._last_device_s + 0.5 * self.period_s
            if not keep.any():
                if seq is None and abs(device_s[-1] - self._last_device_s) < 0.5 * self.period_s:
                    self.stats.duplicates += 1
                else:
                    self.stats.out_of_order += 1
                return keep
            step_s = device_s[keep][0] - self._last_device_s
            if step_s > self.settings.gap_periods * self.period_s:
                self.stats.gaps += 1
                self.stats.dropped_samples += int(round(step_s / self.period_s)) - 1
        self.stats.packets += 1
        self.stats.samples += int(keep.sum())
        self._last_device_s = float(device_s[keep][-1])
        return keep


class SampleCounter:
    """Device time for streams without one: sample index × nominal period, losses from lateness."""

    def __init__(self, period_s: float, clock: HostClock, stats: StreamStats) -> None:
        self.period_s = period_s
        self._clock = clock
        self._stats = stats
        self._next = 0

    def times(self, n: int, arrival_s: float) -> np.ndarray:
        """Device times for the next `n` samples, which all arrived by `arrival_s`."""
        if self._clock.offset_s is not None:
            late_s = arrival_s - self._clock.fitted((self._next + n - 1) * self.period_s)
            if late_s > self._clock.settings.late_loss_s:
                lost = int(round(late_s / self.period_s))
                self._stats.dropped_samples += lost
                self._stats.gaps += 1
                self._next += lost
        device_s = (self._next + np.arange(n)) * self.period_s
        self._next += n
        return device_s
