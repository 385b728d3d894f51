"""BleSource end to end through real BleakScanner/BleakClient code and scripted fake peripherals.

Everything runs on a virtual clock (`run_virtual`): connection intervals, jitter, back-off and
scan timeouts are scripted times, not waits. Truth = the samples each fake encoded and delivered.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from analysis.analyzer import Analyzer
from analysis.samples import Samples
from sensor.ble import fake
from sensor.ble import profiles as pr
from sensor.ble.fake import FakeAir, FakeBleakClient, LinkScript, collect, run_virtual
from sensor.ble.source import open_ble_source
from sensor.errors import EXIT_DEVICE, DeviceError, InputError
from sensor.recording import RecordingWriter, read_recording

G = 9.80665
DEG = math.pi / 180
INTERVAL_S, JITTER_S = 0.030, 0.004


@functools.cache
def motion() -> fake.Motion:
    return fake.simulator_motion(1, "deadlift", sets=1, reps=3)


# key: (fake class, name, extra kwargs, acc LSB m/s², gyro LSB rad/s or None, payloads to drop)
CASES = {
    "diy": (fake.FakeDiyTag, "backcheck-0001", {}, 0.000122 * G, 0.035 * DEG, {25}),
    "witmotion": (
        fake.FakeWitMotion,
        "WT901BLE68",
        {},
        16 / 32768 * G,
        2000 / 32768 * DEG,
        set(range(200, 240)),
    ),
    "polar-h10": (fake.FakePolar, "Polar H10 1A2B3C4D", {"verity": False}, 0.001 * G, None, {25}),
    "polar-verity": (
        fake.FakePolar,
        "Polar Sense B5C6D7E8",
        {"verity": True},
        8 / 32768 * G,
        2000 / 32768 * DEG,
        {51},
    ),
    "thingy52": (fake.FakeThingy52, "Thingy", {}, G / 1024, DEG / 32, set(range(300, 380))),
}
COUNTERLESS = {"witmotion", "thingy52"}


def run_case(key: str, **script_changes):
    cls, name, kwargs, *_ = CASES[key]
    air = FakeAir()
    drop = CASES[key][5]
    script = LinkScript(
        duration_s=14.0,
        disconnect_at_s=6.0,
        drop=frozenset(drop),
        duplicate=frozenset({30}),
        garbage=frozenset({35}),
        connection_interval_s=INTERVAL_S,
        jitter_s=JITTER_S,
    )
    script = LinkScript(**(script.__dict__ | script_changes))
    tag = cls(air, name, script, motion=motion(), **kwargs)
    source = open_ble_source(
        key, scanner_backend=air.scanner_backend, client_backend=FakeBleakClient, give_up_after_s=30.0
    )
    blocks, err = run_virtual(collect(source))
    return source, tag, blocks, err


@pytest.mark.parametrize("key", list(CASES))
def test_profile_stream_with_drops_duplicates_garbage_and_a_reconnect(key):
    source, tag, blocks, err = run_case(key)
    _, _, _, acc_lsb, gyro_lsb, _ = CASES[key]
    assert isinstance(err, DeviceError) and "no data for 30 s" in str(err)  # the tag powered off at 14 s
    out = Samples.concat(blocks)
    truth = tag.truth()
    n = len(out)
    # (WitMotion streams at 10 Hz until configured: the fake leaves those samples out of its truth)
    assert len(truth.host_t_s) == n
    assert n > 14 * tag.rate_hz * 0.7
    np.testing.assert_allclose(
        out.acc, truth.acc[-n:], rtol=0, atol=acc_lsb * 0.501
    )  # half an LSB (f32 scale)
    if gyro_lsb is None:
        assert out.gyro is None and source.info.accelerometer_only
    else:
        np.testing.assert_allclose(out.gyro, truth.gyro[-n:], rtol=0, atol=gyro_lsb * 0.501)
    # time: within [-2 ms, interval + jitter + 1 ms] of the true sample time (the clock sits on the
    # fastest arrivals); counter-less streams also carry a lost-sample estimate after a long drop
    dt = out.t + source.info.notes["start_host_s"] - truth.host_t_s[-n:]
    late_limit = INTERVAL_S + JITTER_S + (0.035 if key in COUNTERLESS else 0.001)
    assert dt.min() >= -0.002 and dt.max() <= late_limit, (dt.min(), dt.max())
    period = 1 / tag.rate_hz
    gaps = np.flatnonzero(np.diff(out.t) > 1.5 * period)
    assert len(gaps) == 2  # the dropped notification(s) and the reconnect
    assert np.diff(out.t)[gaps] == pytest.approx(np.diff(truth.host_t_s[-n:])[gaps], abs=late_limit + 0.002)
    s = source.stats
    assert source.sessions == 2 and s.reconnects == 1
    assert s.duplicates >= 1 and s.malformed + s.garbage_bytes >= 1
    dropped = {"diy": 10, "witmotion": 80, "polar-h10": 10, "polar-verity": 10, "thingy52": 80}[key]
    assert abs(s.dropped_samples - dropped) <= (2 if key in COUNTERLESS else 0) and s.gaps == 1
    # the live view's notes: the loss when it happened, the reconnect with how long the data was away (the
    # largest step in t, within the note's rounding and the clock fit)
    lost, back, lost_again = source.events
    assert lost == lost_again == f"lost the link to ble:{key} (the device disconnected); reconnecting"
    away_s = float(back.removeprefix("reconnected after ").removesuffix(" s"))
    assert away_s == pytest.approx(np.diff(out.t).max(), abs=0.2)


def test_device_specific_configuration_writes():
    source, tag, _, _ = run_case("witmotion")
    writes = [data for _, data in tag.writes]
    per_connection = [bytes.fromhex("FFAA6988B5"), bytes.fromhex("FFAA030900"), bytes.fromhex("FFAA000000")]
    assert writes == per_connection * 2 and tag.rate_hz == 100
    _, tag, _, _ = run_case("thingy52")
    assert [d for _, d in tag.writes] == [bytes.fromhex("E803F401F4016400 01".replace(" ", ""))] * 2
    _, tag, _, _ = run_case("polar-h10")
    start = bytes.fromhex("02 02 00 01 64 00 01 01 10 00 02 01 08 00")
    # the H10 keeps measuring through a link loss: the source stops and restarts it
    assert [d for _, d in tag.writes] == [start, start, b"\x03\x02", start]


def test_diy_sequence_wrap_and_timestamp_wrap_are_seamless():
    # the tag's µs clock wraps 5 s into the stream and its u16 sequence about then too
    source, tag, blocks, _ = run_case("diy", drop=frozenset(), duplicate=frozenset(), disconnect_at_s=None)
    assert tag._seq > 65536
    out = Samples.concat(blocks)
    assert len(out) == len(tag.truth().host_t_s)
    assert source.stats.gaps == 0 and source.stats.dropped_packets == 0 and source.stats.out_of_order == 0
    assert np.diff(out.t).max() < 1.5 / tag.rate_hz


def test_live_samples_equal_their_recording(tmp_path):
    # a whole set of deadlifts with the link lost and regained in the middle of it
    source, _, blocks, _ = run_case("polar-verity", duration_s=45.0, disconnect_at_s=22.0)
    path = tmp_path / "live.csv"
    with RecordingWriter(path, source.info) as writer:
        for block in blocks:
            writer.append(block)
    live = Samples.concat(blocks)
    rec = read_recording(path)
    assert rec.meta.sample_rate_hz == 52 and rec.meta.device.startswith("Polar Sense B5C6D7E8")
    assert len(rec.samples) == len(live)
    np.testing.assert_allclose(rec.samples.t, live.t, atol=5e-7, rtol=0)  # "%.6f"
    np.testing.assert_allclose(rec.samples.acc, live.acc, rtol=5e-6, atol=1e-12)  # "%.6g"
    np.testing.assert_allclose(rec.samples.gyro, live.gyro, rtol=5e-6, atol=1e-12)
    # the report of the live stream (blocks as they arrived) equals the report of its recording
    live_analyzer = Analyzer(exercise="deadlift")
    for block in blocks:
        live_analyzer.push(block)
    replay_analyzer = Analyzer(exercise="deadlift")
    replay_analyzer.push(rec.samples)
    live_report, replayed = live_analyzer.finish(), replay_analyzer.finish()
    assert [len(x.reps) for x in live_report.sets] == [len(x.reps) for x in replayed.sets]
    assert sum(len(x.reps) for x in live_report.sets) >= 2
    for (_, a), (_, b) in zip(live_report.reps, replayed.reps, strict=True):
        assert abs(a.start_s - b.start_s) < 1e-3 and abs(a.end_s - b.end_s) < 1e-3  # the file's precision
        assert abs(a.peak_flexion_deg - b.peak_flexion_deg) < 0.01
        assert [f.kind for f in a.flags] == [f.kind for f in b.flags]


def test_target_by_name_and_clean_close():
    air = FakeAir()
    other = fake.FakeDiyTag(air, "backcheck-0001", LinkScript(duration_s=5))
    mine = fake.FakeDiyTag(air, "backcheck-0002", LinkScript(duration_s=5))
    source = open_ble_source(
        "diy@backcheck-0002", scanner_backend=air.scanner_backend, client_backend=FakeBleakClient
    )

    async def take_then_close():
        blocks, _ = await collect(source, until=lambda b: len(b) >= 10)
        await source.aclose()
        return blocks

    blocks = run_virtual(take_then_close())
    assert len(blocks) == 10 and other.writes == []
    assert mine.writes[-1] == (pr.DIY_CONTROL, bytes([pr.DIY_STOP])) and mine.client is None


def test_reconnect_backs_off_until_the_device_returns():
    source, tag, blocks, err = run_case("diy", readvertise_after_s=20.0, duration_s=40.0, drop=frozenset())
    out = Samples.concat(blocks)
    gap = np.diff(out.t).max()
    assert source.sessions == 2 and 20.0 < gap < 20.0 + 16.0 + 10.0  # back-off capped by the schedule
    assert isinstance(err, DeviceError)


def test_no_adapter_is_one_device_error():
    air = FakeAir(adapter_present=False)
    source = open_ble_source("diy", scanner_backend=air.scanner_backend, client_backend=FakeBleakClient)
    _, err = run_virtual(collect(source))
    assert isinstance(err, DeviceError) and err.exit_code == EXIT_DEVICE
    assert str(err).startswith("ble:diy: Bluetooth is not available on this machine")


@pytest.mark.parametrize("spec", ["nope", "diy@", "witmotion@ "])
def test_bad_source_specs(spec):
    with pytest.raises(InputError, match=r"--source ble:"):
        open_ble_source(spec)


def test_spec_with_address():
    source = open_ble_source("polar-h10@A0:9E:1A:00:11:22", rate_hz=200)
    assert source.target == "A0:9E:1A:00:11:22" and source.rate_hz == 200 and source.info.accelerometer_only


def test_scan_lists_devices_with_their_profiles(capsys, monkeypatch):
    from sensor.ble import cmd_scan

    air = FakeAir()
    fake.FakeDiyTag(air, "backcheck-7", rssi=-50)
    fake.FakePolar(air, "Polar H10 1A2B3C4D", verity=False, rssi=-70)
    fake.FakeWitMotion(air, "WT901BLE68", rssi=-80)
    fake.FakeThingy52(air, "MyThingy", rssi=-65)  # renamed: matched by its advertised service
    fake.FakePeripheral(air, "Headphones", rssi=-40)  # a device no profile matches
    seen = run_virtual(cmd_scan.scan(2.0, air.scanner_backend))
    assert [(s.name, s.profile, s.rssi_dbm) for s in seen] == [
        ("backcheck-7", "diy", -50),
        ("MyThingy", "thingy52", -65),
        ("Polar H10 1A2B3C4D", "polar-h10", -70),
        ("WT901BLE68", "witmotion", -80),
        ("Headphones", None, -40),
    ]
    assert seen[0].source == "ble:diy@backcheck-7" and seen[-1].source == ""


def test_scan_without_adapter_prints_one_sentence(capsys, monkeypatch):
    from sensor import cli
    from sensor.ble import cmd_scan

    monkeypatch.setattr(cmd_scan, "SCANNER_BACKEND", FakeAir(adapter_present=False).scanner_backend)
    assert cli.main(["scan", "--timeout", "1"]) == EXIT_DEVICE
    err = capsys.readouterr().err.strip()
    assert err.startswith("backcheck scan: Bluetooth is not available on this machine") and "\n" not in err
