"""One profile per device family: GATT UUIDs, how to start streaming, and a per-connection stream.

A profile's `start(client, on_data, rate_hz)` subscribes `on_data` (which only enqueues) to the data
characteristics, sends the family's start/configuration writes, and returns a `Stream` whose
`feed(uuid, data)` turns one notification into `Packet`s of SI samples with device times.
Byte layouts: `reference/protocols.md` §A and `firmware_notes/README.md` (DIY).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from bleak import BleakClient

from sensor.ble import decoders as dec
from sensor.ble.clock import StreamStats

NotifyCallback = Callable[..., None]


@dataclass(frozen=True)
class Packet:
    """Samples from one notification: values (n,3) acc m/s² or gyro rad/s, or (n,6) acc then gyro."""

    channel: str  # "imu" (acc [+ gyro]), "acc" or "gyro"
    values: np.ndarray
    device_s: np.ndarray | None  # device time of each sample, s; None when the device sends none
    seq: int | None = None


class Stream(ABC):
    """Per-connection decoding state of one profile."""

    def __init__(self, rate_hz: float, has_gyro: bool, stats: StreamStats) -> None:
        self.rate_hz = rate_hz
        self.has_gyro = has_gyro
        self.stats = stats

    @abstractmethod
    def decode(self, uuid: str, data: bytes) -> list[Packet]: ...

    def feed(self, uuid: str, data: bytes) -> list[Packet]:
        """Decode one notification; a malformed one is counted and skipped."""
        try:
            return self.decode(uuid, data)
        except dec.FrameError:
            self.stats.malformed += 1
            return []

    @abstractmethod
    async def stop(self, client: BleakClient) -> None:
        """Ask the device to stop streaming (best effort, before disconnecting)."""


class Profile(ABC):
    key: str  # the name after `ble:` in --source
    label: str
    default_rate_hz: int
    service_uuid: str
    advertised_uuid: str | None = None  # a service UUID whose presence in an advertisement names the family
    name_prefixes: tuple[str, ...] = ()  # advertised names that name the family

    def matches(self, name: str | None, service_uuids: list[str]) -> bool:
        """The advertisement lists `advertised_uuid` or its name starts with one of `name_prefixes`."""
        return self.advertised_uuid in service_uuids or (name is not None and name.startswith(self.name_prefixes))

    @abstractmethod
    async def start(
        self, client: BleakClient, on_data: NotifyCallback, rate_hz: int, stats: StreamStats
    ) -> Stream: ...


# --- WitMotion ----------------------------------------------------------------------------------

WIT_SERVICE = "0000ffe5-0000-1000-8000-00805f9a34fb"
WIT_NOTIFY = "0000ffe4-0000-1000-8000-00805f9a34fb"
WIT_WRITE = "0000ffe9-0000-1000-8000-00805f9a34fb"
WIT_COMMAND_GAP_S = 0.1  # the official samples pace unlock -> setting -> save by ~100 ms


class WitMotionStream(Stream):
    def __init__(self, rate_hz: float, stats: StreamStats) -> None:
        super().__init__(rate_hz, True, stats)
        self._tail = b""

    def decode(self, uuid: str, data: bytes) -> list[Packet]:
        packets, self._tail, skipped = dec.split_witmotion(self._tail + bytes(data))
        self.stats.garbage_bytes += skipped
        if not packets:
            return []
        acc, gyro = dec.decode_witmotion(packets)
        return [Packet("imu", np.hstack([acc, gyro]), None)]

    async def stop(self, client: BleakClient) -> None:
        await client.stop_notify(WIT_NOTIFY)


class WitMotion(Profile):
    key, label, default_rate_hz, service_uuid = "witmotion", "WitMotion BLE 5.0 IMU", 100, WIT_SERVICE
    advertised_uuid, name_prefixes = WIT_SERVICE, ("WT",)

    async def start(
        self, client: BleakClient, on_data: NotifyCallback, rate_hz: int, stats: StreamStats
    ) -> Stream:
        if rate_hz not in dec.WIT_RATE_CODES:
            raise ValueError(f"WitMotion rates are {sorted(dec.WIT_RATE_CODES)} Hz, not {rate_hz}")
        await client.start_notify(WIT_NOTIFY, on_data)
        for command in (
            dec.WIT_UNLOCK,
            dec.witmotion_command(0x03, dec.WIT_RATE_CODES[rate_hz]),
            dec.WIT_SAVE,
        ):
            await client.write_gatt_char(WIT_WRITE, command, response=True)
            await asyncio.sleep(WIT_COMMAND_GAP_S)
        return WitMotionStream(rate_hz, stats)


# --- Polar PMD ----------------------------------------------------------------------------------

PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
PMD_RESPONSE_TIMEOUT_S = 10.0
PMD_ALREADY_IN_STATE = 6


class PolarStream(Stream):
    """PMD frames -> packets; per-sample device times from consecutive frame timestamps (SDK rule)."""

    def __init__(self, rate_hz: float, factors: dict[int, float], stats: StreamStats) -> None:
        super().__init__(rate_hz, dec.PMD_GYRO in factors, stats)
        self._factors = factors
        self._epoch_ns: int | None = None
        self._last_ns: dict[int, int] = {}

    def decode(self, uuid: str, data: bytes) -> list[Packet]:
        measurement = data[0] & 0x3F if data else -1
        if measurement not in self._factors:
            raise dec.FrameError(f"PMD data for measurement {measurement}, which was not started")
        frame = dec.decode_pmd_frame(data, self._factors[measurement])
        if self._epoch_ns is None:
            self._epoch_ns = frame.timestamp_ns
        n = len(frame.values)
        period_ns = 1e9 / self.rate_hz
        prev = self._last_ns.get(measurement)
        step_ns = period_ns if prev is None else (frame.timestamp_ns - prev) / n
        if abs(step_ns - period_ns) > 0.1 * period_ns:
            step_ns = period_ns  # a lost, repeated or first frame: nominal spacing, ending at the stamp
        if prev is None or frame.timestamp_ns > prev:
            self._last_ns[measurement] = frame.timestamp_ns
        device_s = (frame.timestamp_ns - self._epoch_ns - step_ns * np.arange(n - 1, -1, -1)) / 1e9
        if measurement == dec.PMD_ACC:
            return [Packet("acc" if self.has_gyro else "imu", frame.values * dec.MG_TO_MPS2, device_s)]
        return [Packet("gyro", frame.values * dec.DEG_TO_RAD, device_s)]

    async def stop(self, client: BleakClient) -> None:
        for measurement in self._factors:
            await client.write_gatt_char(PMD_CONTROL, bytes([0x03, measurement]), response=True)


class Polar(Profile):
    """Polar PMD: H10 (accelerometer only, ±8 g) and Verity Sense (ACC ±8 g + GYRO ±2000 °/s)."""

    service_uuid = PMD_SERVICE

    def __init__(self, key: str, label: str, names: tuple[str, ...], rate_hz: int, with_gyro: bool) -> None:
        self.key, self.label, self.name_prefixes = key, label, names
        self.default_rate_hz, self.with_gyro = rate_hz, with_gyro

    async def start(
        self, client: BleakClient, on_data: NotifyCallback, rate_hz: int, stats: StreamStats
    ) -> Stream:
        responses: asyncio.Queue[bytes] = asyncio.Queue()
        await client.start_notify(PMD_CONTROL, lambda _char, data: responses.put_nowait(bytes(data)))
        await client.start_notify(PMD_DATA, on_data)
        wanted = {dec.PMD_ACC: 8} | ({dec.PMD_GYRO: 2000} if self.with_gyro else {})
        factors = {}
        for measurement, range_ in wanted.items():
            command = dec.pmd_start_command(measurement, rate_hz, 16, range_)
            reply = await self._request(client, responses, command)
            if reply.status == PMD_ALREADY_IN_STATE:  # still streaming from an earlier connection
                await self._request(client, responses, bytes([0x03, measurement]))
                reply = await self._request(client, responses, command)
            if reply.status != 0:
                raise ConnectionError(
                    f"{self.label} refused to start measurement {measurement} (status {reply.status})"
                )
            settings = dec.parse_pmd_settings(reply.params) if reply.params else {}
            factors[measurement] = float(settings.get(5, [1.0])[0])
        return PolarStream(rate_hz, factors, stats)

    @staticmethod
    async def _request(
        client: BleakClient, responses: asyncio.Queue[bytes], command: bytes
    ) -> dec.PmdResponse:
        await client.write_gatt_char(PMD_CONTROL, command, response=True)
        async with asyncio.timeout(PMD_RESPONSE_TIMEOUT_S):
            while True:
                data = await responses.get()
                if data[:1] == b"\xf0":
                    reply = dec.parse_pmd_response(data)
                    if reply.op == command[0]:
                        return reply


# --- Nordic Thingy:52 ---------------------------------------------------------------------------

THINGY_SERVICE = "ef680400-9b35-4933-9b10-52ffa9740042"
THINGY_CONFIG = "ef680401-9b35-4933-9b10-52ffa9740042"
THINGY_RAW = "ef680406-9b35-4933-9b10-52ffa9740042"
THINGY_ADVERTISED = "ef680100-9b35-4933-9b10-52ffa9740042"


class ThingyStream(Stream):
    def decode(self, uuid: str, data: bytes) -> list[Packet]:
        acc, gyro = dec.decode_thingy_raw(data)
        return [Packet("imu", np.hstack([acc, gyro]), None)]

    async def stop(self, client: BleakClient) -> None:
        await client.stop_notify(THINGY_RAW)


class Thingy52(Profile):
    key, label, default_rate_hz, service_uuid = "thingy52", "Nordic Thingy:52", 100, THINGY_SERVICE
    advertised_uuid, name_prefixes = THINGY_ADVERTISED, ("Thingy",)

    async def start(
        self, client: BleakClient, on_data: NotifyCallback, rate_hz: int, stats: StreamStats
    ) -> Stream:
        if not 5 <= rate_hz <= 200:
            raise ValueError(f"Thingy:52 motion rates are 5-200 Hz, not {rate_hz}")
        config = await client.read_gatt_char(THINGY_CONFIG)
        await client.write_gatt_char(
            THINGY_CONFIG, dec.thingy_config_with_rate(bytes(config), rate_hz), response=True
        )
        await client.start_notify(THINGY_RAW, on_data)
        return ThingyStream(rate_hz, True, stats)


# --- DIY open profile ---------------------------------------------------------------------------

DIY_SERVICE = "b4c30000-5e1d-4a6b-9c0e-6261636b6368"
DIY_DATA = "b4c30001-5e1d-4a6b-9c0e-6261636b6368"
DIY_CONTROL = "b4c30002-5e1d-4a6b-9c0e-6261636b6368"
DIY_INFO = "b4c30003-5e1d-4a6b-9c0e-6261636b6368"
DIY_START, DIY_STOP, DIY_SET_RATE = 0x01, 0x00, 0x02


class DiyStream(Stream):
    """Batched frames with a u16 sequence and a u32 µs timestamp, both unwrapped here."""

    def __init__(self, info: dec.DiyInfo, stats: StreamStats) -> None:
        super().__init__(info.rate_hz, info.gyro_dps_per_lsb > 0, stats)
        self.info = info
        self._first_us: int | None = None
        self._latest_us = 0  # unwrapped timestamp of the newest frame

    def decode(self, uuid: str, data: bytes) -> list[Packet]:
        frame = dec.decode_diy_frame(data, self.info)
        if (frame.gyro is not None) != self.has_gyro:
            raise dec.FrameError("DIY frame gyro flag disagrees with the Info characteristic")
        if self._first_us is None:
            self._first_us = self._latest_us = frame.t0_us
        step_us = (frame.t0_us - self._latest_us + (1 << 31)) % (1 << 32) - (1 << 31)  # nearest, across wraps
        unwrapped_us = self._latest_us + step_us
        self._latest_us = max(self._latest_us, unwrapped_us)
        t0_us = unwrapped_us - self._first_us
        device_s = (t0_us + frame.period_us * np.arange(len(frame.acc))) / 1e6
        values = frame.acc if frame.gyro is None else np.hstack([frame.acc, frame.gyro])
        return [Packet("imu", values, device_s, frame.seq)]

    async def stop(self, client: BleakClient) -> None:
        await client.write_gatt_char(DIY_CONTROL, bytes([DIY_STOP]), response=True)


class Diy(Profile):
    key, label, default_rate_hz, service_uuid = "diy", "backcheck DIY tag (open profile)", 100, DIY_SERVICE
    advertised_uuid, name_prefixes = DIY_SERVICE, ("backcheck",)

    async def start(
        self, client: BleakClient, on_data: NotifyCallback, rate_hz: int, stats: StreamStats
    ) -> Stream:
        info = dec.decode_diy_info(bytes(await client.read_gatt_char(DIY_INFO)))
        await client.start_notify(DIY_DATA, on_data)
        if rate_hz != info.rate_hz:
            await client.write_gatt_char(
                DIY_CONTROL, bytes([DIY_SET_RATE]) + rate_hz.to_bytes(2, "little"), response=True
            )
            info = dec.decode_diy_info(bytes(await client.read_gatt_char(DIY_INFO)))
        await client.write_gatt_char(DIY_CONTROL, bytes([DIY_START]), response=True)
        return DiyStream(info, stats)


PROFILES: dict[str, Profile] = {
    p.key: p
    for p in (
        WitMotion(),
        Polar("polar-verity", "Polar Verity Sense", ("Polar Sense", "Polar Verity"), 52, True),
        Polar("polar-h10", "Polar H10", ("Polar H10",), 100, False),
        Thingy52(),
        Diy(),
    )
}


def match_profile(name: str | None, service_uuids: list[str]) -> Profile | None:
    """The first profile whose advertisement rule matches."""
    uuids = [u.lower() for u in service_uuids]
    return next((p for p in PROFILES.values() if p.matches(name, uuids)), None)
