"""Test peers that speak the phone apps' protocols on loopback, driven by a known motion.

- `FakePhyphox`: a phyphox phone's remote-access server (`/config`, `/get` with full/partial/
  threshold semantics and Java ``DecimalFormat("0.#######E0")`` numbers, `/time`, `/control`),
  fed sample by sample by the test; it can clear, restart its experiment, and go offline.
- `FakeSensorLogger`: Sensor Logger's HTTP push client, posting realistic JSON batches
  (accelerometer without gravity, gravity, gyroscope; epoch ns) for Android or an iPhone.

The motion comes from the simulator when it is installed, else from `hinge_motion`.
"""

from __future__ import annotations

import json
import math
import secrets

import aiohttp
import numpy as np
from aiohttp import web

from analysis.samples import STANDARD_GRAVITY_MPS2, Samples

START_UNIX_S = 1_767_000_000.0  # wall-clock time of the motion's t = 0, s


def hinge_motion(duration_s: float = 10.0, rate_hz: float = 100.0) -> Samples:
    """A phone upright on the back hinging 0-40° forward every 4 s (about its x axis), plus some yaw.

    Gravity's specific force in the sensor frame (Android convention: +9.81 on the up axis) turns
    exactly as the gyroscope says; a small linear acceleration is added on top.
    """
    t = np.arange(round(duration_s * rate_hz)) / rate_hz
    theta = np.radians(20.0) * (1.0 - np.cos(2.0 * np.pi * t / 4.0))
    theta_dot = np.radians(20.0) * (2.0 * np.pi / 4.0) * np.sin(2.0 * np.pi * t / 4.0)
    g = STANDARD_GRAVITY_MPS2 * np.column_stack([np.zeros_like(t), np.cos(theta), -np.sin(theta)])
    linear = 0.3 * np.column_stack([np.sin(3.0 * t), np.zeros_like(t), np.cos(2.0 * t)])
    gyro = np.column_stack([theta_dot, 0.1 * np.sin(t), np.zeros_like(t)])
    return Samples(t, g + linear, gyro)


def phone_motion(duration_s: float = 10.0, seed: int = 0) -> Samples:
    """The first `duration_s` of a simulated session, or `hinge_motion` before the simulator lands."""
    try:
        from sensor.simulator import random_session_spec, simulate_session
    except ImportError:
        return hinge_motion(duration_s)
    recording, _ = simulate_session(random_session_spec(seed))
    samples = recording.samples
    return samples.between(float(samples.t[0]), float(samples.t[0]) + duration_s)


def java_sci(x: float) -> str:
    """A number as Java's DecimalFormat("0.#######E0") writes it; NaN/inf as JSON null."""
    if not math.isfinite(x):
        return "null"
    if x == 0.0:
        return "0E0"
    mantissa, exponent = f"{x:.7e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}E{int(exponent)}"


def gravity_split(acc: np.ndarray, rate_hz: float, tau_s: float = 0.5) -> np.ndarray:
    """A gravity estimate like a phone's: causal low-pass of the total acceleration, scaled to 1 g."""
    alpha = 1.0 / (1.0 + tau_s * rate_hz)
    g = np.empty_like(acc)
    state = acc[0]
    for i, a in enumerate(acc):
        state = state + alpha * (a - state)
        g[i] = state
    return STANDARD_GRAVITY_MPS2 * g / np.linalg.norm(g, axis=1, keepdims=True)


