"""Fake BLE peripherals: each profile's device side, byte for byte, streaming scripted notifications.

A `FakePeripheral` advertises in a `FakeAir`, answers GATT reads and writes from a connected
`FakeBleakClient` (`sensor.ble.fake.radio`), and once streaming encodes its `Motion` in the family's
format on connection-interval events with jitter and device-clock drift, following a `LinkScript`
(drops, duplicates, garbage, a disconnect and re-advertising, power-off). `truth()` is what it
encoded and delivered.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.samples import STANDARD_GRAVITY_MPS2 as G
from sensor.ble import profiles as pr
from sensor.ble.decoders import DIY_HEADER, DIY_INFO, DIY_VERSION

if TYPE_CHECKING:
    from sensor.ble.fake.radio import FakeAir, FakeBleakClient

RAD_TO_DEG = 180.0 / math.pi

# --- motion -------------------------------------------------------------------------------------

Motion = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # host s -> acc m/s², gyro rad/s


def hinge_motion(t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smooth 4 s hinges to 40° flexion with a slight twist: acc (gravity in the sensor frame), gyro."""
    w = 2 * math.pi / 4.0
    flex = np.radians(20.0) * (1 - np.cos(w * t_s))
    twist = np.radians(3.0) * np.sin(0.5 * w * t_s)
    acc = G * np.column_stack([np.sin(flex), np.sin(twist) * 0.1, np.cos(flex)])
    gyro = np.column_stack([np.zeros_like(t_s), np.radians(20.0) * w * np.sin(w * t_s), 0.5 * w * twist])
    return acc, gyro


def simulator_motion(
    seed: int, exercise: str = "deadlift", start_host_s: float = 1000.0, **overrides: Any
) -> Motion:
    """A simulated session (`sensor.simulator`, 200 Hz, no dropouts) as motion from `start_host_s` on."""
    from sensor.simulator import random_session_spec, simulate_session

    spec = random_session_spec(seed, exercise, **({"rate_hz": 200.0, "dropouts": False} | overrides))
    samples = simulate_session(spec)[0].samples

    def motion(t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t_s) - start_host_s
        acc = np.column_stack([np.interp(t, samples.t, samples.acc[:, k]) for k in range(3)])
        return acc, np.column_stack([np.interp(t, samples.t, samples.gyro[:, k]) for k in range(3)])

    return motion


# --- encoders (the device side of each profile) -------------------------------------------------


def encode_pmd_delta(
    measurement: int, timestamp_ns: int, frame_type: int, ints: np.ndarray, block: int = 7
) -> bytes:
    """Delta-compressed PMD frame: 16-bit reference sample, then blocks of `block` samples."""
    ints = np.asarray(ints, dtype=np.int64)
    out = bytearray([measurement]) + timestamp_ns.to_bytes(8, "little") + bytes([frame_type])
    out += b"".join(int(v).to_bytes(2, "little", signed=True) for v in ints[0])
    deltas = np.diff(ints, axis=0)
    for i in range(0, len(deltas), block):
        chunk = deltas[i : i + block]
        bits = max(2, int(np.max(np.abs(chunk))).bit_length() + 1)
        stream = 0
        for j, d in enumerate(chunk.ravel()):
            stream |= (int(d) & ((1 << bits) - 1)) << (j * bits)
        out += bytes([bits, len(chunk)]) + stream.to_bytes(math.ceil(bits * chunk.size / 8), "little")
    return bytes(out)


def _i16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype("<i2")


# --- scripts and peripherals --------------------------------------------------------------------


@dataclass(frozen=True)
class LinkScript:
    """What the device and the radio link do (host seconds from the first stream start)."""

    duration_s: float = 20.0  # the device streams this long, then powers off for good
    connection_interval_s: float = 0.030
    jitter_s: float = 0.004  # host-side delay after the connection event, uniform in [0, jitter)
    drift_ppm: float = 40.0  # the device clock runs fast by this much
    batch: int = 10  # samples per notification (profiles that batch)
    drop: frozenset[int] = frozenset()  # payload indices never delivered
    duplicate: frozenset[int] = frozenset()  # payload indices delivered twice
    garbage: frozenset[int] = frozenset()  # payload indices preceded by a garbage notification
    disconnect_at_s: float | None = None  # the link drops here
    readvertise_after_s: float = 2.0
    seed: int = 0


