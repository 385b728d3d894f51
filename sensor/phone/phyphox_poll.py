"""phyphox remote access: backcheck polls the phone's `/get` for new accelerometer and gyroscope data.

The experiment `firmware_notes/backcheck-imu.phyphox` records acceleration with g (`acc_time accX accY
accZ`, m/s²) and the gyroscope (`gyr_time gyrX gyrY gyrZ`, rad/s); the names are read from `/config`
when the phone offers them. Polling is incremental: ``acc_time=<last t>&accX=<last t>|acc_time...``
returns only newer samples. Phone time (s of experiment time) is mapped to wall-clock time with the
START events of `/time`, so a pause, a "clear" (answered with ``updateMode: full``) or a restarted
experiment (a new `session` id) leave a true gap. A lost connection is retried with exponential
back-off; samples the phone kept meanwhile are fetched on reconnect.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import numpy as np

from analysis.samples import Samples
from sensor.errors import DeviceError
from sensor.phone.base import MergedPhoneSource, SilenceNotes
from sensor.phone.merge import MergeSettings, StreamMerger
from sensor.recording import RecordingMeta

EXPERIMENT_FILE = "firmware_notes/backcheck-imu.phyphox"
# a request that failed, or an answer not shaped as phyphox answers (JSON of other types, missing keys)
_FETCH_ERRORS = (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError, AttributeError)


@dataclass(frozen=True)
class PhyphoxSettings:
    """Polling settings (see docs/phone.md for the table)."""

    host: str
    port: int = 8080  # phyphox's remote access port (Settings -> remote access port)
    poll_hz: float = 15.0  # /get requests per second; each returns every new sample
    request_timeout_s: float = 2.0  # one request longer than this counts as a lost connection
    backoff_initial_s: float = 0.25  # first wait before reconnecting; doubles on every failure
    backoff_max_s: float = 5.0  # longest wait between reconnection attempts
    give_up_after_s: float = 60.0  # a phone silent this long ends the session with an error
    start_measuring: bool = False  # send /control?cmd=start on connect
    silence_note_s: float = 3.0  # the phone answers and measures but sends no new sample this long once data came:
    # said in the live view (and when data comes again)
    merge: MergeSettings = field(default_factory=lambda: MergeSettings(reorder_window_s=0.0, reorder_batches=0.0))


@dataclass(frozen=True)
class SensorBuffers:
    """Buffer names of one sensor in the experiment: time, then x, y, z."""

    time: str
    xyz: tuple[str, str, str]


DEFAULT_BUFFERS = {
    "acc": SensorBuffers("acc_time", ("accX", "accY", "accZ")),
    "gyro": SensorBuffers("gyr_time", ("gyrX", "gyrY", "gyrZ")),
}
_INPUT_SOURCES = {"accelerometer": "acc", "gyroscope": "gyro"}


def buffers_from_config(config: dict, url: str) -> dict[str, SensorBuffers]:
    """Find the accelerometer (with g) and gyroscope buffers in a `/config` answer."""
    found: dict[str, SensorBuffers] = {}
    sources = []
    for item in config.get("inputs", []):
        source = str(item.get("source"))
        sources.append(source)
        outputs = {k: v for out in item.get("outputs", []) for k, v in out.items()}
        if source in _INPUT_SOURCES and all(k in outputs for k in "xyzt"):
            xyz = (outputs["x"], outputs["y"], outputs["z"])
            found[_INPUT_SOURCES[source]] = SensorBuffers(outputs["t"], xyz)
    missing = [name for name in ("accelerometer", "gyroscope") if _INPUT_SOURCES[name] not in found]
    if missing:
        raise DeviceError(
            f"phyphox at {url}: the open experiment has no {' or '.join(missing)} input "
            f"(it has: {', '.join(sources) or 'none'}); open {EXPERIMENT_FILE} on the phone"
        )
    return found


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


class _TimeMap:
    """Phone experiment time (s) -> Unix time (s), from the START events of `/time`.

    Without START events (an older phyphox), the newest phone time first seen is placed at the
    host's clock (`offset_s`, the Unix time of phone time 0, kept until the phone starts over).
    """

    def __init__(self, events: list, wall_clock: Callable[[], float], offset_s: float | None):
        starts = [
            (float(e["experimentTime"]), float(e["systemTime"])) for e in events
            if isinstance(e, dict) and e.get("event") == "START" and _is_number(e.get("experimentTime"))
            and _is_number(e.get("systemTime"))
        ]
        self.exp_s = np.array([s[0] for s in starts])
        self.sys_s = np.array([s[1] for s in starts])
        self.wall_clock = wall_clock
        self.offset_s = offset_s

    def unix_s(self, t_exp: np.ndarray) -> np.ndarray:
        if not self.exp_s.size:
            if self.offset_s is None:
                self.offset_s = self.wall_clock() - float(np.nanmax(t_exp))
            return self.offset_s + t_exp
        i = np.clip(np.searchsorted(self.exp_s, t_exp, side="right") - 1, 0, self.exp_s.size - 1)
        return self.sys_s[i] + (t_exp - self.exp_s[i])


class PhyphoxSource(MergedPhoneSource):
    """phyphox remote access as a source: an async iterator of Samples with `info` and `stats`.

    `await source.start()` checks the phone and reads its buffer names; iterate; `await source.aclose()`.
    `clock` (s, monotonic) and `wall_clock` (Unix s) are injectable for tests.
    """

    def __init__(
        self,
        settings: PhyphoxSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.url = f"http://{settings.host}:{settings.port}"
        info = RecordingMeta(format="phyphox-remote", device=f"phyphox at {self.url}")
        super().__init__(StreamMerger("acc", ("gyro",), settings.merge), info)
        self.info.notes["url"] = self.url
        self.link_lost = asyncio.Event()  # set while the phone cannot be reached
        self.buffers = DEFAULT_BUFFERS
        self._clock, self._wall_clock = clock, wall_clock
        self._http: aiohttp.ClientSession | None = None
        self._time_map: _TimeMap | None = None
        self._threshold: dict[str, float | None] = {"acc": None, "gyro": None}  # None: ask for all
        self._session: str | None = None
        self._measuring = True
        self._anchor_unix_s: float | None = None
        self._silence = SilenceNotes(
            self.events, settings.silence_note_s,
            "the phone answers but has sent no new data for {s:.1f} s (its screen locked or phyphox in the "
            "background); waiting for it", "the phone is sending data again after {s:.1f} s")
        self._stop = asyncio.Event()

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.settings.request_timeout_s)
        self._http = aiohttp.ClientSession(timeout=timeout)
        try:
            await self._open()
        except BaseException:
            await self._http.close()
            self._http = None
            raise

    async def _open(self) -> None:
        try:
            config = await self._fetch_json("/config")
        except _FETCH_ERRORS as err:
            raise DeviceError(
                f"phyphox at {self.url} does not answer ({type(err).__name__}); on the phone open the "
                "experiment, turn on 'Allow remote access' and check both are on the same Wi-Fi"
            ) from None
        if not isinstance(config, dict):
            raise DeviceError(f"phyphox at {self.url}: /config is not an experiment description")
        self.buffers = buffers_from_config(config, self.url)
        self.info.device = f"phyphox '{config.get('title', '?')}' at {self.url}"
        names = ", ".join(" ".join((b.time, *b.xyz)) for b in self.buffers.values())
        self.info.decisions.append(f"buffers read from the phone's /config: {names}")
        if self.settings.start_measuring:
            await self._fetch_json("/control?cmd=start")
        await self._refresh_time_map()

    def stop(self) -> None:
        """End the iteration after the next poll."""
        self._stop.set()

    async def aclose(self) -> None:
        if self._iter is not None:
            await self._iter.aclose()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _blocks(self) -> AsyncIterator[Samples]:
        period_s = 1.0 / self.settings.poll_hz
        while not self._stop.is_set():
            started = self._clock()
            try:
                answer = await self._fetch_json("/get?" + self._query())
                await self._take(answer)
            except _FETCH_ERRORS as err:
                await self._reconnect(err)
                continue
            block = self._pop(final=False)
            if block is not None:
                yield block
            await asyncio.sleep(max(0.0, period_s - (self._clock() - started)))
        block = self._pop(final=True)
        if block is not None:
            yield block

    async def _fetch_json(self, path: str) -> object:
        assert self._http is not None, "start() first"
        async with self._http.get(self.url + path) as resp:
            resp.raise_for_status()
            return await resp.json(content_type=None)

    def _query(self) -> str:
        parts = []
        for name, bufs in self.buffers.items():
            thr = self._threshold[name]
            if thr is None:
                parts += [f"{b}=full" for b in (bufs.time, *bufs.xyz)]
            else:
                parts.append(f"{bufs.time}={thr!r}")
                parts += [f"{b}={thr!r}%7C{bufs.time}" for b in bufs.xyz]
        return "&".join(parts)

    async def _refresh_time_map(self) -> None:
        try:
            events = await self._fetch_json("/time")
        except aiohttp.ClientResponseError:  # older phyphox without /time: host clock instead
            events = []
        offset_s = self._time_map.offset_s if self._time_map is not None else None
        self._time_map = _TimeMap(events if isinstance(events, list) else [], self._wall_clock, offset_s)
        note = "the phone gives no START time (/time); its data is placed by the host clock on arrival"
        if not self._time_map.exp_s.size and note not in self.info.decisions:
            self.info.decisions.append(note)

    async def _take(self, answer: dict) -> None:
        status = answer["status"]
        session, measuring = str(status.get("session")), bool(status.get("measuring"))
        if self._session is not None and session != self._session:
            self._session = session
            await self._restart("the phone started a new measurement; the gap is marked")
            return
        self._session = session
        if measuring != self._measuring:
            self._measuring = measuring
            self.events.append("the phone resumed measuring" if measuring else "the phone paused measuring")
            self._silence.reset()  # (a pause is said as such)
            if measuring:
                await self._refresh_time_map()
        blocks = answer["buffer"]
        asked_partial = any(thr is not None for thr in self._threshold.values())
        full = any(blocks.get(b.time, {}).get("updateMode") == "full" for b in self.buffers.values())
        if asked_partial and full:
            await self._restart("the measurement was cleared on the phone; the gap is marked")
        new_data = False
        for name, bufs in self.buffers.items():
            t_exp, xyz = _columns(blocks, bufs)
            if not t_exp.size:
                continue
            finite = np.isfinite(t_exp)
            if finite.any():
                self._threshold[name] = float(t_exp[finite][-1])
            self.merger.add(name, self._session_s(t_exp), xyz)
            new_data = True
        if new_data:
            self._silence.data(self._clock())
        elif self._measuring:
            self._silence.quiet(self._clock())

    async def _restart(self, reason: str) -> None:
        """The phone's buffers and clock started over: ask for everything, re-read the time map."""
        self.events.append(reason)
        self._threshold = {name: None for name in self.buffers}
        self._time_map = None
        await self._refresh_time_map()

    def _session_s(self, t_exp: np.ndarray) -> np.ndarray:
        assert self._time_map is not None
        unix_s = self._time_map.unix_s(t_exp)
        if self._anchor_unix_s is None:
            self._anchor_unix_s = float(np.nanmin(unix_s))
        return unix_s - self._anchor_unix_s

    async def _reconnect(self, err: BaseException) -> None:
        lost_at = self._clock()
        self.link_lost.set()
        self.events.append(f"lost the connection to {self.url} ({type(err).__name__}); reconnecting")
        wait_s = self.settings.backoff_initial_s
        while not self._stop.is_set():
            if self._clock() - lost_at > self.settings.give_up_after_s:
                raise DeviceError(
                    f"phyphox at {self.url} has not answered for {self.settings.give_up_after_s:g} s; "
                    "check the phone is awake, on the same Wi-Fi and the experiment is open"
                )
            await asyncio.sleep(wait_s)
            wait_s = min(2.0 * wait_s, self.settings.backoff_max_s)
            try:  # (back once the data answers too: a phone can answer /time while /get fails)
                await self._refresh_time_map()
                await self._take(await self._fetch_json("/get?" + self._query()))
            except _FETCH_ERRORS:
                continue
            self.stats.reconnects += 1
            self.link_lost.clear()
            self.events.append(f"reconnected to {self.url} after {self._clock() - lost_at:.1f} s")
            return

    def _unix_s(self, t_s: float) -> float:
        return self._anchor_unix_s + t_s

    def _acc_gyro(self, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return values["acc"], values["gyro"]


def _columns(blocks: dict, bufs: SensorBuffers) -> tuple[np.ndarray, np.ndarray]:
    """One sensor's time (n,) and values (n, 3) from a `/get` answer; null -> NaN, ragged -> shortest."""
    cols = [blocks.get(name, {}).get("buffer", []) for name in (bufs.time, *bufs.xyz)]
    n = min(len(c) for c in cols)
    arr = np.array([[np.nan if v is None else v for v in c[:n]] for c in cols], dtype=np.float64)
    return arr[0], arr[1:].T.reshape(n, 3)