class FakeSensorLogger:
    """Builds Sensor Logger HTTP push messages from a motion and POSTs them.

    platform "ios" (without "Standardise Units & Frames") negates acceleration and gravity;
    `uncalibrated` adds the raw accelerometer (in g on such an iPhone, m/s² otherwise).
    `gyro_offset_s` shifts the gyroscope's time stamps (Android sensors tick apart).
    """

    def __init__(
        self,
        motion: Samples,
        *,
        batch_s: float = 0.2,
        platform: str = "android",
        uncalibrated: bool = False,
        gyro_offset_s: float = 0.0,
        device_id: str = "fake-phone-1",
        session_id: str = "session-1",
    ):
        self.motion = motion
        self.platform = platform
        self.start_ns = int(START_UNIX_S * 1e9)
        rate_hz = motion.median_rate_hz()
        sign = -1.0 if platform == "ios" else 1.0
        gravity = gravity_split(motion.acc, rate_hz)
        self.series = {
            "accelerometer": (motion.t, sign * (motion.acc - gravity)),
            "gravity": (motion.t, sign * gravity),
            "gyroscope": (motion.t + gyro_offset_s, motion.gyro),
        }
        if uncalibrated:
            scale = -1.0 / STANDARD_GRAVITY_MPS2 if platform == "ios" else 1.0
            self.series["accelerometeruncalibrated"] = (motion.t, scale * motion.acc)
        self.batch_s, self.device_id, self.session_id = batch_s, device_id, session_id

    def time_ns(self, t_s: np.ndarray) -> np.ndarray:
        return self.start_ns + np.round(np.asarray(t_s) * 1e9).astype(np.int64)

    def messages(self) -> list[dict]:
        """One message per batch period, in order, with increasing messageId."""
        n_batches = int(self.motion.t[-1] // self.batch_s) + 1
        out = []
        for k in range(n_batches):
            payload = []
            for name, (t, xyz) in self.series.items():
                sel = np.floor(t / self.batch_s + 1e-9).astype(np.int64) == k
                for t_ns, (x, y, z) in zip(self.time_ns(t[sel]).tolist(), xyz[sel].tolist(), strict=True):
                    payload.append({"name": name, "time": t_ns, "values": {"x": x, "y": y, "z": z}})
            payload.sort(key=lambda item: item["time"])
            out.append(
                {
                    "messageId": k,
                    "sessionId": self.session_id,
                    "deviceId": self.device_id,
                    "payload": payload,
                }
            )
        return out

    @staticmethod
    async def post(http: aiohttp.ClientSession, url: str, body: dict | bytes) -> tuple[int, str]:
        """POST one message (a dict as JSON, bytes as they are); returns (status, body text)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with http.post(url, data=data, headers={"Content-Type": "application/json"}) as resp:
            return resp.status, await resp.text()


class FakePhyphox:
    """A phyphox phone with the backcheck IMU experiment open and remote access on (127.0.0.1)."""

    def __init__(
        self,
        motion: Samples,
        *,
        gyro_offset_s: float = 0.0,
        title: str = "backcheck IMU",
        gyroscope: bool = True,
        time_api: bool = True,
    ):
        self.motion = motion
        self.gyro_offset_s = gyro_offset_s
        self.title = title
        self.names = {
            "acc": ("acc_time", "accX", "accY", "accZ"),
            "gyro": ("gyr_time", "gyrX", "gyrY", "gyrZ"),
        }
        self.inputs = {"accelerometer": "acc", "gyroscope": "gyro"} if gyroscope else {"accelerometer": "acc"}
        self.time_api = time_api  # False: an older phyphox without /time (answers 404)
        self.buffers: dict[str, list[float]] = {n: [] for names in self.names.values() for n in names}
        self.session = secrets.token_hex(4)
        self.measuring = True
        self.force_full = False
        self.next_index = 0  # next motion sample to record
        self.exp_origin_s = 0.0  # motion time at experiment time 0
        self.time_events = [self._event("START", 0.0)]
        self.gets = 0  # /get requests answered
        self.malformed_gets = 0  # the next this many /get answers are not shaped as phyphox's (a status list)
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- the phone's side: sensors, buttons -----------------------------------------------------

    def record(self, n: int, nan_rows: tuple[int, ...] = ()) -> None:
        """The phone's sensors deliver the next n motion samples (rows in `nan_rows` read NaN on accX)."""
        i0, i1 = self.next_index, min(self.next_index + n, len(self.motion))
        for k, i in enumerate(range(i0, i1)):
            t_exp = float(self.motion.t[i]) - self.exp_origin_s
            acc = self.motion.acc[i].tolist()
            if k in nan_rows:
                acc[0] = math.nan
            for name, value in zip(self.names["acc"], [t_exp, *acc], strict=True):
                self.buffers[name].append(value)
            gyro = [t_exp + self.gyro_offset_s, *self.motion.gyro[i].tolist()]
            for name, value in zip(self.names["gyro"], gyro, strict=True):
                self.buffers[name].append(value)
        self.next_index = i1

    def skip(self, n: int) -> None:
        """The next n motion samples happen while the phone records nothing."""
        self.next_index = min(self.next_index + n, len(self.motion))

    def clear(self) -> None:
        """The user presses 'clear': buffers emptied, experiment time restarts at 0 from now."""
        for buf in self.buffers.values():
            buf.clear()
        self.force_full = True
        self.exp_origin_s = self._now_s()
        self.time_events = [self._event("START", 0.0)] if self.measuring else []

    def restart_app(self) -> None:
        """The experiment is reopened: new session id, empty buffers, time from 0."""
        self.clear()
        self.force_full = False
        self.session = secrets.token_hex(4)

    def now_unix_s(self) -> float:
        """Wall-clock time on the phone (the motion's time of the next sample)."""
        return START_UNIX_S + self._now_s()

    def _now_s(self) -> float:
        return float(self.motion.t[min(self.next_index, len(self.motion) - 1)])

    def _event(self, kind: str, exp_s: float) -> dict:
        return {"event": kind, "experimentTime": exp_s, "systemTime": round(self.now_unix_s(), 3)}

    # -- the network side ----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port the first time, the same port after going offline)."""
        app = web.Application()
        app.router.add_get("/config", self._config)
        app.router.add_get("/get", self._get)
        if self.time_api:
            app.router.add_get("/time", self._time)
        app.router.add_route("*", "/control", self._control)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Go offline (Wi-Fi lost, app in the background): connections refused until `start()`."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _config(self, request: web.Request) -> web.Response:
        inputs = []
        for source, key in self.inputs.items():
            t, x, y, z = self.names[key]
            inputs.append({"source": source, "outputs": [{"x": x}, {"y": y}, {"z": z}, {"t": t}]})
        config = {
            "crc32": "00000000",
            "title": self.title,
            "localTitle": self.title,
            "category": "backcheck",
            "buffers": [{"name": n, "size": 0} for n in self.buffers],
            "inputs": inputs,
            "export": [],
        }
        return web.json_response(config)

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response(self.time_events)

    async def _control(self, request: web.Request) -> web.Response:
        cmd = request.query.get("cmd")
        if cmd in ("start", "stop"):
            if self.measuring != (cmd == "start"):
                self.measuring = cmd == "start"
                t_exp = float(self.buffers["acc_time"][-1]) if self.buffers["acc_time"] else 0.0
                self.time_events.append(self._event("START" if self.measuring else "PAUSE", t_exp))
        elif cmd == "clear":
            self.clear()
        else:
            return web.json_response({"result": False})
        return web.json_response({"result": True})

    async def _get(self, request: web.Request) -> web.Response:
        """As RemoteServer.handleGet: one entry per known requested buffer, numbers as Java writes them."""
        self.gets += 1
        if self.malformed_gets > 0:
            self.malformed_gets -= 1
            return web.json_response({"buffer": {}, "status": [self.session]})
        parts = []
        for name, spec in request.query.items():
            if name not in self.buffers:
                continue  # unknown buffers are skipped silently
            values, mode = self._select(name, spec)
            numbers = ",".join(java_sci(v) for v in values)
            parts.append(f'"{name}":{{"size":0,"updateMode":"{mode}", "buffer":[{numbers}]}}')
        self.force_full = False
        status = (
            f'"status":{{"session":"{self.session}", "measuring":{str(self.measuring).lower()}, '
            '"timedRun":false, "countDown":0}'
        )
        text = '{"buffer":{\n' + ",\n".join(parts) + "\n},\n" + status + "\n}"
        return web.Response(text=text, content_type="application/json")

    def _select(self, name: str, spec: str) -> tuple[list[float], str]:
        data = self.buffers[name]
        if self.force_full or spec == "full":
            return list(data), "full"
        if spec == "":
            return data[-1:], "single"
        threshold_text, _, ref = spec.partition("|")
        threshold = float(threshold_text)
        if threshold > 0:  # numbers travel with 8 significant digits
            threshold += 10.0 ** math.floor(math.log10(threshold / 1e7))
        ref_data = self.buffers.get(ref, data) if ref else data
        return [v for v, r in zip(data, ref_data, strict=False) if r > threshold], "partial"
