"""Pure decoders: notification bytes -> arrays in SI units (acc m/s², gyro rad/s, time s).

One function per frame format of `reference/protocols.md` §A. They keep no state and touch no
Bluetooth; a malformed frame raises `FrameError` (the stream counts it and goes on).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from analysis.samples import STANDARD_GRAVITY_MPS2

DEG_TO_RAD = math.pi / 180.0
MG_TO_MPS2 = STANDARD_GRAVITY_MPS2 / 1000.0


class FrameError(ValueError):
    """A notification that does not follow its documented layout."""


# --- WitMotion BLE 5.0 (§A.1): 20-byte packets `55 61`, a byte stream without checksum ----------

WIT_PACKET_BYTES = 20
WIT_DATA_FLAG = 0x61
WIT_REGISTER_FLAG = 0x71


def split_witmotion(buffer: bytes) -> tuple[list[bytes], bytes, int]:
    """Cut a WitMotion byte stream into 0x61 data packets.

    Returns (data packets, unconsumed tail to prepend to the next notification, bytes skipped
    while resynchronising on `55 61` / `55 71`). Register replies (0x71) are consumed silently.
    """
    packets: list[bytes] = []
    i = skipped = 0
    n = len(buffer)
    while i + 1 < n:
        if buffer[i] == 0x55 and buffer[i + 1] in (WIT_DATA_FLAG, WIT_REGISTER_FLAG):
            if i + WIT_PACKET_BYTES > n:
                break
            if buffer[i + 1] == WIT_DATA_FLAG:
                packets.append(bytes(buffer[i : i + WIT_PACKET_BYTES]))
            i += WIT_PACKET_BYTES
        else:
            i += 1
            skipped += 1
    if i == n - 1 and buffer[i] != 0x55:  # a lone last byte that cannot start a packet
        i, skipped = n, skipped + 1
    return packets, bytes(buffer[i:]), skipped


def decode_witmotion(packets: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """0x61 packets -> (acc (n,3) m/s², gyro (n,3) rad/s); fixed ±16 g and ±2000 °/s scaling."""
    if any(len(p) != WIT_PACKET_BYTES or p[0] != 0x55 or p[1] != WIT_DATA_FLAG for p in packets):
        raise FrameError("WitMotion packets must be 20 bytes starting 55 61")
    raw = np.frombuffer(b"".join(packets), dtype="<i2").reshape(-1, 10).astype(np.float64)
    acc = raw[:, 1:4] * (16.0 / 32768.0 * STANDARD_GRAVITY_MPS2)
    gyro = raw[:, 4:7] * (2000.0 / 32768.0 * DEG_TO_RAD)
    return acc, gyro


def witmotion_command(register: int, value: int) -> bytes:
    """`FF AA <reg> <valL> <valH>`."""
    return bytes([0xFF, 0xAA, register & 0xFF]) + struct.pack("<H", value)


WIT_UNLOCK = bytes.fromhex("FFAA6988B5")
WIT_SAVE = bytes.fromhex("FFAA000000")
WIT_RATE_CODES = {50: 0x08, 100: 0x09, 200: 0x0B}


# --- Polar PMD (§A.2) ----------------------------------------------------------------------------

PMD_ACC = 2
PMD_GYRO = 5
PMD_EPOCH_UNIX_NS = 946_684_800_000_000_000  # 2000-01-01T00:00:00Z


@dataclass(frozen=True)
class PmdResponse:
    """A control-point response `F0 <op> <type> <status> <more> <params>`."""

    op: int
    measurement: int
    status: int
    more: bool
    params: bytes


def parse_pmd_response(data: bytes) -> PmdResponse:
    if len(data) < 5 or data[0] != 0xF0:
        raise FrameError(
            f"PMD control-point response must start F0 and have 5 bytes, got {bytes(data).hex(' ')}"
        )
    return PmdResponse(data[1], data[2], data[3], data[4] != 0, bytes(data[5:]))


def pmd_start_command(measurement: int, rate_hz: int, resolution_bits: int, range_: int) -> bytes:
    """REQUEST_MEASUREMENT_START with sample-rate, resolution and range TLVs (count 1 each)."""
    return bytes([0x02, measurement]) + b"".join(
        bytes([kind, 1]) + struct.pack("<H", value)
        for kind, value in ((0, rate_hz), (1, resolution_bits), (2, range_))
    )


_PMD_SETTING_SIZES = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4, 6: 16}


def parse_pmd_settings(params: bytes) -> dict[int, list[float]]:
    """Settings TLVs `[type][count][count × value]` -> {type: values}; FACTOR (5) as f32."""
    out: dict[int, list[float]] = {}
    i = 0
    while i < len(params):
        if i + 2 > len(params) or params[i] not in _PMD_SETTING_SIZES:
            raise FrameError(f"PMD settings: bad TLV at byte {i} of {params.hex(' ')}")
        kind, count = params[i], params[i + 1]
        size = _PMD_SETTING_SIZES[kind]
        end = i + 2 + count * size
        if end > len(params):
            raise FrameError(f"PMD settings: TLV type {kind} runs past the end")
        chunk = params[i + 2 : end]
        if kind == 5:
            out[kind] = [v for (v,) in struct.iter_unpack("<f", chunk)]
        elif kind == 6:
            out[kind] = []
        else:
            out[kind] = [int.from_bytes(chunk[j : j + size], "little") for j in range(0, len(chunk), size)]
        i = end
    return out


@dataclass(frozen=True)
class PmdFrame:
    """One PMD data frame: values (n,3) in mG (ACC) or deg/s (GYRO), factor applied."""

    measurement: int
    timestamp_ns: int  # device clock, ns since 2000-01-01, time of the LAST sample
    frame_type: int  # byte 9 as sent (bit 7 = delta-compressed)
    values: np.ndarray


def decode_pmd_frame(data: bytes, factor: float = 1.0) -> PmdFrame:
    """Decode ACC (raw 0x00/0x01/0x02, delta 0x80/0x81) and GYRO (delta 0x80) frames."""
    if len(data) < 10:
        raise FrameError(f"PMD data frame needs a 10-byte header, got {len(data)} bytes")
    measurement = data[0] & 0x3F
    timestamp_ns = int.from_bytes(data[1:9], "little")
    frame_type = data[9]
    content = bytes(data[10:])
    if measurement == PMD_ACC and frame_type in (0x00, 0x01, 0x02):
        width = frame_type + 1
        if len(content) == 0 or len(content) % (3 * width):
            raise FrameError(
                f"PMD ACC raw frame type {frame_type}: {len(content)} bytes is not whole samples"
            )
        values = _signed_ints(content, width).reshape(-1, 3) * factor
    elif measurement == PMD_ACC and frame_type in (0x80, 0x81):
        values = decode_pmd_delta(content, 3, 16) * (factor * (1000.0 if frame_type == 0x80 else 1.0))
    elif measurement == PMD_GYRO and frame_type == 0x80:
        values = decode_pmd_delta(content, 3, 16) * factor
    else:
        raise FrameError(f"PMD measurement {measurement} frame type 0x{frame_type:02x} is not supported")
    return PmdFrame(measurement, timestamp_ns, frame_type, values.astype(np.float64))


def _signed_ints(content: bytes, width: int) -> np.ndarray:
    raw = np.frombuffer(content, dtype=np.uint8).reshape(-1, width).astype(np.int64)
    value = (raw * (1 << (8 * np.arange(width)))).sum(axis=1)
    sign = 1 << (8 * width - 1)
    return np.where(value >= sign, value - (sign << 1), value)


def decode_pmd_delta(content: bytes, channels: int, resolution_bits: int) -> np.ndarray:
    """Delta-compressed PMD content -> (n, channels) integers (reference sample + Σ block counts).

    Blocks are `[delta_bits][count][bit stream]`, deltas LSB-first, two's complement, sample-major.
    """
    ref_bytes = channels * math.ceil(resolution_bits / 8)
    if len(content) < ref_bytes:
        raise FrameError("PMD delta frame is shorter than its reference sample")
    current = _signed_ints(content[:ref_bytes], ref_bytes // channels).tolist()
    rows = [list(current)]
    i = ref_bytes
    while i < len(content):
        if i + 2 > len(content):
            raise FrameError(f"PMD delta frame: truncated block header at byte {i}")
        bits, count = content[i], content[i + 1]
        size = math.ceil(bits * count * channels / 8)
        if bits == 0 or bits > 32 or i + 2 + size > len(content):
            raise FrameError(f"PMD delta frame: bad block ({bits} bits × {count}) at byte {i}")
        stream = int.from_bytes(content[i + 2 : i + 2 + size], "little")
        mask, sign = (1 << bits) - 1, 1 << (bits - 1)
        for _ in range(count):
            for c in range(channels):
                d = stream & mask
                stream >>= bits
                current[c] += d - (mask + 1) if d & sign else d
            rows.append(list(current))
        i += 2 + size
    return np.asarray(rows, dtype=np.float64)


# --- Nordic Thingy:52 motion service raw data (§A.3) ---------------------------------------------


def decode_thingy_raw(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """18 bytes, 9 × i16: acc Q6.10 g, gyro Q11.5 deg/s, compass (ignored) -> SI (1,3) arrays."""
    if len(data) != 18:
        raise FrameError(f"Thingy:52 raw-data notification must be 18 bytes, got {len(data)}")
    raw = np.frombuffer(bytes(data), dtype="<i2").astype(np.float64)
    acc = raw[None, 0:3] * (STANDARD_GRAVITY_MPS2 / 1024.0)
    gyro = raw[None, 3:6] * (DEG_TO_RAD / 32.0)
    return acc, gyro


THINGY_CONFIG_BYTES = 9


def thingy_config_with_rate(config: bytes, rate_hz: int) -> bytes:
    """Read-modify-write of the 9-byte motion config: replace the MPU frequency (bytes 6-7)."""
    if len(config) != THINGY_CONFIG_BYTES:
        raise FrameError(f"Thingy:52 motion config must be 9 bytes, got {len(config)}")
    return bytes(config[:6]) + struct.pack("<H", rate_hz) + bytes(config[8:])


# --- DIY open profile (firmware_notes/README.md) -------------------------------------------------

DIY_HEADER = struct.Struct("<BBHIH")  # version<<4 | flags, n, seq, t0_us, period_us
DIY_INFO = struct.Struct("<BBHHHff")  # version, sensor id, fw, odr_hz, max batch, g/LSB, dps/LSB
DIY_VERSION = 1
DIY_FLAG_GYRO = 0x01


@dataclass(frozen=True)
class DiyInfo:
    sensor_id: int
    firmware: int
    rate_hz: int
    max_batch: int
    acc_g_per_lsb: float
    gyro_dps_per_lsb: float  # 0 = the tag has no gyroscope


def decode_diy_info(data: bytes) -> DiyInfo:
    if len(data) != DIY_INFO.size or data[0] != DIY_VERSION:
        raise FrameError(
            f"DIY Info must be {DIY_INFO.size} bytes of version {DIY_VERSION}, got {bytes(data).hex(' ')}"
        )
    _, sensor, fw, rate, batch, acc_scale, gyro_scale = DIY_INFO.unpack(data)
    if not (acc_scale > 0 and gyro_scale >= 0 and rate > 0):
        raise FrameError("DIY Info: rate and acc scale must be positive, gyro scale >= 0 (0 = no gyro)")
    return DiyInfo(sensor, fw, rate, batch, acc_scale, gyro_scale)


@dataclass(frozen=True)
class DiyFrame:
    seq: int  # u16, wraps
    t0_us: int  # u32 device time of sample 0, wraps
    period_us: int
    acc: np.ndarray  # (n,3) m/s²
    gyro: np.ndarray | None  # (n,3) rad/s


def decode_diy_frame(data: bytes, info: DiyInfo) -> DiyFrame:
    """Batched DIY frame: 10-byte header, then n × (ax ay az [gx gy gz]) int16 LSB."""
    if len(data) < DIY_HEADER.size:
        raise FrameError(f"DIY frame needs a {DIY_HEADER.size}-byte header, got {len(data)} bytes")
    head, n, seq, t0_us, period_us = DIY_HEADER.unpack_from(data)
    if head >> 4 != DIY_VERSION:
        raise FrameError(f"DIY frame version {head >> 4}, expected {DIY_VERSION}")
    channels = 6 if head & DIY_FLAG_GYRO else 3
    if n == 0 or period_us == 0 or len(data) != DIY_HEADER.size + 2 * channels * n:
        raise FrameError(f"DIY frame: {len(data)} bytes do not hold {n} samples of {channels} channels")
    raw = np.frombuffer(bytes(data[DIY_HEADER.size :]), dtype="<i2").reshape(n, channels).astype(np.float64)
    acc = raw[:, 0:3] * (info.acc_g_per_lsb * STANDARD_GRAVITY_MPS2)
    gyro = raw[:, 3:6] * (info.gyro_dps_per_lsb * DEG_TO_RAD) if channels == 6 else None
    return DiyFrame(seq, t0_us, period_us, acc, gyro)
