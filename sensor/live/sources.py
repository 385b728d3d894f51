"""Live sources: one `--source SPEC` string picks where the samples come from.

Every source is an async iterator of `Samples` blocks with an `info` (device, nominal rate,
accelerometer-only, placement) and a `stats` (dropped samples, gaps, duplicates, reconnects):

    ble:PROFILE[@NAME_OR_ADDRESS]   a BLE tag (sensor.ble; `backcheck scan` lists devices and profiles)
    sensorlogger[:[HOST:]PORT]      Sensor Logger's HTTP push; backcheck runs the server (sensor.phone)
    phyphox:HOST[:PORT]             phyphox remote access; backcheck polls the phone (sensor.phone)
    replay:PATH[@SPEED]             a recording re-emitted in blocks; SPEED 1 = real time (default),
                                    4 = four times faster, max = as fast as possible
    sim:EXERCISE[,key=value...]     the simulator as a live source; keys: seed (int, default 0),
                                    speed (as for replay, default 1), block_ms (default 20); any other
                                    key is a simulator setting passed to `random_session_spec`
                                    (sets=2, reps=6, noise=false, faults=SET:REP:KIND+..., ...)

Examples: ``replay:recordings/demo.csv@max``, ``sim:deadlift,seed=3,speed=10``,
``sim:squat,sets=1,reps=6,faults=1:4:rounding+1:6:twist``.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from analysis.samples import Samples
from sensor.errors import InputError, NotAvailableError
from sensor.recording import Recording, RecordingMeta

SYNTAX = (
    "ble:PROFILE[@NAME_OR_ADDRESS], sensorlogger[:[HOST:]PORT], phyphox:HOST[:PORT], "
    "replay:PATH[@SPEED] or sim:EXERCISE[,key=value...]"
)
DEFAULT_BLOCK_S = 0.02


@dataclass
class SourceStats:
    """Counts a source keeps while it runs (shown in the session summary)."""

    dropped_samples: int = 0
    gaps: int = 0
    duplicates: int = 0
    reconnects: int = 0


@runtime_checkable
class Source(Protocol):
    """An async iterator of Samples blocks (time in s from the first sample, SI units)."""

    info: RecordingMeta
    stats: SourceStats

    def __aiter__(self) -> AsyncIterator[Samples]: ...

    async def aclose(self) -> None: ...


class RecordingSource:
    """Re-emits a whole recording in blocks of `block_s` of data time.

    speed: None = as fast as possible (yielding to the event loop between blocks); otherwise each
    block is handed out when the host clock reaches its last sample's time divided by `speed`.
    `clock` (s, monotonic) and `sleep` are injectable for tests.
    """

    def __init__(
        self,
        recording: Recording,
        *,
        speed: float | None = 1.0,
        block_s: float = DEFAULT_BLOCK_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if speed is not None and not speed > 0:
            raise InputError(f"replay speed must be a positive number or 'max', got {speed!r}")
        if not block_s > 0:
            raise InputError(f"block length must be positive, got {block_s!r} s")
        self.recording = recording
        self.info = recording.meta
        self.speed = speed
        self.block_s = block_s
        self.stats = SourceStats(**_gap_counts(recording.samples.t))
        self._clock = clock
        self._sleep = sleep
        self._blocks: AsyncIterator[Samples] | None = None

    def __aiter__(self) -> AsyncIterator[Samples]:
        if self._blocks is None:
            self._blocks = self._emit()
        return self._blocks

    async def aclose(self) -> None:
        if self._blocks is not None:
            await self._blocks.aclose()

    async def _emit(self) -> AsyncIterator[Samples]:
        samples = self.recording.samples
        if not len(samples):
            return
        t0 = float(samples.t[0])
        start = self._clock()
        for i0, i1 in block_bounds(samples.t, self.block_s):
            block = samples[i0:i1]
            delay = 0.0
            if self.speed is not None:
                delay = start + (float(block.t[-1]) - t0) / self.speed - self._clock()
            await self._sleep(max(delay, 0.0))
            yield block


class SimSource(RecordingSource):
    """The simulator as a live source; `truth` holds the simulator's ground truth."""

    def __init__(self, exercise: str, *, seed: int = 0, overrides: dict[str, Any] | None = None, **kw: Any):
        from sensor.simulator import random_session_spec, simulate_session

        try:  # (settings out of range show only while simulating: a rate of 0, a negative count)
            recording, self.truth = simulate_session(random_session_spec(seed, exercise, **(overrides or {})))
        except (TypeError, ValueError, ZeroDivisionError, IndexError) as err:
            raise InputError(f"sim:{exercise}: the simulator refused these settings ({err or type(err).__name__})") \
                from None
        super().__init__(recording, **kw)


