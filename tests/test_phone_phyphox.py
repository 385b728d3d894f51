"""phyphox remote access: the real poller against a fake phone's HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from analysis.samples import Samples
from sensor.errors import DeviceError
from sensor.phone import open_phone_source
from sensor.phone.fake_phones import FakePhyphox, hinge_motion, java_sci, phone_motion
from sensor.phone.phyphox_poll import buffers_from_config

TIMEOUT_S = 20.0
FAST = {"poll_hz": 200.0, "backoff_initial_s": 0.01, "backoff_max_s": 0.05, "request_timeout_s": 2.0}
T_TOL_S = 2e-6  # times travel with 8 significant digits (motions here are < 100 s)
ACC_TOL = 1e-6  # m/s², 8 significant digits of ~10


def run(coro):
    async def bounded():
        return await asyncio.wait_for(coro, TIMEOUT_S)

    return asyncio.run(bounded())


class Reader:
    """Iterates a source in a task; `until(n)` waits for n samples in all."""

    def __init__(self, source):
        self.source = source
        self.blocks: list[Samples] = []
        self.arrived = asyncio.Condition()
        self.finished = False
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for block in self.source:
                async with self.arrived:
                    self.blocks.append(block)
                    self.arrived.notify_all()
        finally:
            async with self.arrived:
                self.finished = True
                self.arrived.notify_all()

    @property
    def n(self) -> int:
        return sum(map(len, self.blocks))

    async def until(self, n: int) -> Samples:
        async with self.arrived:
            await self.arrived.wait_for(lambda: self.n >= n or self.finished)
        if self.finished:
            await self.task  # raises what the source raised
        return Samples.concat(self.blocks)

    async def close(self) -> Samples:
        self.source.stop()
        await self.task
        await self.source.aclose()
        return Samples.concat(self.blocks)


async def connect(phone: FakePhyphox, **options):
    return await open_phone_source(f"phyphox:{phone.url}", **{**FAST, **options})


def stream(phone: FakePhyphox, steps, **options) -> tuple[Samples, object]:
    """Put the phone online, connect a `Reader`, run `await steps(source, reader)`, close.

    Returns what the source delivered and the source (for its stats and events).
    """

    async def scenario():
        await phone.start()
        source = await connect(phone, **options)
        reader = Reader(source)
        try:
            await steps(source, reader)
            return await reader.close(), source
        finally:
            await phone.stop()

    return run(scenario())


def assert_matches(out: Samples, motion: Samples, index: np.ndarray) -> None:
    """out equals the motion samples `index`, with time measured from the first of them."""
    np.testing.assert_allclose(out.t, motion.t[index] - motion.t[index[0]], atol=T_TOL_S)
    np.testing.assert_allclose(out.acc, motion.acc[index], atol=ACC_TOL)
    np.testing.assert_allclose(out.gyro, motion.gyro[index], atol=ACC_TOL)


def test_incremental_polling_delivers_what_the_phone_measured():
    motion = hinge_motion(6.0)
    phone = FakePhyphox(motion)
    phone.record(100)

    async def steps(source, reader):
        await reader.until(100)
        for _ in range(4):
            phone.record(50)
            await reader.until(phone.next_index)
        assert phone.gets >= 5

    out, source = stream(phone, steps)
    assert_matches(out, motion, np.arange(300))
    assert source.stats.achieved_rate_hz == pytest.approx(100.0, rel=1e-4)
    assert source.stats.dropped_samples == source.stats.duplicates == source.stats.gaps == 0
    assert "backcheck IMU" in source.info.device


def test_simulated_lifter_round_trips():
    motion = phone_motion(5.0, seed=0)  # the simulator's IMU (or the hinge before it lands)
    phone = FakePhyphox(motion)

    async def steps(source, reader):
        for _ in range(5):
            phone.record(len(motion) // 5 + 1)
            await reader.until(phone.next_index)

    out, _ = stream(phone, steps)
    assert_matches(out, motion, np.arange(len(motion)))


def test_null_values_are_dropped_and_counted():
    motion = hinge_motion(3.0)
    phone = FakePhyphox(motion)
    phone.record(100, nan_rows=(10, 40))

    async def steps(source, reader):
        await reader.until(98)

    out, source = stream(phone, steps)
    keep = np.setdiff1d(np.arange(100), [10, 40])
    assert_matches(out, motion, keep)
    assert source.stats.invalid == 2


def test_gyroscope_on_its_own_clock_is_interpolated():
    motion = hinge_motion(3.0)
    phone = FakePhyphox(motion, gyro_offset_s=0.003)
    phone.record(200)

    async def steps(source, reader):
        await reader.until(199)

    out, source = stream(phone, steps)
    # phone time of the accelerometer samples: the first (t=0) precedes every gyroscope sample
    t_acc = out.t + 0.01
    want = np.column_stack([np.interp(t_acc, motion.t[:200] + 0.003, motion.gyro[:200, k]) for k in range(3)])
    np.testing.assert_allclose(out.gyro, want, atol=1e-5)
    assert source.stats.unpaired == 1


@pytest.mark.parametrize("time_api", [True, False])
def test_clear_on_the_phone_restarts_the_stream_with_a_marked_gap(time_api):
    motion = hinge_motion(8.0)
    phone = FakePhyphox(motion, time_api=time_api)
    phone.record(300)

    async def steps(source, reader):
        await reader.until(300)
        phone.skip(50)
        phone.clear()  # phone time restarts at 0; the next /get answers "full"
        phone.record(200)
        await reader.until(500)

    out, source = stream(phone, steps, wall_clock=phone.now_unix_s)  # the host's clock follows the phone's
    index = np.concatenate([np.arange(300), np.arange(350, 550)])
    np.testing.assert_allclose(out.acc, motion.acc[index], atol=ACC_TOL)
    # after the clear, times come from the phone's new START event (system time in ms), or without
    # /time from the host's clock when the restart is seen
    np.testing.assert_allclose(out.t, motion.t[index], atol=2e-3)
    assert source.stats.gap_spans == [pytest.approx((2.99, 3.5), abs=2e-3)]
    assert source.stats.missing == 50
    assert any("cleared" in e for e in source.events)
    assert source.stats.duplicates == source.stats.late == 0


def test_lost_connection_reconnects_with_back_off_and_recovers_buffered_samples():
    motion = hinge_motion(8.0)
    phone = FakePhyphox(motion)
    phone.record(200)

    async def steps(source, reader):
        await reader.until(200)
        await phone.stop()  # Wi-Fi gone; the phone goes on measuring
        phone.record(150)
        await asyncio.wait_for(source.link_lost.wait(), TIMEOUT_S)
        await phone.start()
        phone.record(50)
        await reader.until(400)

    out, source = stream(phone, steps)
    assert_matches(out, motion, np.arange(400))
    assert source.stats.reconnects == 1
    assert source.stats.gaps == 0  # the phone kept the samples; nothing is missing
    assert [e.split(" ")[0] for e in source.events] == ["lost", "reconnected"]


def test_malformed_answers_are_skipped_and_the_stream_goes_on():
    """Three /get answers that are JSON but not shaped as phyphox's (the status a list): taken as a lost link,
    not a traceback that ended the session; the phone's buffers still hold the samples, so none is missing."""
    motion = hinge_motion(8.0)
    phone = FakePhyphox(motion)
    phone.record(200)

    async def steps(source, reader):
        await reader.until(200)
        phone.malformed_gets = 3
        phone.record(150)
        await reader.until(350)

    out, source = stream(phone, steps)
    assert_matches(out, motion, np.arange(350))
    assert source.stats.gaps == 0 and source.stats.reconnects >= 1


