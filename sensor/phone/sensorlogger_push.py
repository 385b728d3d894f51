"""Sensor Logger's HTTP push: backcheck runs the server, the phone POSTs a JSON batch per period.

Message (PUSHING.md): ``{"messageId", "sessionId", "deviceId", "payload": [{"name", "time", "values"}]}``
with `time` in UTC epoch nanoseconds. Push readings carry no total acceleration, so the total
(gravity included) is `accelerometer` + `gravity`, both m/s²; `gyroscope` is rad/s. Messages may
arrive out of order or twice: samples are put in order and de-duplicated by (name, time).

Safety: the server answers only ``POST /push/<token>`` (other paths 404, a wrong token 403), refuses
bodies over `max_body_bytes` (413), more than `rate_limit_per_s` requests per second from one
address (429), malformed JSON or a wrong schema (400 with a short reason), and a second phone
(409); it keeps serving after each refusal. Only accelerometer, gravity and gyroscope readings of
the expected phone reach the analyzer.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import secrets
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np
from aiohttp import web

from analysis.samples import Samples
from sensor.errors import DeviceError
from sensor.phone.base import MergedPhoneSource, SilenceNotes
from sensor.phone.merge import MergeSettings, StreamMerger
from sensor.recording import RecordingMeta

CHANNELS = ("accelerometer", "gravity", "gyroscope")
UNCALIBRATED = "accelerometeruncalibrated"  # used only to tell an unstandardised iPhone (it reads in g)
_TIME_RANGE_NS = (946_684_800 * 10**9, 4_102_444_800 * 10**9)  # years 2000 to 2100
_MAX_ABS_VALUE = 1e4  # m/s² or rad/s; anything larger is not a phone IMU reading


@dataclass(frozen=True)
class SensorLoggerSettings:
    """Push server and stream settings (see docs/phone.md for the table)."""

    host: str = "0.0.0.0"  # address to bind; 0.0.0.0 = every interface of the LAN
    port: int = 8000  # TCP port; 0 = any free port
    token: str | None = None  # secret part of the push URL; None = a new random token per session
    platform: str = "auto"  # "auto", "android" or "ios" (iPhone without "Standardise Units & Frames")
    max_body_bytes: int = 1_000_000  # larger requests are refused (413)
    rate_limit_per_s: float = 20.0  # sustained requests per second per client address (else 429)
    rate_burst: int = 40  # requests a client may send at once before the rate limit applies
    queue_messages: int = 1000  # accepted messages waiting for the analyzer (else 503)
    idle_flush_s: float = 1.0  # after this long without a message, samples held for reordering go out
    missing_sensor_after_s: float = 3.0  # data time after which a sensor never seen is an error
    silence_note_s: float = 3.0  # no message this long once data came: said in the live view (and when it resumes)
    merge: MergeSettings = field(default_factory=MergeSettings)


class PushFormatError(ValueError):
    """A push message that does not follow the schema; `str(err)` is the short reason sent back."""


@dataclass(frozen=True)
class PushMessage:
    message_id: int | None
    session_id: str | None
    device_id: str | None
    readings: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (time ns int64 (n,), values (n, 3))
    ignored: int  # readings of other sensors


def parse_push_message(body: bytes) -> PushMessage:
    """Validate one HTTP push body; raises PushFormatError with a short reason."""
    try:
        msg = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PushFormatError(f"body is not JSON ({getattr(err, 'msg', err)})") from None
    if not isinstance(msg, dict):
        raise PushFormatError("expected a JSON object with a 'payload' list")
    payload = msg.get("payload")
    if not isinstance(payload, list):
        raise PushFormatError("expected a 'payload' list")
    message_id = msg.get("messageId")
    if message_id is not None and not _is_int(message_id):
        raise PushFormatError("'messageId' must be an integer")
    ids = [msg.get(k) for k in ("sessionId", "deviceId")]
    for key, value in zip(("sessionId", "deviceId"), ids, strict=True):
        if value is not None and not isinstance(value, str):
            raise PushFormatError(f"'{key}' must be a string")
    rows: dict[str, tuple[list[int], list[list[float]]]] = {}
    ignored = 0
    for i, item in enumerate(payload):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise PushFormatError(f"payload[{i}] must be an object with a 'name'")
        name = item["name"].lower()
        if name not in (*CHANNELS, UNCALIBRATED):
            ignored += 1
            continue
        t_ns = item.get("time")
        if not _is_int(t_ns) or not _TIME_RANGE_NS[0] <= t_ns < _TIME_RANGE_NS[1]:
            raise PushFormatError(f"payload[{i}].time must be UTC epoch nanoseconds (an integer)")
        values = item.get("values")
        if not isinstance(values, dict):
            raise PushFormatError(f"payload[{i}].values must be an object with x, y, z")
        xyz = [_component(values, axis, i) for axis in "xyz"]
        ts, vs = rows.setdefault(name, ([], []))
        ts.append(t_ns)
        vs.append(xyz)
    readings = {
        name: (np.array(ts, dtype=np.int64), np.array(vs, dtype=np.float64).reshape(-1, 3))
        for name, (ts, vs) in rows.items()
    }
    return PushMessage(message_id, ids[0], ids[1], readings, ignored)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _component(values: dict, axis: str, i: int) -> float:
    v = values.get(axis)
    if v is None:  # a missing reading; dropped later and counted as invalid
        return math.nan
    if isinstance(v, bool) or not isinstance(v, int | float) or abs(v) > _MAX_ABS_VALUE:
        raise PushFormatError(f"payload[{i}].values.{axis} must be a number (m/s² or rad/s)")
    return float(v)


class _RateLimiter:
    """Token bucket per client address: `burst` at once, then `rate_per_s` per second."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float]):
        self.rate_per_s, self.burst, self.clock = rate_per_s, burst, clock
        self.buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, last time s)

    def allow(self, address: str) -> bool:
        now = self.clock()
        if address not in self.buckets and len(self.buckets) >= 1024:
            self.buckets.clear()  # a flood of addresses must not grow memory without bound
        tokens, last = self.buckets.get(address, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
        allowed = tokens >= 1.0
        self.buckets[address] = (tokens - 1.0 if allowed else tokens, now)
        return allowed


class SensorLoggerPushServer:
    """The aiohttp server; accepted messages land in `messages`, refusals are counted in `refused`."""

    def __init__(self, settings: SensorLoggerSettings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.token = settings.token or secrets.token_urlsafe(9)
        self.messages: asyncio.Queue[PushMessage | None] = asyncio.Queue(settings.queue_messages)
        self.refused: Counter[int] = Counter()  # HTTP status -> count
        self.accepted = 0
        self.port = settings.port
        self._limiter = _RateLimiter(settings.rate_limit_per_s, settings.rate_burst, clock)
        self._device_id: str | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=self.settings.max_body_bytes, middlewares=[self._guard])
        app.router.add_post("/push/{token}", self._handle_push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError as err:
            await self._runner.cleanup()
            raise DeviceError(
                f"cannot listen on {self.settings.host}:{self.settings.port} for Sensor Logger "
                f"({err.strerror}); choose another port with sensorlogger:PORT"
            ) from None
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def push_url(self) -> str:
        """The URL to type into Sensor Logger (the LAN address when bound to every interface)."""
        host = self.settings.host
        if host in ("0.0.0.0", "", "::"):
            host = lan_ip()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/push/{self.token}"

    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if not self._limiter.allow(request.remote or "?"):
            return self._refuse(429, "too many requests; raise Sensor Logger's batch period")
        try:
            return await handler(request)
        except web.HTTPException as err:
            if err.status >= 400:
                self.refused[err.status] += 1
            raise

    def _refuse(self, status: int, reason: str) -> web.Response:
        self.refused[status] += 1
        return web.Response(status=status, text=reason + "\n")

    async def _handle_push(self, request: web.Request) -> web.Response:
        if not secrets.compare_digest(request.match_info["token"].encode(), self.token.encode()):
            return self._refuse(403, "wrong token; copy the push URL backcheck printed")
        body = await request.read()  # raises 413 beyond client_max_size
        try:
            msg = parse_push_message(body)
        except PushFormatError as err:
            return self._refuse(400, str(err))
        if msg.device_id is not None:
            if self._device_id is None:
                self._device_id = msg.device_id
            elif msg.device_id != self._device_id:
                return self._refuse(409, "this backcheck session already receives from another phone")
        try:
            self.messages.put_nowait(msg)
        except asyncio.QueueFull:
            return self._refuse(503, "backcheck is not keeping up; raise the batch period")
        self.accepted += 1
        return web.Response(text="ok\n")


class SensorLoggerSource(MergedPhoneSource):
    """Sensor Logger push as a source: an async iterator of Samples with `info` and `stats`.

    Use `await source.start()` (binds the server and announces the URL), iterate, then
    `await source.aclose()`. `stop()` ends the iteration after the messages already received.
    """

    def __init__(
        self,
        settings: SensorLoggerSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        announce: Callable[[str], None] | None = None,
    ):
        self.settings = settings or SensorLoggerSettings()
        if self.settings.platform not in ("auto", "android", "ios"):
            raise ValueError(f"platform must be auto, android or ios, got {self.settings.platform!r}")
        self.server = SensorLoggerPushServer(self.settings, clock)
        super().__init__(
            StreamMerger("accelerometer", ("gravity", "gyroscope"), self.settings.merge),
            RecordingMeta(format="sensorlogger-push", device="Sensor Logger (HTTP push)"),
        )
        self._announce = announce or _print_stderr
        self._sign: float | None = None  # +1 Android convention, -1 unstandardised iPhone
        self._anchor_ns: int | None = None
        self._session_id: str | None = None
        self._seen: set[str] = set()
        self._silent: set[str] = set()  # sensors that stopped sending while others went on (said once each)

    async def start(self) -> None:
        await self.server.start()
        self.info.notes["url"] = self.server.push_url
        self._announce(connection_banner(self.server.push_url))

    def stop(self) -> None:
        """End the iteration once every message received so far has been emitted."""
        self.server.messages.put_nowait(None)

    async def aclose(self) -> None:
        if self._iter is not None:
            await self._iter.aclose()
        await self.server.close()

    async def _blocks(self) -> AsyncIterator[Samples]:
        loop = asyncio.get_running_loop()
        silence = SilenceNotes(self.events, self.settings.silence_note_s,
                               "no data from the phone for {s:.1f} s (Sensor Logger stopped, the phone locked, or "
                               "off the Wi-Fi); waiting for it", "the phone is sending again after {s:.1f} s")
        while True:
            try:
                msg = await asyncio.wait_for(self.server.messages.get(), self.settings.idle_flush_s)
            except TimeoutError:  # the phone paused: let the held samples go
                block = self._pop(final=True)
                if self._anchor_ns is not None:  # (once data came)
                    silence.quiet(loop.time())
            else:
                if msg is not None:  # (None: stop() was called)
                    silence.data(loop.time())
                    self._take(msg)
                block = self._pop(final=msg is None)
                if msg is None:
                    if block is not None:
                        yield block
                    return
            if block is not None:
                yield block

    def _take(self, msg: PushMessage) -> None:
        if not msg.readings:
            return
        if msg.session_id is not None and msg.session_id != self._session_id:
            if self._session_id is not None:
                self.events.append(f"the phone started a new recording (session {msg.session_id})")
            self._session_id = msg.session_id
        if self._sign is None:
            self._decide_convention(msg)
        if self._anchor_ns is None:
            self._anchor_ns = int(min(t[0] for t, _ in msg.readings.values()))
        for name in CHANNELS:
            if name in msg.readings and name in self.merger.channels:
                t_ns, xyz = msg.readings[name]
                sign = 1.0 if name == "gyroscope" else self._sign
                self.merger.add(name, (t_ns - self._anchor_ns) * 1e-9, sign * xyz)
                self._seen.add(name)
        self._check_sensors()

    def _decide_convention(self, msg: PushMessage) -> None:
        platform = self.settings.platform
        if platform != "auto":
            self._sign = -1.0 if platform == "ios" else 1.0
            self.info.decisions.append(f"acceleration sign convention: {platform} (from the command line)")
            return
        if UNCALIBRATED in msg.readings:
            norm = float(np.nanmedian(np.linalg.norm(msg.readings[UNCALIBRATED][1], axis=1)))
            ios = norm < 3.0  # an unstandardised iPhone reports uncalibrated acceleration in g
            self._sign = -1.0 if ios else 1.0
            self.info.decisions.append(
                f"acceleration sign convention: {'iPhone, unstandardised' if ios else 'Android'} "
                f"(uncalibrated accelerometer reads {norm:.2f} in its units at rest)"
            )
            return
        self._sign = 1.0
        self.info.decisions.append(
            "acceleration sign convention: Android (assumed; an iPhone needs Sensor Logger's "
            "'Standardise Units & Frames' on, or --ios)"
        )

    def _check_sensors(self) -> None:
        span_s = max(ch.newest_s for ch in self.merger.channels.values())
        if span_s < self.settings.missing_sensor_after_s:
            return
        missing = [name for name in CHANNELS if name not in self._seen and name in self.merger.channels]
        if missing == ["gyroscope"]:  # a phone without one (many cheap ones): the reduced mode, as from a file
            del self.merger.channels["gyroscope"]
            note = ("the phone sends no gyroscope readings: an accelerometer-only session (flexion is less "
                    "accurate during fast movement, twist is not measured)")
            self.events.append(note)
            self.info.decisions.append(note)
            missing = []
        if missing:
            raise DeviceError(
                f"Sensor Logger at {self.server.push_url} sends no {' or '.join(missing)} readings; "
                "turn those sensors on in Sensor Logger's sensor list"
            )
        for name, ch in self.merger.channels.items():  # one that stopped: its partners' samples go unpaired
            silent = span_s - ch.newest_s > self.settings.missing_sensor_after_s
            if silent and name not in self._silent:
                self.events.append(f"the phone's {name} stopped sending {span_s - ch.newest_s:.0f} s ago: samples "
                                   "without it are dropped (check Sensor Logger's sensor list)")
            elif not silent and name in self._silent:
                self.events.append(f"the phone's {name} is sending again")
            (self._silent.add if silent else self._silent.discard)(name)

    def _unix_s(self, t_s: float) -> float:
        return (self._anchor_ns + round(t_s * 1e9)) / 1e9

    def _acc_gyro(self, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        return values["accelerometer"] + values["gravity"], values.get("gyroscope")


def lan_ip() -> str:
    """This machine's address on the LAN (the route to a public address; nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: connect() on UDP only picks the route
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def connection_banner(url: str) -> str:
    """What to show the lifter: the push URL, and a QR code of it when `qrcode` is installed."""
    text = f"Sensor Logger: Settings -> Data Streaming -> HTTP Push URL:\n  {url}\n"
    try:
        import qrcode
    except ImportError:
        return text
    qr = qrcode.QRCode(border=1)
    qr.add_data(url)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return text + out.getvalue()


def _print_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
