"""Importers on the exports of other apps and boards, and on what operating systems and editors do to files:
each against the ground-truth motion of tests/fixtures_importers.py."""

from __future__ import annotations

import gzip
import json
import zipfile

import numpy as np
import pytest
from fixtures_importers import (
    T0_NS,
    G,
    clock,
    generic_csv,
    phyphox_files,
    sensorlogger_files,
    truth,
    write_export,
)

from analysis.samples import Samples
from sensor.cli import main
from sensor.errors import InputError
from sensor.importers import load
from sensor.recording import Recording, RecordingMeta, write_recording

T = clock(100.0, 20.0)


def _rows(t_s: np.ndarray, columns: list[np.ndarray], stamp, sep: str = ",") -> list[str]:
    values = np.column_stack(columns)
    return [sep.join([stamp(t), *(f"{v:.7g}" for v in row)]) for t, row in zip(t_s, values, strict=True)]


def _assert_truth(rec, t_s=T, gyro=True, acc_tol=1e-3, gyro_tol=1e-4):
    m = truth(t_s)
    np.testing.assert_allclose(rec.samples.t, t_s - t_s[0], atol=1e-6)
    np.testing.assert_allclose(rec.samples.acc, m.total, atol=acc_tol)
    if gyro:
        np.testing.assert_allclose(rec.samples.gyro, m.gyro, atol=gyro_tol)
    else:
        assert rec.samples.gyro is None and rec.meta.accelerometer_only


def test_sensorlog_ios_core_motion_columns(tmp_path):
    """SensorLog (iOS): Core Motion's names, acceleration in g with iOS's sign (-1 g on the upward axis), the
    gyroscope in rad/s, a logging time and the sensor's own clock since reboot (preferred)."""
    m = truth(T)
    header = ("loggingTime(txt),loggingSample(N),accelerometerTimestamp_sinceReboot(s),accelerometerAccelerationX(G),"
              "accelerometerAccelerationY(G),accelerometerAccelerationZ(G),gyroTimestamp_sinceReboot(s),"
              "gyroRotationX(rad/s),gyroRotationY(rad/s),gyroRotationZ(rad/s),motionRotationRateX(rad/s),"
              "motionRotationRateY(rad/s),motionRotationRateZ(rad/s)")
    lines = [header]
    for k, (t, acc, gyro) in enumerate(zip(T, -m.total / G, m.gyro, strict=True)):
        logged = np.datetime_as_string(np.datetime64(T0_NS + int(t * 1e9) + 3_000_000, "ns"), unit="ms")
        numbers = [62608.0 + t, *acc, 62608.0 + t, *gyro, *gyro]
        lines.append(",".join([logged + "+02:00", str(k), *(f"{v:.9f}" for v in numbers)]))
    path = tmp_path / "SensorLog.csv"
    path.write_text("\n".join(lines) + "\n")
    rec = load(path)
    assert "t=accelerometerTimestamp_sinceReboot(s)" in rec.meta.decisions[0]
    assert any("Core Motion" in d and "negated" in d for d in rec.meta.decisions)
    _assert_truth(rec, acc_tol=1e-6, gyro_tol=1e-8)


def _polar(t: np.ndarray, values: np.ndarray, unit: str) -> str:
    lines = [f"Phone timestamp;sensor timestamp [ns];X [{unit}];Y [{unit}];Z [{unit}]"]
    for t_s, row in zip(t, values, strict=True):
        phone = np.datetime_as_string(np.datetime64(T0_NS + int(t_s * 1e9), "ns"), unit="ms")
        sensor_ns = 770_000_000_000_000_000 + int(round(t_s * 1e9))  # (2024-05-26, in ns since 2000)
        lines.append(";".join([phone, str(sensor_ns), *(f"{v:.3f}" for v in row)]))
    return "\n".join(lines) + "\n"