def test_phone_restarted_while_away_leaves_a_gap_and_the_stream_resumes():
    motion = hinge_motion(8.0)
    phone = FakePhyphox(motion)
    phone.record(200)

    async def steps(source, reader):
        await reader.until(200)
        await phone.stop()
        await asyncio.wait_for(source.link_lost.wait(), TIMEOUT_S)
        phone.skip(100)
        phone.restart_app()  # new session id, empty buffers, time from 0
        phone.record(100)
        await phone.start()
        await reader.until(300)

    out, source = stream(phone, steps)
    index = np.concatenate([np.arange(200), np.arange(300, 400)])
    np.testing.assert_allclose(out.acc, motion.acc[index], atol=ACC_TOL)
    np.testing.assert_allclose(out.t, motion.t[index], atol=2e-3)
    assert source.stats.reconnects == 1
    assert source.stats.gaps == 1 and source.stats.missing == 100
    assert any("new measurement" in e for e in source.events)


def test_unreachable_phone_and_phone_without_gyroscope_are_device_errors():
    async def scenario():
        phone = FakePhyphox(hinge_motion(1.0), gyroscope=False)
        await phone.start()
        try:
            with pytest.raises(DeviceError, match="no gyroscope input"):
                await connect(phone)
        finally:
            await phone.stop()
        with pytest.raises(DeviceError, match="does not answer"):
            await connect(phone)  # nothing listens on that port any more

    run(scenario())


