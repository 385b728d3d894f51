"""BleSource: a BLE IMU tag as an async iterator of `Samples`, reconnecting on its own.

    source = open_ble_source("diy@backcheck-1234")
    async for block in source:          # Samples: t s (0 = first sample), acc m/s², gyro rad/s
        ...
    source.stats                        # packets, lost samples/packets, duplicates, reconnects, ...

The bleak notification callback only enqueues `(host time, uuid, bytes)`; decoding, loss tracking
and clock fitting run in the consumer. Host time is the event loop's clock (`loop.time()`, i.e.
monotonic), so tests can drive everything on a virtual clock (`sensor.ble.fake.run_virtual`).
After a disconnect: back-off, a NEW scan and a NEW BleakClient (BlueZ may forget the device).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakBluetoothNotAvailableError, BleakError

from analysis.samples import Samples
from sensor.ble.clock import ClockSettings, HostClock, LossTracker, SampleCounter, StreamStats
from sensor.ble.profiles import PROFILES, Packet, Profile, Stream
from sensor.errors import DeviceError, InputError
from sensor.recording import RecordingMeta
from sensor.source_notes import SourceNotes

log = logging.getLogger(__name__)
NO_BLUETOOTH = "Bluetooth is not available on this machine; plug in or turn on a Bluetooth LE adapter"
LINK_ERRORS = (BleakError, TimeoutError, ConnectionError, OSError, ValueError)


@dataclass(frozen=True)
class BleSettings:
    """How a BLE source finds, keeps and times its device (human units)."""

    rate_hz: int | None = None  # None: the profile's default (WitMotion/Thingy/DIY/H10 100, Verity 52)
    scan_timeout_s: float = 10.0  # one scan for the device
    connect_timeout_s: float = 20.0
    stall_timeout_s: float = 5.0  # connected but silent this long = link lost
    backoff_initial_s: float = 1.0  # wait before the first reconnect; doubles per failure
    backoff_max_s: float = 30.0
    give_up_after_s: float | None = 300.0  # no data this long -> DeviceError; None = never
    clock: ClockSettings = field(default_factory=ClockSettings)


class _PairMerger:
    """Joins separately stamped acc and gyro streams: gyro interpolated at the acc device times."""

    def __init__(self, period_s: float, stats: StreamStats) -> None:
        self._period_s, self._stats = period_s, stats
        self._acc_t, self._acc = np.zeros(0), np.zeros((0, 3))
        self._gyro_t, self._gyro = np.zeros(0), np.zeros((0, 3))

    def push(self, channel: str, device_s: np.ndarray, values: np.ndarray) -> None:
        if channel == "acc":
            self._acc_t, self._acc = np.concatenate([self._acc_t, device_s]), np.vstack([self._acc, values])
        else:
            self._gyro_t, self._gyro = (
                np.concatenate([self._gyro_t, device_s]),
                np.vstack([self._gyro, values]),
            )

    def pop(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        gt, at = self._gyro_t, self._acc_t
        if gt.size < 2 or at.size == 0:
            keep = at >= (at[-1] if at.size else 0.0) - 1.0  # acc waits for gyro at most 1 s
            self._acc_t, self._acc = at[keep], self._acc[keep]
            return np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3))
        ready = at <= gt[-1]
        hi = np.clip(np.searchsorted(gt, at[ready]), 1, gt.size - 1)
        valid = (at[ready] >= gt[0]) & (gt[hi] - gt[hi - 1] <= 2.5 * self._period_s)
        t = at[ready][valid]
        acc = self._acc[ready][valid]
        gyro = np.column_stack([np.interp(t, gt, self._gyro[:, k]) for k in range(3)])
        waiting = ~ready & (at <= gt[-1] + 1.0)
        unpaired = int((~valid).sum() + (~ready & ~waiting).sum())  # acc samples without gyro around them
        self._stats.dropped_samples += unpaired
        self._stats.gaps += unpaired > 0
        self._acc_t, self._acc = at[waiting], self._acc[waiting]
        keep_g = gt >= (t[-1] if t.size else gt[-1]) - 3 * self._period_s
        self._gyro_t, self._gyro = gt[keep_g], self._gyro[keep_g]
        return t, acc, gyro


class _Pipeline:
    """Per-connection: packets -> loss tracking -> clock fit -> host-timed arrays."""

    def __init__(self, stream: Stream, clock: ClockSettings, stats: StreamStats) -> None:
        period_s = 1.0 / stream.rate_hz
        self.stream, self.stats = stream, stats
        self.clock = HostClock(clock)
        self.counter = SampleCounter(period_s, self.clock, stats)
        self.trackers = {c: LossTracker(period_s, clock, stats) for c in ("imu", "acc")}
        # the gyro stream's losses cost acc samples, which the merger counts: only its packets count here
        self.trackers["gyro"] = LossTracker(period_s, clock, StreamStats())
        self.merger = _PairMerger(period_s, stats)
        self._last_payload: dict[str, bytes] = {}

    def push(self, items: list[tuple[float, str, bytes]]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for arrival_s, uuid, data in items:
            if data == self._last_payload.get(uuid):  # a repeated notification (counter-less streams too)
                self.stats.duplicates += 1
                continue
            self._last_payload[uuid] = data
            for packet in self.stream.feed(uuid, data):
                accepted = self._accept(packet, arrival_s)
                if accepted is None:
                    continue
                device_s, values = accepted
                self.clock.observe(float(device_s[-1]), arrival_s)
                if packet.channel == "imu":
                    out.append((device_s, values))
                else:
                    self.merger.push(packet.channel, device_s, values)
        if not out:  # streams with separate acc and gyro characteristics (Polar Verity)
            t, acc, gyro = self.merger.pop()
            out = [(t, np.hstack([acc, gyro]))] if t.size else []
        if not out:
            return np.zeros(0), np.zeros((0, 3)), None
        device_s = np.concatenate([d for d, _ in out])
        values = np.vstack([v for _, v in out])
        gyro = values[:, 3:6] if values.shape[1] == 6 else None
        return self.clock.to_host(device_s), values[:, :3], gyro

    def _accept(self, packet: Packet, arrival_s: float) -> tuple[np.ndarray, np.ndarray] | None:
        if packet.device_s is None:
            self.stats.packets += 1
            self.stats.samples += len(packet.values)
            return self.counter.times(len(packet.values), arrival_s), packet.values
        tracker = self.trackers[packet.channel]
        before = (tracker.stats.duplicates, tracker.stats.out_of_order)
        keep = tracker.accept(packet.device_s, packet.seq)
        if packet.channel == "gyro":
            self.stats.duplicates += tracker.stats.duplicates - before[0]
            self.stats.out_of_order += tracker.stats.out_of_order - before[1]
        return (packet.device_s[keep], packet.values[keep]) if keep.any() else None


class BleSource:
    """Async iterator of `Samples` from one BLE device; see the module docstring.

    `info` is the `RecordingMeta` for a recording of this source (device, rate, placement);
    `stats` the counts for the session summary; t = 0 is the first sample's host time.
    """

    def __init__(
        self,
        profile: Profile,
        target: str | None = None,
        settings: BleSettings = BleSettings(),
        *,
        placement: str | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
    ) -> None:
        self.profile, self.target, self.settings = profile, target, settings
        self.rate_hz = settings.rate_hz or profile.default_rate_hz
        self._scanner_backend, self._client_backend = scanner_backend, client_backend
        self.stats = StreamStats()
        self.sessions = 0
        self.last_error: str | None = None
        self.events = SourceNotes()  # a lost link and a reconnect, as they happen
        self.info = RecordingMeta(
            format="backcheck",
            device=self.describe(),
            placement=placement,
            sample_rate_hz=float(self.rate_hz),
            accelerometer_only=not getattr(profile, "with_gyro", True),
            notes={"source": self.describe(), "profile": profile.label},
        )
        self._blocks_gen: AsyncIterator[Samples] | None = None

    def describe(self) -> str:
        return f"ble:{self.profile.key}" + (f"@{self.target}" if self.target else "")

    def matches(self, device: BLEDevice, adv: AdvertisementData) -> bool:
        if self.target is not None:
            wanted = self.target.lower()
            return device.address.lower() == wanted or (adv.local_name or device.name or "").lower() == wanted
        return self.profile.matches(adv.local_name or device.name, [u.lower() for u in adv.service_uuids])

    def __aiter__(self) -> AsyncIterator[Samples]:
        if self._blocks_gen is None:
            self._blocks_gen = self._blocks()
        return self._blocks_gen

    async def aclose(self) -> None:
        """Stop streaming and disconnect (also what leaving an `async for` early leads to)."""
        if self._blocks_gen is not None:
            await self._blocks_gen.aclose()

    async def _blocks(self) -> AsyncIterator[Samples]:
        loop = asyncio.get_running_loop()
        s = self.settings
        start: float | None = None  # host time of the first sample: t = 0
        last_data_s, last_t, backoff_s = loop.time(), -np.inf, s.backoff_initial_s
        lost_at_s: float | None = None  # host time the link was lost, until data comes again
        while True:
            device = await self._find()
            if device is not None:
                sessions = self.sessions
                try:
                    async with contextlib.aclosing(self._session(device)) as session:
                        async for t, acc, gyro in session:
                            last_data_s, backoff_s = loop.time(), s.backoff_initial_s
                            if lost_at_s is not None:
                                self.events.append(f"reconnected after {last_data_s - lost_at_s:.1f} s")
                                lost_at_s = None
                            if start is None:
                                start = float(t[0])
                                self.info.notes["start_host_s"] = start
                            keep = t - start > last_t
                            if keep.any():
                                block = Samples(
                                    t[keep] - start, acc[keep], None if gyro is None else gyro[keep]
                                )
                                last_t = block.t[-1]
                                yield block
                except LINK_ERRORS as err:
                    self.last_error = f"{type(err).__name__}: {err}"
                    log.info("%s: link error: %s", self.describe(), self.last_error)
                if self.sessions > sessions and lost_at_s is None:  # it streamed (or was set to), and is gone
                    lost_at_s = loop.time()
                    self.events.append(f"lost the link to {self.describe()} ({self.last_error}); reconnecting")
            if s.give_up_after_s is not None and loop.time() - last_data_s > s.give_up_after_s:
                raise DeviceError(
                    f"{self.describe()}: no data for {s.give_up_after_s:g} s; the device was not found "
                    f"or would not stream (last error: {self.last_error or 'none'})"
                )
            await asyncio.sleep(backoff_s)
            backoff_s = min(2 * backoff_s, s.backoff_max_s)

    async def _find(self) -> BLEDevice | None:
        try:
            device = await BleakScanner.find_device_by_filter(
                self.matches, timeout=self.settings.scan_timeout_s, backend=self._scanner_backend
            )
        except (BleakBluetoothNotAvailableError, OSError) as err:
            raise DeviceError(f"{self.describe()}: {NO_BLUETOOTH} ({err})") from None
        except BleakError as err:  # e.g. BlueZ "operation already in progress": try again later
            self.last_error = f"scan failed: {err}"
            return None
        if device is None:
            self.last_error = f"not found in a {self.settings.scan_timeout_s:g} s scan"
        return device

    async def _session(
        self, device: BLEDevice
    ) -> AsyncIterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """One connection: yields host-timed arrays until the link drops or stalls."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, str, bytes] | None] = asyncio.Queue()
        client = BleakClient(
            device,
            disconnected_callback=lambda _client: queue.put_nowait(None),
            timeout=self.settings.connect_timeout_s,
            backend=self._client_backend,
        )
        await client.connect()
        stream = None
        try:
            stream = await self.profile.start(
                client,
                lambda char, data: queue.put_nowait((loop.time(), char.uuid, bytes(data))),
                self.rate_hz,
                self.stats,
            )
            self.sessions += 1
            self.stats.reconnects = self.sessions - 1
            self.info.device = f"{device.name or self.target or '?'} ({device.address})"
            self.info.accelerometer_only = not stream.has_gyro
            self.info.sample_rate_hz = float(stream.rate_hz)
            pipeline = _Pipeline(stream, self.settings.clock, self.stats)
            started_s = loop.time()  # notifications from before the configuration are stale
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), self.settings.stall_timeout_s)
                except TimeoutError:
                    self.last_error = f"no notification for {self.settings.stall_timeout_s:g} s"
                    return
                items, disconnected = [], item is None
                if item is not None:
                    items.append(item)
                while not disconnected and not queue.empty():
                    item = queue.get_nowait()
                    disconnected = item is None
                    if item is not None:
                        items.append(item)
                t, acc, gyro = pipeline.push([i for i in items if i[0] >= started_s])
                if t.size:
                    yield t, acc, gyro
                if disconnected:
                    self.last_error = "the device disconnected"
                    return
        finally:
            await self._close(client, stream)

    async def _close(self, client: BleakClient, stream: Stream | None) -> None:
        if not client.is_connected:
            return
        try:
            async with asyncio.timeout(5.0):
                if stream is not None:
                    await stream.stop(client)
                await client.disconnect()
        except LINK_ERRORS as err:
            log.info("%s: while disconnecting: %s", self.describe(), err)


def open_ble_source(spec: str, **options: object) -> BleSource:
    """`spec` is what follows `ble:`: PROFILE or PROFILE@NAME_OR_ADDRESS, e.g. `diy@backcheck-1234`.

    Options: any `BleSettings` field, plus `placement`, `scanner_backend`, `client_backend`.
    """
    key, _, target = spec.partition("@")
    profile = PROFILES.get(key.strip().lower())
    if profile is None:
        raise InputError(
            f"--source ble:{spec}: unknown BLE profile {key!r}; expected one of {', '.join(PROFILES)}"
        )
    if "@" in spec and not target.strip():
        raise InputError(f"--source ble:{spec}: expected a device name or address after '@'")
    names = {f.name for f in fields(BleSettings)}
    settings = BleSettings(**{k: v for k, v in options.items() if k in names})  # type: ignore[arg-type]
    rest = {k: v for k, v in options.items() if k not in names}
    return BleSource(profile, target.strip() or None, settings, **rest)  # type: ignore[arg-type]