@dataclass
class Sent:
    host_t_s: np.ndarray  # true host time of each sample
    acc: np.ndarray
    gyro: np.ndarray
    delivered: bool
    delivered_s: float = math.inf


class FakePeripheral:
    """Advertises, answers GATT reads/writes and streams scripted notifications to a FakeBleakClient."""

    layout: dict[str, list[tuple[str, list[str]]]]  # service uuid -> [(char uuid, properties)]
    advertised_uuids: list[str] = []
    rate_hz: float = 100.0

    def __init__(
        self,
        air: FakeAir,
        name: str,
        script: LinkScript = LinkScript(),
        *,
        address: str | None = None,
        motion: Motion = hinge_motion,
        rssi: int = -60,
    ) -> None:
        self.name, self.script, self.motion, self.rssi = name, script, motion, rssi
        self.address = (
            address or f"F0:0D:00:00:{len(air.peripherals) >> 8:02X}:{len(air.peripherals) & 255:02X}"
        )
        self.client: FakeBleakClient | None = None
        self.sent: list[Sent] = []
        self.writes: list[tuple[str, bytes]] = []
        self.stale: list[tuple[float, float]] = []  # host times during which data is pre-configuration
        self._rng = np.random.default_rng(script.seed)
        self._boot_s: float | None = None  # host time at which the device clock reads 0
        self._end_s: float | None = None
        self._disconnect_at: float | None = None
        self._advertise_from_s = -math.inf
        self._payloads = 0
        self._task: asyncio.Task | None = None
        air.peripherals.append(self)

    def advertising(self, now_s: float) -> bool:
        return (
            self.client is None
            and now_s >= self._advertise_from_s
            and (self._end_s is None or now_s < self._end_s)
        )

    def truth(self) -> Sent:
        """Every sample delivered at least once, in order (minus those sent before configuration)."""
        sent = [
            s for s in self.sent if s.delivered and not any(a <= s.delivered_s < b for a, b in self.stale)
        ]
        return Sent(
            *(np.concatenate([getattr(s, k) for s in sent]) for k in ("host_t_s", "acc", "gyro")), True
        )

    # GATT side, overridden per family
    def read(self, uuid: str) -> bytes:
        raise NotImplementedError(uuid)

    def write(self, uuid: str, data: bytes) -> None:
        self.writes.append((uuid, data))

    def subscribed(self, uuid: str) -> None:
        """Notifications were enabled on `uuid`."""

    def encode(
        self, k0: int, device_s: np.ndarray, acc: np.ndarray, gyro: np.ndarray
    ) -> list[tuple[str, bytes]]:
        raise NotImplementedError

    # streaming
    def start_streaming(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._stream(self.client))

    def stop_streaming(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def device_to_host(self, device_s: np.ndarray) -> np.ndarray:
        return self._boot_s + np.asarray(device_s) / (1 + self.script.drift_ppm * 1e-6)

    async def _stream(self, client: FakeBleakClient) -> None:
        loop, s = asyncio.get_running_loop(), self.script
        now = loop.time()
        if self._boot_s is None:
            self._boot_s, self._end_s = now - 1.2345, now + s.duration_s
            self._disconnect_at = None if s.disconnect_at_s is None else now + s.disconnect_at_s
        period_s = 1.0 / self.rate_hz
        k = math.ceil((now - self._boot_s) * (1 + s.drift_ppm * 1e-6) / period_s)
        anchor, last_delivery = now, now
        while True:
            device_s = (k + np.arange(self.batch_size())) * period_s
            host_s = self.device_to_host(device_s)
            event = (
                anchor
                + math.ceil((host_s[-1] + 0.0005 - anchor) / s.connection_interval_s)
                * s.connection_interval_s
            )
            delivery = max(event + self._rng.uniform(0, s.jitter_s), last_delivery)
            if self._disconnect_at is not None and delivery >= self._disconnect_at:
                await asyncio.sleep(self._disconnect_at - loop.time())
                self._disconnect_at = None
                self._advertise_from_s = loop.time() + s.readvertise_after_s
                return self._lose_link(client)
            if host_s[-1] >= self._end_s:
                await asyncio.sleep(self._end_s - loop.time())
                return self._lose_link(client)
            acc, gyro = self.motion(host_s)
            payloads = self.encode(k, device_s, acc, gyro)
            await asyncio.sleep(delivery - loop.time())
            last_delivery = delivery
            indices = range(self._payloads, self._payloads + len(payloads))
            self._payloads += len(payloads)
            self.sent.append(Sent(host_s, acc, gyro, not any(i in s.drop for i in indices), delivery))
            for i, (uuid, payload) in zip(indices, payloads, strict=True):
                if i in s.garbage:
                    client.notify(uuid, self._rng.integers(0, 256, 17, dtype=np.uint8).tobytes())
                if i not in s.drop:
                    client.notify(uuid, payload)
                if i in s.duplicate:
                    client.notify(uuid, payload)
            k += len(device_s)

    def batch_size(self) -> int:
        return self.script.batch

    def _lose_link(self, client: FakeBleakClient) -> None:
        self._task = None
        self.client = None
        client.link_lost()


class FakeWitMotion(FakePeripheral):
    """WT901BLE-like: 0x61 packets at the rate written with unlock/rate/save, 2 packets per notification."""

    layout = {
        pr.WIT_SERVICE: [(pr.WIT_NOTIFY, ["notify"]), (pr.WIT_WRITE, ["write", "write-without-response"])]
    }
    rate_hz = 10.0  # factory default until the source sets it

    def write(self, uuid: str, data: bytes) -> None:
        super().write(uuid, data)
        codes = {0x08: 50.0, 0x09: 100.0, 0x0B: 200.0}
        if data[:3] == b"\xff\xaa\x03" and data[3] in codes:
            self.rate_hz = codes[data[3]]
            if self._task is not None:  # the new rate applies at once
                self.stop_streaming()
                self.start_streaming()
        if data == b"\xff\xaa\x00\x00\x00":  # save: the source starts decoding after its pause
            now = asyncio.get_running_loop().time()
            self.stale[-1] = (self.stale[-1][0], now + pr.WIT_COMMAND_GAP_S)

    def subscribed(self, uuid: str) -> None:
        self.start_streaming()  # streams at once, at the rate it had: stale until "save" is done
        self.stale.append((asyncio.get_running_loop().time(), math.inf))

    def batch_size(self) -> int:
        return 2

    def encode(
        self, k0: int, device_s: np.ndarray, acc: np.ndarray, gyro: np.ndarray
    ) -> list[tuple[str, bytes]]:
        angles = np.zeros_like(acc)
        raw = np.hstack([_i16(acc / G / 16 * 32768), _i16(gyro * RAD_TO_DEG / 2000 * 32768), _i16(angles)])
        return [(pr.WIT_NOTIFY, b"".join(b"\x55\x61" + row.tobytes() for row in raw))]


class FakePolar(FakePeripheral):
    """Polar PMD: CP start/stop with responses; H10 raw 0x01 ACC frames, Verity delta 0x80 ACC+GYRO."""

    layout = {pr.PMD_SERVICE: [(pr.PMD_CONTROL, ["read", "write", "indicate"]), (pr.PMD_DATA, ["notify"])]}
    ACC_FACTOR, GYRO_FACTOR = 8.0 / 32768, 2000.0 / 32768
    CLOCK_START_NS = 26 * 365 * 86400 * 10**9  # device clock: ns since 2000-01-01

    def __init__(
        self, air: FakeAir, name: str, script: LinkScript = LinkScript(), *, verity: bool, **kw: Any
    ) -> None:
        super().__init__(air, name, script, **kw)
        self.verity = verity
        self.rate_hz = 52.0 if verity else 100.0
        self.measuring: set[int] = set()  # survives a link loss, like a real H10

    def write(self, uuid: str, data: bytes) -> None:
        super().write(uuid, data)
        op, measurement = data[0], data[1]
        status, params = 0, b""
        if op == 0x02:
            status = 6 if measurement in self.measuring else 0
            self.measuring.add(measurement)
            self.rate_hz = float(int.from_bytes(data[4:6], "little"))
            if self.verity:
                factor = self.ACC_FACTOR if measurement == 2 else self.GYRO_FACTOR
                params = b"\x05\x01" + struct.pack("<f", factor)
        elif op == 0x03:
            self.measuring.discard(measurement)
            self.stop_streaming()
        self.client.notify(pr.PMD_CONTROL, bytes([0xF0, op, measurement, status, 0]) + params)
        if self.measuring >= ({2, 5} if self.verity else {2}) and status == 0:
            self.start_streaming()

    def encode(
        self, k0: int, device_s: np.ndarray, acc: np.ndarray, gyro: np.ndarray
    ) -> list[tuple[str, bytes]]:
        ts = self.CLOCK_START_NS + int(round(device_s[-1] * 1e9))
        if not self.verity:
            mg = _i16(acc / G * 1000)
            return [(pr.PMD_DATA, b"\x02" + ts.to_bytes(8, "little") + b"\x01" + mg.tobytes())]
        acc_ints = np.round(acc / G / self.ACC_FACTOR).astype(int)
        gyro_ints = np.round(gyro * RAD_TO_DEG / self.GYRO_FACTOR).astype(int)
        return [
            (pr.PMD_DATA, encode_pmd_delta(2, ts, 0x80, acc_ints)),
            (pr.PMD_DATA, encode_pmd_delta(5, ts, 0x80, gyro_ints)),
        ]


class FakeThingy52(FakePeripheral):
    """Thingy:52 motion service: 9-byte config (read-modify-write), one raw sample per notification."""

    layout = {pr.THINGY_SERVICE: [(pr.THINGY_CONFIG, ["read", "write"]), (pr.THINGY_RAW, ["notify"])]}
    advertised_uuids = [pr.THINGY_ADVERTISED]
    config = bytes.fromhex("E803F401F4010A0001")

    def read(self, uuid: str) -> bytes:
        return self.config

    def write(self, uuid: str, data: bytes) -> None:
        super().write(uuid, data)
        self.config, self.rate_hz = bytes(data), float(int.from_bytes(data[6:8], "little"))

    def subscribed(self, uuid: str) -> None:
        self.start_streaming()

    def batch_size(self) -> int:
        return 1

    def encode(
        self, k0: int, device_s: np.ndarray, acc: np.ndarray, gyro: np.ndarray
    ) -> list[tuple[str, bytes]]:
        raw = np.hstack([_i16(acc / G * 1024), _i16(gyro * RAD_TO_DEG * 32), _i16(np.zeros((1, 3)))])
        return [(pr.THINGY_RAW, raw.tobytes())]


class FakeDiyTag(FakePeripheral):
    """The DIY open profile (firmware_notes/README.md): Info read, control writes, batched frames."""

    layout = {
        pr.DIY_SERVICE: [(pr.DIY_DATA, ["notify"]), (pr.DIY_CONTROL, ["write"]), (pr.DIY_INFO, ["read"])]
    }
    advertised_uuids = [pr.DIY_SERVICE]
    ACC_G_PER_LSB, GYRO_DPS_PER_LSB = 0.000122, 0.035  # LSM6DS3 at ±4 g, ±1000 °/s
    timestamp_start_us = (1 << 32) - 5_000_000  # the µs counter wraps 5 s into the stream
    sequence_start = 65_500  # and the u16 sequence about 5 s in (at 10 samples per frame)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._seq = self.sequence_start

    def read(self, uuid: str) -> bytes:
        return DIY_INFO.pack(
            DIY_VERSION, 1, 3, int(self.rate_hz), 19, self.ACC_G_PER_LSB, self.GYRO_DPS_PER_LSB
        )

    def write(self, uuid: str, data: bytes) -> None:
        super().write(uuid, data)
        if data[0] == pr.DIY_SET_RATE:
            self.rate_hz = float(int.from_bytes(data[1:3], "little"))
        elif data[0] == pr.DIY_START:
            self.start_streaming()
        elif data[0] == pr.DIY_STOP:
            self.stop_streaming()

    def encode(
        self, k0: int, device_s: np.ndarray, acc: np.ndarray, gyro: np.ndarray
    ) -> list[tuple[str, bytes]]:
        period_us = round(1e6 / self.rate_hz)
        t0_us = (self.timestamp_start_us + k0 * period_us) % (1 << 32)
        head = DIY_HEADER.pack(DIY_VERSION << 4 | 1, len(acc), self._seq & 0xFFFF, t0_us, period_us)
        self._seq += 1
        raw = np.hstack([_i16(acc / G / self.ACC_G_PER_LSB), _i16(gyro * RAD_TO_DEG / self.GYRO_DPS_PER_LSB)])
        return [(pr.DIY_DATA, head + raw.tobytes())]