def test_phone_that_stays_away_ends_the_session_with_a_device_error():
    now = [0.0]
    phone = FakePhyphox(hinge_motion(2.0))

    async def scenario():
        await phone.start()
        phone.record(50)
        source = await connect(phone, give_up_after_s=30.0, clock=lambda: now[0])
        reader = Reader(source)
        try:
            await reader.until(50)
            await phone.stop()
            await asyncio.wait_for(source.link_lost.wait(), TIMEOUT_S)
            now[0] += 31.0
            with pytest.raises(DeviceError, match="has not answered for 30 s"):
                await reader.until(10_000)
        finally:
            await source.aclose()

    run(scenario())


def test_a_phone_that_answers_but_sends_nothing_new_is_said_and_so_is_its_return():
    """Screen locked or phyphox in the background: /get still answers, with no new samples. After
    silence_note_s (on the source's clock) the live view is told, and again when data comes back; a pause the
    phone reports is said as a pause instead."""
    now = [0.0]
    phone = FakePhyphox(hinge_motion(4.0))
    phone.record(100)

    async def steps(source, reader):
        await reader.until(100)
        now[0] += 2.0
        phone.record(20)
        await reader.until(120)
        assert len(source.events) == 0  # data within silence_note_s: nothing to say
        now[0] += 3.5
        await asyncio.wait_for(source.events.wait_past(0), TIMEOUT_S)
        assert source.events[0].startswith("the phone answers but has sent no new data for 3.5 s")
        now[0] += 1.0
        phone.record(30)
        await reader.until(150)
        await asyncio.wait_for(source.events.wait_past(1), TIMEOUT_S)
        assert source.events[1] == "the phone is sending data again after 4.5 s"
        phone.measuring = False
        now[0] += 10.0
        await asyncio.wait_for(source.events.wait_past(2), TIMEOUT_S)
        await reader.until(150)

    out, source = stream(phone, steps, clock=lambda: now[0])
    assert len(out) == 150
    assert list(source.events)[2:] == ["the phone paused measuring"]


def test_buffer_names_come_from_config():
    config = {
        "inputs": [
            {"source": "accelerometer", "outputs": [{"x": "ax"}, {"y": "ay"}, {"z": "az"}, {"t": "at"}]},
            {"source": "gyroscope", "outputs": [{"x": "gx"}, {"y": "gy"}, {"z": "gz"}, {"t": "gt"}]},
        ]
    }
    found = buffers_from_config(config, "http://phone")
    assert found["acc"].time == "at" and found["gyro"].xyz == ("gx", "gy", "gz")
    with pytest.raises(DeviceError, match=r"no accelerometer input \(it has: linear_acceleration, gyro"):
        buffers_from_config(
            {"inputs": [dict(config["inputs"][0], source="linear_acceleration"), config["inputs"][1]]}, "x"
        )


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.345678, "1.2345678E1"), (-0.015, "-1.5E-2"), (9.80665, "9.80665E0"), (0.0, "0E0"),
     (123456789.0, "1.2345679E8"), (float("nan"), "null")],
)
def test_java_decimal_format(value, text):
    assert java_sci(value) == text