def test_polar_sensor_logger_acc_and_gyro_files_merge(tmp_path):
    """Polar Sensor Logger writes one file per stream; a Verity Sense's _ACC.txt and _GYRO.txt (its own
    stamps, one clock) merge onto the accelerometer's time stamps; heart rate and the rest are left out."""
    t_acc, t_gyro = clock(52.0, 20.0), clock(52.0, 20.0, offset_s=0.007)
    stem = "Polar_Sense_B5A4F3D2_20240531_180837"
    files = {f"{stem}_ACC.txt": _polar(t_acc, truth(t_acc).total / G * 1000.0, "mg"),
             f"{stem}_GYRO.txt": _polar(t_gyro, np.degrees(truth(t_gyro).gyro), "dps"),
             f"{stem}_HR.txt": "Phone timestamp;HR [bpm]\n2024-05-31T18:08:37.000;80\n",
             # (its unit, gauss, written "[G]", reads as g: it was taken for a second accelerometer)
             f"{stem}_MAGN.txt": _polar(t_acc, np.full((t_acc.size, 3), 0.4), "G")}
    rec = load(write_export(tmp_path / "polar.zip", files))
    assert rec.meta.format == "sensor-files" and rec.meta.start_utc.startswith("2024-05-26T00:53:20.019")
    assert any(f"left out (neither an accelerometer nor a gyroscope, or a magnetometer): {stem}_HR.txt, "
               f"{stem}_MAGN.txt" in d for d in rec.meta.decisions)
    first = t_acc[t_acc >= t_gyro[0]][0]
    _assert_truth(rec, t_acc[t_acc >= first], acc_tol=1e-5, gyro_tol=5e-4)  # (interpolated over ~19 ms steps)


def test_folder_of_several_recordings_is_refused(tmp_path):
    t = clock(52.0, 5.0)
    files = {f"Polar_Sense_B5A4F3D2_2024053{k}_180837_ACC.txt": _polar(t, truth(t).total / G * 1000.0, "mg")
             for k in (0, 1)}
    with pytest.raises(InputError, match=r"holds 2 accelerometer files \(Polar_Sense_B5A4F3D2_20240530_180837_ACC"):
        load(write_export(tmp_path / "two", files, zipped=False))


def test_metabase_accelerometer_and_gyroscope_files_merge(tmp_path):
    """MetaWear's MetaBase: one CSV per sensor, Unix ms (`epoc (ms)`), g and °/s, in a folder."""
    m = truth(T)
    header = "epoc (ms),timestamp (+02:00),elapsed (s),x-axis ({}),y-axis ({}),z-axis ({})"
    stamp = lambda t: f"{T0_NS // 1_000_000 + int(round(t * 1e3))},2024-05-31T18.08.37.123,{t:.3f}"  # noqa: E731
    folder = tmp_path / "metabase"
    write_export(folder, {
        "MetaWear_2024-05-31T18.08.37.123_C8A1B2C3D4E5_Accelerometer.csv": "\n".join(
            [header.format("g", "g", "g"), *_rows(T, [m.total / G], stamp)]) + "\n",
        "MetaWear_2024-05-31T18.08.37.123_C8A1B2C3D4E5_Gyroscope.csv": "\n".join(
            [header.format("deg/s", "deg/s", "deg/s"), *_rows(T, [np.degrees(m.gyro)], stamp)]) + "\n",
    }, zipped=False)
    rec = load(folder)
    assert rec.meta.format == "sensor-files" and rec.meta.start_utc.startswith("2024-05-31T16:08:37.123")
    _assert_truth(rec, acc_tol=1e-5, gyro_tol=1e-6)


def test_polar_sensor_logger_acc_file(tmp_path):
    """Polar Sensor Logger's ACC file alone (an H10 has no gyroscope): `;`-separated, a phone time, the sensor's
    clock in ns since 2000, whole mG."""
    t = clock(52.0, 20.0)
    path = tmp_path / "Polar_H10_ABCD1234_20240531_180837_ACC.txt"
    path.write_text(_polar(t, np.round(truth(t).total / G * 1000.0), "mg"))
    rec = load(path)
    assert "t=sensor timestamp [ns], ax=X [mg]" in rec.meta.decisions[0]
    _assert_truth(rec, t, gyro=False, acc_tol=G / 1000.0)