def block_bounds(t: np.ndarray, block_s: float) -> list[tuple[int, int]]:
    """Index ranges [i0, i1) cutting `t` (s) into consecutive windows of `block_s` data time."""
    if not t.size:
        return []
    k = np.floor((t - t[0]) / block_s).astype(np.int64)
    cuts = [0, *(np.flatnonzero(np.diff(k)) + 1).tolist(), int(t.size)]
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def _gap_counts(t: np.ndarray) -> dict[str, int]:
    """Gaps (steps over 2.5 median periods) and the samples they miss, from sample times (s)."""
    if t.size < 3:
        return {"gaps": 0, "dropped_samples": 0}
    steps = np.diff(t)
    period = float(np.median(steps))
    long = steps[steps > 2.5 * period]
    return {"gaps": int(long.size), "dropped_samples": int(np.sum(np.round(long / period) - 1))}


def parse_speed(text: str, spec: str) -> float | None:
    """'max' -> None (as fast as possible); a positive number -> that factor of real time."""
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = float("nan")
    if not speed > 0:
        raise InputError(f"--source {spec}: speed must be a positive number or 'max', got {text!r}")
    return speed


def _value(text: str) -> Any:
    """A simulator setting from text: int, float, true/false, a string; '+' joins a list, ':' a tuple."""
    if "+" in text:
        return tuple(_value(part) for part in text.split("+") if part)
    if ":" in text:
        return tuple(_value(part) for part in text.split(":"))
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _open_replay(spec: str, rest: str, options: dict[str, Any]) -> RecordingSource:
    path, speed = rest, 1.0
    head, at, tail = rest.rpartition("@")
    if at and (tail.lower() == "max" or tail.replace(".", "", 1).isdigit()):
        path, speed = head, parse_speed(tail, spec)
    if not path:
        raise InputError(f"--source {spec}: expected replay:PATH[@SPEED], e.g. replay:session.csv@max")
    from sensor.importers import load

    return RecordingSource(load(path), speed=speed, **options)


def _open_sim(spec: str, rest: str, options: dict[str, Any]) -> SimSource:
    exercise, *pairs = rest.split(",")
    if not exercise:
        raise InputError(f"--source {spec}: expected sim:EXERCISE[,key=value...], e.g. sim:deadlift,speed=10")
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        if not eq or not key.strip():
            raise InputError(f"--source {spec}: expected key=value after the exercise, got {pair!r}")
        key = key.strip()
        if key == "speed":
            options["speed"] = parse_speed(text, spec)
        elif key == "block_ms":
            if not isinstance(_value(text), int | float) or not _value(text) > 0:
                raise InputError(f"--source {spec}: block_ms must be a number of milliseconds above 0, got {text!r}")
            options["block_s"] = float(text) / 1000.0
        elif key == "seed":
            if not isinstance(_value(text), int):
                raise InputError(f"--source {spec}: seed must be an integer, got {text!r}")
            options["seed"] = int(text)
        else:
            text = text.strip()
            if key in ("faults", "fault_kinds", "rest_activities"):  # always lists
                overrides[key] = tuple(_value(item) for item in text.split("+") if item not in ("", "none"))
            else:
                overrides[key] = _value(text)
    return SimSource(exercise, overrides=overrides, **options)


def _open_plugin(module: str, function: str, spec: str, arg: str, options: dict[str, Any]) -> Any:
    try:
        opener = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        raise NotAvailableError(f"--source {spec}: this kind of source is not in this version yet") from None
    return opener(arg, **options)


def open_source(spec: str, **options: Any) -> Any:
    """The source named by `spec` (syntax in the module docstring); may return an awaitable.

    BLE and phone sources are built by `sensor.ble.open_ble_source` (given what follows `ble:`)
    and `sensor.phone.open_phone_source` (given the whole spec); `options` go to the opener unchanged.
    """
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "replay":
        return _open_replay(spec, rest, options)
    if kind == "sim":
        return _open_sim(spec, rest, options)
    if kind == "ble":
        return _open_plugin("sensor.ble", "open_ble_source", spec, rest, options)
    if kind in ("sensorlogger", "phyphox"):
        return _open_plugin("sensor.phone", "open_phone_source", spec, spec, options)
    raise InputError(f"--source {spec!r}: unknown source; expected {SYNTAX}")


async def opened(source: Any) -> Any:
    """`open_source`'s result, awaited when the opener was a coroutine."""
    return await source if inspect.isawaitable(source) else source
