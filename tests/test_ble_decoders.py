"""BLE decoders from byte fixtures (reference/protocols.md §A), and the pure clock/loss logic."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensor.ble import decoders as dec
from sensor.ble.clock import ClockSettings, HostClock, LossTracker, SampleCounter, StreamStats
from sensor.ble.fake import encode_pmd_delta

G = 9.80665
WIT_FRAME = bytes.fromhex("55 61 fc ff ef ff 11 08 00 00 00 00 00 00 98 ff 0d 00 f8 31")


def test_witmotion_captured_frame():
    acc, gyro = dec.decode_witmotion([WIT_FRAME])
    np.testing.assert_allclose(acc[0] / G, [-0.00195, -0.00830, 1.00830], atol=1e-5)
    np.testing.assert_array_equal(gyro, np.zeros((1, 3)))


def test_witmotion_byte_stream_resync():
    four = WIT_FRAME * 4  # an 80-byte notification holds four packets
    assert dec.split_witmotion(four) == ([WIT_FRAME] * 4, b"", 0)
    register_reply = bytes.fromhex("55 71 3A 00 68 01 69 00 7A 00") + bytes(10)
    packets, tail, skipped = dec.split_witmotion(b"\x01\x55\x02" + WIT_FRAME + register_reply + WIT_FRAME[:7])
    assert packets == [WIT_FRAME] and skipped == 3 and tail == WIT_FRAME[:7]
    packets, tail, skipped = dec.split_witmotion(tail + WIT_FRAME[7:])
    assert packets == [WIT_FRAME] and tail == b"" and skipped == 0
    assert dec.split_witmotion(b"\x55") == ([], b"\x55", 0)


def test_witmotion_commands():
    assert dec.WIT_UNLOCK == bytes.fromhex("FF AA 69 88 B5")
    assert dec.witmotion_command(0x03, dec.WIT_RATE_CODES[100]) == bytes.fromhex("FF AA 03 09 00")
    assert dec.witmotion_command(0x03, dec.WIT_RATE_CODES[200]) == bytes.fromhex("FF AA 03 0B 00")
    assert dec.WIT_SAVE == bytes.fromhex("FF AA 00 00 00")


def test_pmd_acc_delta_sdk_example():
    frame = dec.decode_pmd_frame(
        bytes.fromhex("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")
    )
    assert frame.measurement == dec.PMD_ACC and frame.timestamp_ns == 0x65
    np.testing.assert_array_equal(frame.values, [[-15, 20, 1008], [-20, 17, 1008]])


def test_pmd_gyro_delta_sdk_example_with_factor():
    data = bytes([5]) + (123456789).to_bytes(8, "little") + bytes.fromhex("80 EA FF 08 00 0D 00 03 01 DF 00")
    frame = dec.decode_pmd_frame(data, factor=0.5)
    np.testing.assert_array_equal(frame.values, np.array([[-22, 8, 13], [-23, 11, 16]]) * 0.5)


def test_pmd_acc_raw_h10_example():
    data = bytes.fromhex("02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03")
    frame = dec.decode_pmd_frame(data)
    assert frame.timestamp_ns == 2_000_000_000
    np.testing.assert_array_equal(frame.values, [[-9, -1, 999], [-8, -2, 997]])


def test_pmd_acc_compressed_type0_factor_gives_milli_g():
    ints = np.array([[1905, 27376, -29282], [2095, 27271, -29367]])
    frame = dec.decode_pmd_frame(encode_pmd_delta(2, 5, 0x80, ints), factor=2.44e-4)
    np.testing.assert_allclose(frame.values, ints * 2.44e-4 * 1000)


def test_pmd_commands_and_responses():
    assert dec.pmd_start_command(2, 200, 16, 8) == bytes.fromhex("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")
    assert dec.pmd_start_command(5, 52, 16, 2000) == bytes.fromhex(
        "02 05 00 01 34 00 01 01 10 00 02 01 D0 07"
    )
    reply = dec.parse_pmd_response(bytes.fromhex("F0 01 02 00 00 FF FF FF"))
    assert (reply.op, reply.measurement, reply.status, reply.more, reply.params) == (
        1,
        2,
        0,
        False,
        b"\xff\xff\xff",
    )
    params = bytes.fromhex("00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03")
    assert dec.parse_pmd_settings(params) == {0: [52], 1: [16], 2: [245, 500, 1000, 2000], 4: [3]}
    factor = dec.parse_pmd_settings(b"\x05\x01" + struct.pack("<f", 0.061))[5][0]
    assert factor == pytest.approx(0.061)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=40), st.integers(1, 9))
def test_pmd_delta_encoder_round_trip(rows, block):
    ints = np.array(rows)
    frame = dec.decode_pmd_frame(encode_pmd_delta(5, 1, 0x80, ints, block=block))
    np.testing.assert_array_equal(frame.values, ints)


@pytest.mark.parametrize(
    "data",
    [
        b"\x02\x00",
        bytes(10),
        bytes.fromhex("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 05 7B"),
        bytes([2]) + bytes(8) + b"\x01" + bytes(5),
        bytes([1]) + bytes(8) + b"\x00" + bytes(3),
    ],
)
def test_pmd_malformed_frames_raise(data):
    with pytest.raises(dec.FrameError):
        dec.decode_pmd_frame(data)


def test_thingy_raw_fixed_point_and_config():
    data = struct.pack("<9h", 0, -512, 1024, 32, 0, -64, 100, 200, 300)
    acc, gyro = dec.decode_thingy_raw(data)
    np.testing.assert_allclose(acc, [[0, -0.5 * G, G]])
    np.testing.assert_allclose(np.degrees(gyro), [[1, 0, -2]])
    default = bytes.fromhex("E8 03 F4 01 F4 01 0A 00 01")
    assert dec.thingy_config_with_rate(default, 100) == bytes.fromhex("E8 03 F4 01 F4 01 64 00 01")
    with pytest.raises(dec.FrameError):
        dec.decode_thingy_raw(data[:17])


def test_diy_frame_and_info_as_documented():
    info_bytes = bytes.fromhex("01 01 03 00 64 00 13 00") + struct.pack("<ff", 0.000122, 0.035)
    info = dec.decode_diy_info(info_bytes)
    assert (info.sensor_id, info.firmware, info.rate_hz, info.max_batch) == (1, 3, 100, 19)
    # version 1, gyro flag; 2 samples; seq 0xFFFF; t0 = 4294967000 µs; period 10000 µs
    frame_bytes = bytes.fromhex("11 02 FF FF D8 FE FF FF 10 27") + struct.pack(
        "<12h", 0, 0, 8197, 1000, -1000, 0, 4098, 0, 8197, 0, 0, 2000
    )
    frame = dec.decode_diy_frame(frame_bytes, info)
    assert (frame.seq, frame.t0_us, frame.period_us) == (0xFFFF, 4294967000, 10000)
    np.testing.assert_allclose(frame.acc[:, 2] / G, [8197 * 0.000122] * 2)
    np.testing.assert_allclose(np.degrees(frame.gyro[0]), [35.0, -35.0, 0.0], rtol=1e-6)
    with pytest.raises(dec.FrameError):
        dec.decode_diy_frame(frame_bytes[:-2], info)
    with pytest.raises(dec.FrameError):
        dec.decode_diy_frame(b"\x21" + frame_bytes[1:], info)  # version 2


# --- clock and loss (pure) ----------------------------------------------------------------------


def test_host_clock_follows_drift_on_the_lower_envelope():
    rng = np.random.default_rng(1)
    clock = HostClock(ClockSettings())
    drift, true_offset_s, min_latency_s = 100e-6, 50.0, 0.002
    out = []
    for k in range(600):  # 60 s of 10-sample notifications at 100 Hz
        device_s = (10 * k + np.arange(10)) * 0.01
        host_true = true_offset_s + device_s * (1 + drift)
        clock.observe(device_s[-1], host_true[-1] + min_latency_s + rng.exponential(0.02))
        out.append((clock.to_host(device_s), host_true))
    mapped = np.concatenate([m for m, _ in out])
    truth = np.concatenate([t for _, t in out])
    assert (np.diff(mapped) > 0).all()
    err = mapped - truth - min_latency_s
    # after 10 s, within 2.5 ms of true time + min latency (a bin's fastest of 20 packets is ~1 ms slow)
    assert np.abs(err[1000:]).max() < 2.5e-3 and np.median(np.abs(err[1000:])) < 1.2e-3
    assert clock.skew == pytest.approx(drift, abs=80e-6)  # bin minima scatter ~1 ms over a 30 s window


def test_loss_tracker_sequence_wrap_duplicates_late_and_gaps():
    tracker = LossTracker(0.01)
    frames = [(65534, 0), (65535, 1), (1, 3), (1, 3), (0, 2), (2, 4)]  # seq wraps; seq 0 lost then late
    kept = [tracker.accept(np.arange(10) * 0.01 + 0.1 * j, seq).sum() for seq, j in frames]
    assert kept == [10, 10, 10, 0, 0, 10]
    s = tracker.stats
    assert (s.dropped_packets, s.duplicates, s.out_of_order, s.gaps, s.dropped_samples) == (1, 1, 1, 1, 10)


def test_loss_tracker_without_sequence_uses_device_time():
    tracker = LossTracker(0.02)
    t = np.arange(5) * 0.02
    assert tracker.accept(t).all()
    assert not tracker.accept(t).any()  # a repeat
    assert tracker.accept(t + 0.06).sum() == 3  # overlapping frame: only the 3 new samples
    assert tracker.stats.duplicates == 1 and tracker.stats.gaps == 0


def test_sample_counter_turns_a_long_silence_into_a_gap():
    stats = StreamStats()
    clock = HostClock()
    counter = SampleCounter(0.01, clock, stats)
    arrival = 100.0
    for _ in range(50):
        arrival += 0.02
        d = counter.times(2, arrival)
        clock.observe(d[-1], arrival)
    arrival += 0.5 + 0.02  # 50 samples never arrived
    d = counter.times(2, arrival)
    assert d[0] == pytest.approx(1.5, abs=0.011) and stats.dropped_samples == 50 and stats.gaps == 1
