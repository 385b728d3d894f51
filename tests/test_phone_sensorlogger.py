"""Sensor Logger HTTP push: a real aiohttp server and client on 127.0.0.1 (ephemeral ports)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import numpy as np
import pytest

from analysis.samples import Samples
from sensor.errors import DeviceError, InputError
from sensor.phone import open_phone_source
from sensor.phone.fake_phones import FakeSensorLogger, hinge_motion, phone_motion
from sensor.phone.merge import MergeSettings
from sensor.phone.sensorlogger_push import PushFormatError, parse_push_message

TIMEOUT_S = 20.0
TOKEN = "test-token"


def run(coro):
    async def bounded():
        return await asyncio.wait_for(coro, TIMEOUT_S)

    return asyncio.run(bounded())


async def start(**options):
    banners: list[str] = []
    options.setdefault("token", TOKEN)
    source = await open_phone_source("sensorlogger:127.0.0.1:0", announce=banners.append, **options)
    source.banners = banners
    return source


async def collect(source) -> Samples:
    return Samples.concat([block async for block in source])


async def push(source, messages) -> list[int]:
    url = source.server.push_url
    async with aiohttp.ClientSession() as http:
        return [(await FakeSensorLogger.post(http, url, m))[0] for m in messages]


def push_all(messages: list[dict], **options) -> tuple[list[int], Samples, object]:
    """Start a source, push `messages` in order, stop it and read it to the end.

    Returns the HTTP statuses, what the source delivered, and the source (for its stats).
    """

    async def scenario():
        source = await start(**options)
        try:
            statuses = await push(source, messages)
            source.stop()
            return statuses, await collect(source), source
        finally:
            await source.aclose()

    return run(scenario())


def expected_of(fake: FakeSensorLogger, messages: list[dict]) -> Samples:
    """The total acceleration and gyroscope the fake sent in `messages`, at accelerometer times."""
    rows: dict[str, dict[int, list[float]]] = {"accelerometer": {}, "gravity": {}, "gyroscope": {}}
    for m in messages:
        for item in m["payload"]:
            if item["name"] in rows:
                rows[item["name"]].setdefault(item["time"], [item["values"][a] for a in "xyz"])
    t_ns = np.array(sorted(rows["accelerometer"]))
    acc = np.array([np.add(rows["accelerometer"][k], rows["gravity"][k]) for k in t_ns])
    gyro = np.array([rows["gyroscope"][k] for k in t_ns])
    return Samples((t_ns - t_ns[0]) * 1e-9, acc, gyro)


def assert_same(out: Samples, want: Samples) -> None:
    assert len(out) == len(want)
    np.testing.assert_allclose(out.t, want.t, atol=1e-9)
    np.testing.assert_allclose(out.acc, want.acc, atol=1e-9)
    np.testing.assert_allclose(out.gyro, want.gyro, atol=1e-12)


def test_good_stream_arrives_whole_and_in_si_units():
    motion = hinge_motion(4.0)
    fake = FakeSensorLogger(motion)
    messages = fake.messages()
    statuses, out, source = push_all(messages)
    assert statuses == [200] * len(messages)
    assert_same(out, expected_of(fake, messages))
    np.testing.assert_allclose(out.acc, motion.acc, atol=1e-9)  # accelerometer + gravity = total
    np.testing.assert_allclose(out.t, motion.t, atol=1e-9)
    assert source.stats.achieved_rate_hz == pytest.approx(100.0, rel=1e-6)
    assert source.info.sample_rate_hz == pytest.approx(100.0, rel=1e-6)
    assert source.stats.dropped_samples == source.stats.duplicates == source.stats.gaps == 0
    assert "Android (assumed" in source.info.decisions[0]
    assert source.server.push_url in source.banners[0]
    assert source.info.start_utc.startswith("2025-12-29")


def test_simulated_lifter_round_trips():
    motion = phone_motion(5.0, seed=0)  # the simulator's IMU (or the hinge before it lands)
    assert motion.has_gyro
    fake = FakeSensorLogger(motion, batch_s=0.25)
    _, out, source = push_all(fake.messages())
    np.testing.assert_allclose(out.t, motion.t - motion.t[0], atol=2e-9)
    np.testing.assert_allclose(out.acc, motion.acc, atol=1e-9)
    np.testing.assert_allclose(out.gyro, motion.gyro, atol=1e-12)
    assert source.stats.achieved_rate_hz == pytest.approx(motion.median_rate_hz(), rel=0.02)


def test_out_of_order_and_duplicated_messages_come_out_in_order_and_once():
    motion = hinge_motion(3.0)
    fake = FakeSensorLogger(motion, batch_s=0.1)
    messages = fake.messages()
    sent = list(messages)
    swapped = range(0, len(sent) - 1, 4)
    for i in swapped:  # swap neighbours: each pair arrives newest first
        sent[i], sent[i + 1] = sent[i + 1], sent[i]
    repeated = [messages[3], messages[10], messages[10]]
    sent[12:12] = repeated
    statuses, out, source = push_all(sent, merge=MergeSettings(reorder_window_s=0.25))
    assert set(statuses) == {200}
    assert_same(out, expected_of(fake, messages))
    assert np.all(np.diff(out.t) > 0)
    assert source.stats.duplicates == sum(len(m["payload"]) for m in repeated)
    assert source.stats.out_of_order == sum(len(messages[i]["payload"]) for i in swapped)
    assert source.stats.late == source.stats.dropped_samples == 0


def test_message_later_than_the_reorder_window_is_dropped_and_counted():
    fake = FakeSensorLogger(hinge_motion(2.0), batch_s=0.1)
    messages = fake.messages()
    late = messages[2]
    sent = messages[:2] + messages[3:12] + [late]
    _, out, source = push_all(sent, merge=MergeSettings(reorder_window_s=0.1))
    n_late = len(late["payload"])
    assert source.stats.late == n_late  # every channel's samples of that message
    assert np.all(np.diff(out.t) > 0)
    assert source.stats.gaps == 1  # the 0.1 s hole stays a hole
    assert len(out) == len(expected_of(fake, messages[:12])) - n_late // 3


def test_refused_requests_get_4xx_and_the_server_keeps_serving():
    fake = FakeSensorLogger(hinge_motion(1.0), batch_s=0.1)
    good = fake.messages()
    big = dict(good[0], padding="x" * 10_000)
    other_phone = dict(good[0], deviceId="someone-else")
    bad_time = json.loads(json.dumps(good[0]))
    bad_time["payload"][0]["time"] = 1.5
    bad_value = json.loads(json.dumps(good[0]))
    bad_value["payload"][0]["values"]["x"] = "9.81"

    async def scenario():
        source = await start(max_body_bytes=8000)
        base = f"http://127.0.0.1:{source.server.port}"
        url = source.server.push_url
        cases = [
            (url, b"{not json", 400, "not JSON"),
            (url, b"[1, 2]", 400, "payload"),
            (url, {"payload": {"name": "gyroscope"}}, 400, "payload"),
            (url, bad_time, 400, "payload[0].time"),
            (url, bad_value, 400, "payload[0].values.x"),
            (url, big, 413, ""),
            (f"{base}/push/wrong-token", good[0], 403, "wrong token"),
            (f"{base}/push/", good[0], 404, ""),
            (f"{base}/other", good[0], 404, ""),
        ]
        answers = []
        try:
            async with aiohttp.ClientSession() as http:
                for i, (target, body, _, _) in enumerate(cases):
                    answers.append(await FakeSensorLogger.post(http, target, body))
                    answers.append(await FakeSensorLogger.post(http, url, good[i]))
                answers.append(await FakeSensorLogger.post(http, url, other_phone))
                async with http.get(url) as resp:
                    answers.append((resp.status, ""))
            source.stop()
            return cases, answers, await collect(source), source
        finally:
            await source.aclose()

    cases, answers, out, source = run(scenario())
    for (_, _, status, reason), (got, text), (next_status, _) in zip(
        cases, answers[:-2:2], answers[1:-2:2], strict=True
    ):
        assert got == status and reason in text
        assert next_status == 200
    assert answers[-2][0] == 409 and answers[-1][0] == 405
    assert_same(out, expected_of(fake, good[: len(cases)]))
    assert sum(source.server.refused.values()) == len(cases) + 2


def test_flood_beyond_the_rate_limit_gets_429_then_service_resumes():
    fake = FakeSensorLogger(hinge_motion(1.0), batch_s=0.1)
    messages = fake.messages()
    now = [100.0]

    async def scenario():
        source = await start(rate_limit_per_s=2.0, rate_burst=3, clock=lambda: now[0])
        try:
            flood = await push(source, messages[:5])
            now[0] += 0.5  # one request's worth of tokens comes back
            after = await push(source, messages[5:7])
            return flood, after, source.server.refused[429]
        finally:
            await source.aclose()

    flood, after, refused = run(scenario())
    assert flood == [200, 200, 200, 429, 429]
    assert after == [200, 429]
    assert refused == 3


@pytest.mark.parametrize(
    ("options", "uncalibrated", "decision", "sign"),
    [
        ({}, True, "iPhone, unstandardised", 1.0),
        ({"ios": True}, False, "ios (from the command line)", 1.0),
        ({}, False, "Android (assumed", -1.0),  # without a hint an unstandardised iPhone stays upside down
    ],
)
def test_iphone_sign_convention(options, uncalibrated, decision, sign):
    motion = hinge_motion(2.0)
    fake = FakeSensorLogger(motion, platform="ios", uncalibrated=uncalibrated)
    _, out, source = push_all(fake.messages(), **options)
    assert decision in source.info.decisions[0]
    np.testing.assert_allclose(out.acc, sign * motion.acc, atol=1e-9)
    np.testing.assert_allclose(out.gyro, motion.gyro, atol=1e-12)


def test_gyroscope_on_its_own_clock_is_interpolated_but_not_across_a_gap():
    motion = hinge_motion(3.0)
    fake = FakeSensorLogger(motion, gyro_offset_s=0.004)
    messages = fake.messages()
    gap_ns = fake.time_ns(np.array([1.0, 1.2]))  # 20 gyroscope samples missing
    short_ns = int(fake.time_ns(np.array([2.004]))[0])  # one gyroscope sample missing
    for m in messages:
        m["payload"] = [
            p
            for p in m["payload"]
            if p["name"] != "gyroscope" or not (gap_ns[0] <= p["time"] < gap_ns[1] or p["time"] == short_ns)
        ]
    _, out, source = push_all(messages)
    gyro = [p for m in messages for p in m["payload"] if p["name"] == "gyroscope"]
    g_t = np.array([p["time"] for p in gyro])
    g_v = np.array([[p["values"][a] for a in "xyz"] for p in gyro])
    t_abs = out.t + 0.01  # the first accelerometer sample (t=0) precedes every gyroscope sample
    g_t_s = (g_t - fake.start_ns) * 1e-9
    want = np.column_stack([np.interp(t_abs, g_t_s, g_v[:, k]) for k in range(3)])
    np.testing.assert_allclose(out.gyro, want, atol=1e-9)
    inside_gap = (t_abs > 1.0) & (t_abs < 1.2)
    assert not inside_gap.any()
    # t=0 precedes the gyroscope; 1.00-1.20 s lie inside the gyroscope's 0.994-1.204 s step
    assert source.stats.unpaired == 1 + 21
    assert source.stats.gaps == 1
    assert np.any(np.isclose(t_abs, 2.0))  # the single missing sample was bridged


def test_phone_pause_flushes_held_samples_and_leaves_a_gap():
    """A phone that goes quiet: its held samples go out, the silence is said while it lasts (not once data comes
    again), and so is its end."""
    motion = hinge_motion(4.0)
    fake = FakeSensorLogger(motion, batch_s=0.1)
    messages = fake.messages()
    first, second = messages[:15], messages[25:]

    async def scenario():
        source = await start(idle_flush_s=0.05, silence_note_s=0.2)
        got: list[Samples] = []
        try:
            await push(source, first)
            n_first = len(expected_of(fake, first))
            async for block in source:  # the held tail comes out once the phone is quiet
                got.append(block)
                if sum(map(len, got)) == n_first:
                    break
            waiting = asyncio.ensure_future(source.__aiter__().__anext__())  # the live loop, waiting for data
            await source.events.wait_past(0)
            assert not waiting.done() and list(source.events)[0].startswith("no data from the phone for ")
            await push(source, second)
            got.append(await waiting)
            assert list(source.events)[1].startswith("the phone is sending again after ")
            source.stop()
            got.append(await collect(source))
            return Samples.concat(got), source
        finally:
            await source.aclose()

    out, source = run(scenario())
    want = expected_of(fake, first + second)
    assert_same(out, want)
    assert source.stats.gap_spans == [pytest.approx((1.49, 2.5))]
    assert source.stats.missing == 100


def test_a_session_stopped_while_the_phone_is_silent_says_no_return():
    """stop() during a silence ends the stream without a "sending again" note (its stop signal was taken for a
    message)."""
    fake = FakeSensorLogger(hinge_motion(2.0), batch_s=0.1)

    async def scenario():
        source = await start(idle_flush_s=0.05, silence_note_s=0.2)
        try:
            await push(source, fake.messages())
            waiting = asyncio.ensure_future(collect(source))
            await source.events.wait_past(0)
            source.stop()
            await waiting
            return list(source.events)
        finally:
            await source.aclose()

    notes = run(scenario())
    assert len(notes) == 1 and notes[0].startswith("no data from the phone for ")


def test_phone_without_a_gyroscope_streams_accelerometer_only():
    """A phone without a gyroscope: once missing_sensor_after_s of data shows none, the session goes on in the
    accelerometer-only mode (it was refused: many cheap phones have none), every sample included (the first ~2 s
    were given up on while the gyroscope was awaited: a sensor not heard from yet is awaited `first_wait_s`)."""
    fake = FakeSensorLogger(hinge_motion(8.0), batch_s=0.4)
    messages = fake.messages()
    for m in messages:
        m["payload"] = [p for p in m["payload"] if p["name"] != "gyroscope"]
    statuses, out, source = push_all(messages)
    assert set(statuses) == {200} and out.gyro is None
    assert any("accelerometer-only session" in e for e in source.events)
    acc_t = np.array(sorted({p["time"] for m in messages for p in m["payload"] if p["name"] == "accelerometer"}))
    np.testing.assert_allclose(out.t, (acc_t - acc_t[0]) * 1e-9, atol=1e-9)
    assert source.stats.dropped_samples == 0


def test_missing_gravity_is_a_device_error():
    fake = FakeSensorLogger(hinge_motion(5.0))
    messages = fake.messages()
    for m in messages:
        m["payload"] = [p for p in m["payload"] if p["name"] != "gravity"]
    with pytest.raises(DeviceError, match="no gravity readings"):
        push_all(messages)


def test_parse_rejects_and_ignores():
    ok = parse_push_message(
        b'{"messageId": 1, "payload": [{"name": "magnetometer", "time": 1767000000000000000,'
        b' "values": {"x": 1, "y": 2, "z": 3}}, {"name": "gyroscope", "time": 1767000000000000000,'
        b' "values": {"x": null, "y": 0, "z": 0}}]}'
    )
    assert ok.ignored == 1 and np.isnan(ok.readings["gyroscope"][1][0, 0])
    for body, reason in [
        (b'{"payload": [], "messageId": "7"}', "messageId"),
        (b'{"payload": [{"name": "gravity", "time": 12, "values": {}}]}', "epoch nanoseconds"),
        (b'{"payload": [{"name": "gravity", "time": 1767000000000000000, "values": [1, 2, 3]}]}', "x, y, z"),
        (b'{"payload": [{"name": "gravity", "time": 1767000000000000000, "values": {"x": 1e9}}]}', ".x"),
        (b"\xff\xfe", "not JSON"),
    ]:
        with pytest.raises(PushFormatError, match=reason):
            parse_push_message(body)


@pytest.mark.parametrize("spec", ["sensorlogger:abc", "sensorlogger:1:2:3", "phyphox:", "phone:1"])
def test_bad_source_spec(spec):
    with pytest.raises(InputError, match="--source"):
        run(open_phone_source(spec))


def test_memory_stays_bounded_while_one_sensor_is_silent():
    """The accelerometer stops after 1 s and the gyroscope goes on for 10 minutes at 100 Hz: nothing can be
    emitted, and each channel holds at most 2 x history_s of its own data (it grew without bound)."""
    from sensor.phone.merge import MergeSettings, StreamMerger

    merger = StreamMerger("acc", ("gyro",), MergeSettings(history_s=10.0, reorder_batches=0.0))
    t = np.arange(0.0, 600.0, 0.01)
    merger.add("acc", t[:100], np.ones((100, 3)))
    for start in range(0, t.size, 50):  # half-second messages
        merger.add("gyro", t[start:start + 50], np.zeros((len(t[start:start + 50]), 3)))
        merger.pop()
    held = merger.channels["gyro"].t
    assert held.size <= 2 * 10.0 * 100 + 50 and held[-1] == pytest.approx(599.99)
    assert merger.stats.samples_out == 90  # the accelerometer's second, but for the reorder window's 0.1 s


def test_a_message_overtaken_by_the_next_is_put_back_in_order_whatever_the_batch_length():
    """0.25 s batches (the docs allow 0.1-0.25), neighbours swapped, default settings: the reorder window
    follows the batch length (1.5 batches), so the overtaken message is not lost (it was: 0.1 s window)."""
    fake = FakeSensorLogger(hinge_motion(4.0), batch_s=0.25)
    messages = fake.messages()
    sent = list(messages)
    for i in range(2, len(sent) - 1, 4):
        sent[i], sent[i + 1] = sent[i + 1], sent[i]
    statuses, out, source = push_all(sent)
    assert set(statuses) == {200}
    assert_same(out, expected_of(fake, messages))
    assert source.stats.late == source.stats.dropped_samples == 0


def test_a_sensor_that_stops_is_said_once_and_again_when_it_comes_back():
    """The gyroscope stops after 2 s of a 10 s stream, then comes back at 7 s: the source says so at the time
    (its partners' samples are dropped meanwhile, counted), not only in the summary."""
    fake = FakeSensorLogger(hinge_motion(10.0), batch_s=0.4)
    sent = fake.messages()
    for message in sent[5:18]:  # 2-7.2 s
        message["payload"] = [r for r in message["payload"] if r["name"] != "gyroscope"]
    statuses, out, source = push_all(sent)
    assert set(statuses) == {200}
    stopped = [e for e in source.events if "gyroscope stopped sending" in e]
    assert len(stopped) == 1 and any("gyroscope is sending again" in e for e in source.events)
    assert source.stats.unpaired > 0 and source.stats.dropped_samples >= source.stats.unpaired