def test_barbellimu_log(tmp_path):
    """BarbellIMU's raw log: µs since boot, mg, and °/s x 16 (`gx_dps16`)."""
    m = truth(T)
    lines = ["timestamp_us,ax_mg,ay_mg,az_mg,gx_dps16,gy_dps16,gz_dps16,seq,flags"]
    lines += [f"{row},{k % 256},3" for k, row in enumerate(_rows(
        T, [m.total / G * 1000.0, np.degrees(m.gyro) * 16.0], lambda t: str(123_456_789 + int(round(t * 1e6)))))]
    path = tmp_path / "imu_data_20240531_180837.csv"
    path.write_text("\n".join(lines) + "\n")
    _assert_truth(load(path), acc_tol=1e-4, gyro_tol=1e-6)


@pytest.mark.parametrize(("start", "span", "counter"), [
    (2**32 - 7_000_000, 2**32, "32-bit microsecond"),  # BarbellIMU, Arduino's micros(): 71.6 min after boot
    (2**16 - 9_000, 2**16, "16-bit millisecond"),
])
def test_a_device_clock_that_wraps_around_goes_on(tmp_path, start, span, counter):
    """A device counter starting over (a 32-bit µs one after 71.6 min: a long session from a board was refused as
    time going backwards) goes on across the wrap, with a note; a step back that is no wrap is still an error."""
    m = truth(T)
    unit = 1e6 if span == 2**32 else 1e3
    name = "timestamp_us" if span == 2**32 else "time_ms"
    lines = [f"{name},ax_mg,ay_mg,az_mg,gx_dps16,gy_dps16,gz_dps16"]
    lines += _rows(T, [m.total / G * 1000.0, np.degrees(m.gyro) * 16.0],
                   lambda t: str((start + int(round(t * unit))) % span))
    path = tmp_path / "imu.csv"
    path.write_text("\n".join(lines) + "\n")
    rec = load(path)
    _assert_truth(rec, acc_tol=1e-4, gyro_tol=1e-6 if span == 2**32 else 2e-5)
    assert any(f"a {counter} counter" in d and "wrapped around" in d for d in rec.meta.decisions)
    lines[len(lines) // 2 + 1 :] = [str(int(x.split(",", 1)[0]) - int(3 * unit)) + "," + x.split(",", 1)[1]
                                    for x in lines[len(lines) // 2 + 1 :]]  # 3 s back: no counter's span
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="time goes backwards"):
        load(path)


def test_metawear_metabase_accelerometer_file(tmp_path):
    """MetaBase's per-sensor CSV: `epoc (ms)`, a local time with dots, elapsed s, axes named `x-axis (g)`."""
    lines = ["epoc (ms),timestamp (+02:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)"]
    lines += _rows(T, [truth(T).total / G], lambda t: f"{T0_NS // 1_000_000 + int(round(t * 1e3))},"
                   f"2024-05-31T18.08.37.123,{t:.3f}")
    path = tmp_path / "MetaWear_2024-05-31T18.08.37.123_C8A1B2C3D4E5_Accelerometer.csv"
    path.write_text("\n".join(lines) + "\n")
    rec = load(path)
    assert rec.meta.start_utc.startswith("2024-05-31T16:08:37.123")
    _assert_truth(rec, gyro=False, acc_tol=1e-5)


def test_coarse_time_stamps_are_spread_evenly(tmp_path):
    """Whole-second ISO stamps at 100 Hz: every second is a burst of a hundred rows sharing a stamp; the first
    burst is spread like the others, not at the one-second step between stamps (the last, a part of a second,
    is spread over the second before its stamp)."""
    m = truth(T)
    stamp = lambda t: np.datetime_as_string(np.datetime64(T0_NS + int(t * 1e9), "ns"), unit="s")  # noqa: E731
    path = tmp_path / "coarse.csv"
    path.write_text("\n".join(["time,ax,ay,az,gx,gy,gz", *_rows(T, [m.total, m.gyro], stamp)]) + "\n")
    rec = load(path)
    last_burst = int((T + T0_NS % 10**9 / 1e9 >= 20.0).sum())
    np.testing.assert_allclose(np.diff(rec.samples.t)[:-last_burst], 0.01, atol=1e-9)
    assert rec.samples.duration_s == pytest.approx(20.0, abs=1.0)
    assert any("rad/s" in d and "turns 0.9" in d for d in rec.meta.decisions)  # (the unit fit on the even times)


def test_a_repeated_reading_in_a_burst_of_coarse_stamps_is_a_sample(tmp_path):
    """Whole-second stamps and readings quantised to 0.01 g and 1 °/s: a still sensor repeats its reading within a
    second's burst; those rows are samples, not a logger's duplicates (they were dropped: 20 s read as fewer rows,
    the rest re-spaced wider)."""
    m = truth(T)
    acc, gyro = np.round(m.total / G, 2) * G, np.radians(np.round(np.degrees(m.gyro)))
    acc[500:600], gyro[500:600] = acc[500], gyro[500]  # (a second held still)
    stamp = lambda t: np.datetime_as_string(np.datetime64(T0_NS + int(t * 1e9), "ns"), unit="s")  # noqa: E731
    path = tmp_path / "coarse.csv"
    path.write_text("\n".join(["time,ax,ay,az,gx,gy,gz", *_rows(T, [acc, gyro], stamp)]) + "\n")
    rec = load(path)
    assert len(rec.samples) == T.size and not any("duplicate" in d for d in rec.meta.decisions)


@pytest.mark.parametrize("every", [2, 5])
def test_a_gyroscope_at_a_lower_rate_in_the_same_columns_is_merged(tmp_path, every):
    """One CSV, the accelerometer at 100 Hz and the gyroscope's cells filled on every 2nd (5th) row only: each sensor
    at its own rate on the file's clock, the gyroscope interpolated onto every accelerometer row (the rows with empty
    cells were dropped as gaps: half the accelerometer's samples lost; with four empty rows in a row, refused)."""
    m = truth(T)
    lines = _rows(T, [m.total, m.gyro], lambda t: f"{t:.6f}")
    lines = [line if i % every == 0 else ",".join(line.split(",")[:4] + ["", "", ""]) for i, line in enumerate(lines)]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(["time,ax,ay,az,gx,gy,gz", *lines]) + "\n")
    rec = load(path)
    last = (T.size - 1) // every * every + 1  # (after the gyroscope's last row nothing is interpolated)
    _assert_truth(rec, T[:last], acc_tol=1e-5, gyro_tol=5e-4 * every)  # (linear between gyroscope rows)
    assert any("read as two streams on the file's clock" in d for d in rec.meta.decisions)


def test_macos_zip_litter_is_ignored(tmp_path):
    """A zip made by macOS's Finder: `__MACOSX/` and `._` resource forks beside the export's own files."""
    files = phyphox_files(T, T)
    files.update({f"__MACOSX/._{name}": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" for name in list(files)})
    files[".DS_Store"] = b"\x00\x00\x00\x01Bud1\x00"
    _assert_truth(load(write_export(tmp_path / "export.zip", files)), acc_tol=1e-7, gyro_tol=2e-4)


def test_windows_code_page_header(tmp_path):
    """Excel on Windows saves a CSV in cp1252: the header's ° and ² are not UTF-8."""
    m = truth(T)
    text = "\n".join(["t,ax [m/s²],ay [m/s²],az [m/s²],gx [°/s],gy [°/s],gz [°/s]",
                      *_rows(T, [m.total, np.degrees(m.gyro)], lambda t: f"{t:.6f}")]) + "\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("cp1252"))
    _assert_truth(load(path), acc_tol=1e-5, gyro_tol=1e-6)


def test_delimiter_ending_data_rows_only(tmp_path):
    """Serial logs (Arduino `Serial.print(x); Serial.print(",")`) end every data row, not the header, with
    the delimiter: the columns must not shift."""
    m = truth(T)
    rows = [row + "," for row in _rows(T, [m.total, m.gyro], lambda t: f"{t:.6f}")]
    path = tmp_path / "serial.csv"
    path.write_text("\n".join(["t,ax,ay,az,gx,gy,gz", *rows]) + "\n")
    _assert_truth(load(path), acc_tol=1e-5, gyro_tol=1e-6)


def test_sensorlogger_header_only_gyroscope_is_accelerometer_only(tmp_path):
    """A phone without a gyroscope writes Gyroscope.csv with its header and no rows."""
    files = sensorlogger_files(T, None, "android")
    files["Gyroscope.csv"] = "time,seconds_elapsed,z,y,x\n"
    rec = load(write_export(tmp_path / "a.zip", files))
    assert any("Gyroscope.csv has no rows" in d for d in rec.meta.decisions)
    _assert_truth(rec, gyro=False, acc_tol=1e-7)


def test_zip_of_two_sensorlogger_recordings_is_refused(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for folder in ("2024-05-31_16-08-37", "2024-06-01_09-00-00"):
            for name, text in sensorlogger_files(T, T, "android").items():
                zf.writestr(f"{folder}/{name}", text)
    with pytest.raises(InputError, match=r"two.zip: holds 2 Sensor Logger recordings \(in 2024-05-31_16-08-37, "):
        load(path)


def test_analyze_takes_the_import_options(tmp_path, capsys):
    """The importer's messages point at --columns and the unit options: `analyze` takes them as `convert` does."""
    m = truth(T)
    path = tmp_path / "log.csv"
    path.write_text("\n".join(["zeit,a1,a2,a3", *_rows(T, [m.total / G * 1000.0], lambda t: f"{t * 1e3:.0f}")]) + "\n")
    out = tmp_path / "out"
    args = ["analyze", str(path), "--out", str(out), "--no-plots", "--no-history", "--quiet"]
    assert main(args) == 3
    assert "no column for t (expected a name such as t, time or timestamp, or --columns t=NAME)" in (
        capsys.readouterr().err)
    assert main([*args, "--columns", "t=zeit,ax=a1,ay=a2,az=a3", "--acc-unit", "mg", "--time-unit", "ms"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["recording"]["accelerometer_only"] and report["recording"]["sample_rate_hz"] == pytest.approx(100.0)


@pytest.mark.parametrize(("scale", "unit"), [(180.0 / np.pi, "°/s"), (1.0, "rad/s")])
def test_gyroscope_unit_of_a_still_clip(tmp_path, scale, unit):
    """15 s standing still: too little rotation to fit against gravity. A bias of 0.5-0.8 °/s read as rad/s
    would be 30-45 °/s of turning the accelerometer does not show (it was taken for rad/s: 57x too large)."""
    rng = np.random.default_rng(3)
    t = clock(100.0, 15.0)
    bias = np.radians([0.5, -0.8, 0.6])
    gyro = (bias + rng.normal(0.0, np.radians(0.1), (t.size, 3))) * scale
    acc = np.array([-9.7, 0.9, 1.1]) + rng.normal(0.0, 0.02, (t.size, 3))
    path = tmp_path / "still.csv"
    path.write_text("\n".join(["t,ax,ay,az,gx,gy,gz", *_rows(t, [acc, gyro], lambda x: f"{x:.4f}")]) + "\n")
    rec = load(path)
    assert any(d.startswith(f"angular rate in {unit}") for d in rec.meta.decisions), rec.meta.decisions
    np.testing.assert_allclose(rec.samples.gyro.mean(axis=0), bias, atol=2e-3)


@pytest.mark.parametrize(("zipped", "quoted"), [(True, False), (False, False), (True, True)])
def test_one_csv_with_both_sensors_in_a_zip_or_folder_keeps_the_gyroscope(tmp_path, zipped, quoted):
    """A generic CSV zipped (or in a folder) on its own, accelerometer and gyroscope in one file: read as both
    (it was read as the accelerometer's file alone, the gyroscope dropped); with R's quoted header (`write.csv`) too
    (it went to the phyphox reader: "no 'Acceleration x (m/s^2)' columns")."""
    generic_csv(tmp_path / "session.csv", T)
    text = (tmp_path / "session.csv").read_text()
    if quoted:
        header, rest = text.split("\n", 1)
        text = ",".join(f'"{name}"' for name in header.split(",")) + "\n" + rest
    files = {"session.csv": text}
    rec = load(write_export(tmp_path / ("export.zip" if zipped else "export"), files, zipped=zipped, folder="s"))
    _assert_truth(rec, acc_tol=1e-5, gyro_tol=1e-6)


@pytest.mark.parametrize("name", ["rec.csv", "REC.CSV.GZ"])
def test_own_recording_saved_with_a_byte_order_mark_or_an_upper_case_gz(tmp_path, name):
    """backcheck's own recording after an editor saved it with a UTF-8 byte-order mark, or gzipped under an upper-case
    name: still read as backcheck's (its notes kept), not as a generic CSV."""
    generic_csv(tmp_path / "g.csv", T)
    rec = load(tmp_path / "g.csv")
    own = tmp_path / "own.csv"
    write_recording(own, Recording(rec.samples, RecordingMeta(format="backcheck", notes={"exercise": "rdl"})))
    data = b"\xef\xbb\xbf" + own.read_bytes()
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".GZ") else data)
    back = load(tmp_path / name)
    assert back.meta.format == "backcheck" and back.meta.notes == {"exercise": "rdl"}
    np.testing.assert_array_equal(back.samples.acc, load(own).samples.acc)


@pytest.mark.parametrize("scale", [0.6, 1.5])
def test_an_accelerometer_off_one_g_is_scaled_to_it(tmp_path, scale):
    """A board set to another range than its software assumes reads gravity as, say, 1.5 g at rest: the filter never
    found the lifter still (its test takes gravity as 1 g), and forward and back came out swapped. Scaled to read
    1 g at its median, with a note (this motion's own median is 1.03 g); within a tenth of 1 g, left as it is."""
    generic_csv(tmp_path / "off.csv", T, acc_scale=scale)
    rec = load(tmp_path / "off.csv")
    total = truth(T).total
    np.testing.assert_allclose(rec.samples.acc, total * (G / np.median(np.linalg.norm(total, axis=1))), rtol=1e-5)
    assert any(f"the accelerometer reads {1.0326 * scale:.2f} g at its median" in d for d in rec.meta.decisions)
    generic_csv(tmp_path / "near.csv", T, acc_scale=1.05)
    near = load(tmp_path / "near.csv")
    np.testing.assert_allclose(near.samples.acc, total * 1.05, rtol=1e-5)
    assert not any("at its median" in d for d in near.meta.decisions)


def test_frozen_readings_are_taken_as_missing(tmp_path):
    """A stalled sensor or app repeats its last reading: 5 s of it within a recording read as a lifter standing
    still in whatever pose it stalled. Every axis the same, sample after sample, for longer than `frozen_max_s`
    (1 s): the repeats are dropped (the first reading stays), with a note, and the analysis sees a gap; a shorter run
    (an app repeating a reading between two slower sensor updates) stays as it is; so does a coarse accelerometer
    without a gyroscope, still."""
    generic_csv(tmp_path / "g.csv", T)
    samples = load(tmp_path / "g.csv").samples
    acc, gyro = samples.acc.copy(), samples.gyro.copy()
    rate_hz = samples.median_rate_hz()
    stall = slice(int(2.0 * rate_hz), int(7.0 * rate_hz) + 1)  # 5 s of repeats after the reading at 2 s
    short = slice(int(8.0 * rate_hz), int(8.5 * rate_hz) + 1)
    for part in (stall, short):
        acc[part], gyro[part] = acc[part.start], gyro[part.start]
    path = tmp_path / "stalled.csv"
    write_recording(path, Recording(Samples(samples.t, acc, gyro), RecordingMeta(format="backcheck")))
    rec = load(path)
    dropped = np.ones(len(samples), dtype=bool)
    dropped[stall.start + 1 : stall.stop] = False
    np.testing.assert_array_equal(rec.samples.t, samples.t[dropped])
    np.testing.assert_allclose(rec.samples.acc, acc[dropped], rtol=1e-5)  # (as written: 6 digits)
    assert rec.meta.decisions == ["every axis read exactly the same, sample after sample, for 5.0 s from 0:02 "
                                  "(a stalled sensor or app): taken as missing data"]
    assert not any("exactly the same" in d for d in load(tmp_path / "g.csv").meta.decisions)
    # a coarse accelerometer alone repeats its reading while the lifter stands still: not a stall
    coarse = tmp_path / "coarse.csv"
    step = 0.0156 * G  # a 15.6 mg step; a still lifter's 2 mg of sway stays within one
    still = samples.acc.copy()
    still[stall] = np.round(still[stall.start] / step) * step + np.random.default_rng(1).normal(
        0.0, 0.002 * G, still[stall].shape)
    quantised = np.round(still / step) * step
    assert np.all(quantised[stall] == quantised[stall.start])
    write_recording(coarse, Recording(Samples(samples.t, quantised, None),
                                      RecordingMeta(format="backcheck", accelerometer_only=True)))
    assert len(load(coarse).samples) == len(samples)
