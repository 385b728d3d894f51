"""Importers against ground truth: files written the way the apps write them (tests/fixtures_importers.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fixtures_importers import (
    EXPERIMENT,
    T0_NS,
    clock,
    generic_csv,
    phyphox_files,
    phyphox_minimal,
    sensorlogger_files,
    truth,
    write_export,
)

from sensor.cli import main
from sensor.importers import FORMATS, detect_format, load
from sensor.recording import read_recording

DATA = Path(__file__).resolve().parents[2] / "shared/data/squat5_lowback"
T_ACC = clock(100.0, 20.0, jitter_s=0.0015, seed=1)
T_GYRO = clock(99.5, 20.0, offset_s=0.004, jitter_s=0.0015, seed=2)  # own clock: offset, drift, jitter
# linear interpolation of the gyroscope over one ~10 ms step of this motion
GYRO_TOL_RADPS = 2e-4


def _assert_truth(rec, t_offset_s: float = 0.0, acc_tol: float = 1e-7, gyro_tol: float = GYRO_TOL_RADPS):
    s = rec.samples
    m = truth(s.t + t_offset_s)
    np.testing.assert_allclose(s.acc, m.total, atol=acc_tol)
    if s.gyro is not None:
        np.testing.assert_allclose(s.gyro, m.gyro, atol=gyro_tol)


# --- Sensor Logger -------------------------------------------------------------------------------


@pytest.mark.parametrize("zipped", [True, False])
def test_sensorlogger_android_matches_truth(tmp_path, zipped):
    files = sensorlogger_files(T_ACC, T_GYRO, "android")
    path = write_export(
        tmp_path / ("rec.zip" if zipped else "rec"), files, zipped, folder="" if zipped else "2024"
    )
    if not zipped:
        path.mkdir(exist_ok=True)
    rec = load(path)
    assert rec.meta.format == "sensor-logger-android"
    assert rec.meta.device == "Pixel 8"
    assert rec.meta.start_utc.startswith("2024-05-31T16:08:37")
    # t = 0 is the first accelerometer sample inside the gyroscope's span
    first = T_ACC[T_ACC >= T_GYRO[0]][0]
    _assert_truth(rec, t_offset_s=first)
    assert len(rec.samples) == int(((T_ACC >= T_GYRO[0]) & (T_ACC <= T_GYRO[-1])).sum())
    assert any("own clock" in d for d in rec.meta.decisions)


def test_ios_and_android_exports_of_the_same_motion_give_the_same_samples(tmp_path):
    android = load(write_export(tmp_path / "a.zip", sensorlogger_files(T_ACC, T_GYRO, "android")))
    ios = load(write_export(tmp_path / "i.zip", sensorlogger_files(T_ACC, T_GYRO, "ios")))
    assert ios.meta.format == "sensor-logger-ios"
    np.testing.assert_allclose(ios.samples.t, android.samples.t, atol=1e-12)
    np.testing.assert_allclose(ios.samples.acc, android.samples.acc, atol=1e-9)
    np.testing.assert_allclose(ios.samples.gyro, android.samples.gyro, atol=1e-12)
    assert any("standardisation=" in d for d in ios.meta.decisions)
    assert any("signs flipped" in d for d in ios.meta.decisions)
    assert not any("signs flipped" in d for d in android.meta.decisions)


@pytest.mark.parametrize(
    ("standardised", "metadata", "uncalibrated", "expect"),
    [
        (True, True, False, "standardisation=true"),
        (False, False, False, "app's default"),
        (True, False, True, "at the median (m/s²)"),
        (False, False, True, "at the median (g)"),
    ],
)
def test_ios_sign_convention_decided_and_explained(tmp_path, standardised, metadata, uncalibrated, expect):
    files = sensorlogger_files(T_ACC, T_GYRO, "ios", standardised, metadata, uncalibrated)
    rec = load(write_export(tmp_path / "i.zip", files))
    first = T_ACC[T_ACC >= T_GYRO[0]][0]
    _assert_truth(rec, t_offset_s=first)  # right sign in every case
    assert any(expect in d for d in rec.meta.decisions), rec.meta.decisions
    assert any("gravity direction turns as the gyroscope says" in d for d in rec.meta.decisions)


def test_ios_standardisation_option_overrides_metadata(tmp_path):
    files = sensorlogger_files(T_ACC, T_GYRO, "ios", standardised=True, metadata=False)
    wrong = load(write_export(tmp_path / "i.zip", files))  # assumed the default: flipped
    right = load(tmp_path / "i.zip", ios_standardised=True)
    first = T_ACC[T_ACC >= T_GYRO[0]][0]
    _assert_truth(right, t_offset_s=first)
    np.testing.assert_allclose(wrong.samples.acc, -right.samples.acc)
    assert any("stated by option" in d for d in right.meta.decisions)


def test_ios_gravity_on_its_own_clock_is_interpolated(tmp_path):
    t_grav = clock(100.0, 20.0, offset_s=0.002)
    files = sensorlogger_files(T_ACC, T_GYRO, "ios", t_gravity=t_grav)
    rec = load(write_export(tmp_path / "i.zip", files))
    first = T_ACC[(T_ACC >= T_GYRO[0]) & (T_ACC >= t_grav[0])][0]
    _assert_truth(rec, t_offset_s=first, acc_tol=2e-3)  # gravity interpolated over 10 ms steps
    assert any("Gravity.csv interpolated" in d for d in rec.meta.decisions)


def test_gyroscope_dropout_stays_a_gap(tmp_path):
    keep = (T_GYRO < 8.0) | (T_GYRO > 8.5)  # a 0.5 s dropout: 50 periods, far beyond 3
    files = sensorlogger_files(T_ACC, T_GYRO[keep], "android")
    rec = load(write_export(tmp_path / "a.zip", files))
    first = T_ACC[T_ACC >= T_GYRO[0]][0]
    t_abs = rec.samples.t + first
    gap_lo, gap_hi = T_GYRO[keep][T_GYRO[keep] < 8.0][-1], T_GYRO[keep][T_GYRO[keep] > 8.5][0]
    assert not ((t_abs > gap_lo + 1e-9) & (t_abs < gap_hi - 1e-9)).any()  # nothing invented inside
    expected = (T_ACC >= T_GYRO[0]) & (T_ACC <= T_GYRO[-1]) & ~((T_ACC > gap_lo) & (T_ACC < gap_hi))
    assert len(rec.samples) == int(expected.sum())
    _assert_truth(rec, t_offset_s=first)
    assert any("gaps longer than 3 periods" in d for d in rec.meta.decisions)


def test_short_gyroscope_dropout_is_interpolated(tmp_path):
    keep = np.ones(len(T_GYRO), bool)
    keep[500] = False  # one missing sample: a 2-period step, bridged
    rec = load(write_export(tmp_path / "a.zip", sensorlogger_files(T_ACC, T_GYRO[keep], "android")))
    first = T_ACC[T_ACC >= T_GYRO[0]][0]
    assert len(rec.samples) == int(((T_ACC >= T_GYRO[0]) & (T_ACC <= T_GYRO[-1])).sum())
    _assert_truth(rec, t_offset_s=first, gyro_tol=1e-3)


def test_sensorlogger_without_gyroscope_is_accelerometer_only(tmp_path):
    rec = load(write_export(tmp_path / "a.zip", sensorlogger_files(T_ACC, None, "android")))
    assert rec.samples.gyro is None and rec.meta.accelerometer_only
    _assert_truth(rec, t_offset_s=T_ACC[0])


# --- phyphox -------------------------------------------------------------------------------------


def test_experiment_file_records_acc_and_gyro_with_the_buffers_the_importer_reads():
    root = ET.parse(EXPERIMENT).getroot()
    buffers = [c.text for c in root.find("data-containers")]
    assert buffers == ["acc_time", "accX", "accY", "accZ", "gyr_time", "gyrX", "gyrY", "gyrZ"]
    sensors = {s.get("type"): {o.get("component"): o.text for o in s} for s in root.find("input")}
    assert sensors["accelerometer"] == {"x": "accX", "y": "accY", "z": "accZ", "t": "acc_time"}
    assert sensors["gyroscope"] == {"x": "gyrX", "y": "gyrY", "z": "gyrZ", "t": "gyr_time"}
    sets = {s.get("name"): [(d.get("name"), d.text) for d in s] for s in root.find("export")}
    assert sets["Accelerometer"][0] == ("Time (s)", "acc_time")
    assert sets["Gyroscope"][1] == ("Gyroscope x (rad/s)", "gyrX")
    assert sets["Accelerometer"][3] == ("Acceleration z (m/s^2)", "accZ")


@pytest.mark.parametrize(("sep", "decimal"), [(",", "."), ("\t", "."), (";", "."), ("\t", ","), (";", ",")])
def test_phyphox_backcheck_experiment_all_csv_variants(tmp_path, sep, decimal):
    path = write_export(tmp_path / "p.zip", phyphox_files(T_ACC, T_GYRO, sep, decimal))
    assert detect_format(path) == "phyphox"
    rec = load(path)
    assert rec.meta.format == "phyphox" and not rec.meta.accelerometer_only
    # t = 0 is the first sample (inside the gyroscope's span), start_utc its wall-clock time: START + its
    # experiment time; phyphox writes 10 significant digits
    first = T_ACC[T_ACC >= T_GYRO[0]][0]
    assert rec.samples.t[0] == 0.0
    assert rec.meta.start_utc == (datetime(2024, 5, 31, 16, 8, 37, 250000, UTC) + timedelta(seconds=first)).isoformat()
    assert rec.meta.device == "phyphox on Google Pixel 8"
    _assert_truth(rec, t_offset_s=first, acc_tol=1e-7, gyro_tol=GYRO_TOL_RADPS)


def test_phyphox_acceleration_with_g_is_accelerometer_only(tmp_path):
    rec = load(write_export(tmp_path / "p.zip", phyphox_files(T_ACC, None)))
    assert rec.samples.gyro is None and rec.meta.accelerometer_only
    assert len(rec.samples) == len(T_ACC)
    _assert_truth(rec, t_offset_s=T_ACC[0], acc_tol=1e-7)
    assert any("reduced mode" in d for d in rec.meta.decisions)


@pytest.mark.parametrize(("sep", "decimal"), [(",", "."), (";", ",")])
def test_phyphox_minimalistic_bare_csv(tmp_path, sep, decimal):
    (tmp_path / "Raw Data.csv").write_text(phyphox_minimal(T_ACC, sep, decimal))
    assert detect_format(tmp_path / "Raw Data.csv") == "phyphox"
    rec = load(tmp_path / "Raw Data.csv")
    assert rec.meta.start_utc is None and rec.meta.accelerometer_only
    _assert_truth(rec, t_offset_s=T_ACC[0], acc_tol=1e-7)


def test_phyphox_pause_comes_back_as_a_gap(tmp_path):
    rec = load(write_export(tmp_path / "p.zip", phyphox_files(T_ACC, T_GYRO, pauses=[(6.0, 9.0)])))
    steps = np.diff(rec.samples.t)
    assert steps.max() == pytest.approx(3.0, abs=0.03)
    _assert_truth(rec, t_offset_s=T_ACC[T_ACC >= T_GYRO[0]][0], acc_tol=1e-7)  # wall-clock seconds again
    assert any("paused 1 time" in d for d in rec.meta.decisions)


def test_phyphox_unzipped_folder(tmp_path):
    folder = tmp_path / "export"
    write_export(folder, phyphox_files(T_ACC, T_GYRO), zipped=False)
    rec = load(folder)
    assert not rec.meta.accelerometer_only
    _assert_truth(rec, t_offset_s=T_ACC[T_ACC >= T_GYRO[0]][0], acc_tol=1e-7)


# --- generic CSV ---------------------------------------------------------------------------------

T_UNIFORM = clock(100.0, 20.0)


@pytest.mark.parametrize(
    ("names", "acc_scale", "gyro_scale", "time_unit", "kw", "expect"),
    [
        (("t", "ax", "ay", "az", "gx", "gy", "gz"), 1.0, 1.0, "s", {}, ["m/s²", "rad/s", "in s"]),
        (
            ("time_ms", "AccX", "AccY", "AccZ", "GyrX", "GyrY", "GyrZ"),
            1 / 9.80665,
            180 / np.pi,
            "ms",
            {},
            ["in g", "°/s", "ms"],
        ),
        (
            ("timestamp", "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"),
            1.0,
            180 / np.pi,
            "ns",
            {"epoch": True},
            ["°/s", "in ns"],
        ),
        (
            ("Time", "accelerometer_x", "accelerometer_y", "accelerometer_z"),
            1 / 9.80665,
            1.0,
            "us",
            {},
            ["in g", "accelerometer-only"],
        ),
        (
            ("time", "ax (g)", "ay (g)", "az (g)", "gx (deg/s)", "gy (deg/s)", "gz (deg/s)"),
            1 / 9.80665,
            180 / np.pi,
            "iso",
            {},
            ["ISO 8601"],
        ),
        (
            ("t_s", "ax_mps2", "ay_mps2", "az_mps2", "gx_radps", "gy_radps", "gz_radps"),
            1.0,
            1.0,
            "s",
            {"sep": ";", "decimal": ","},
            [],
        ),
        (("t", "ax", "ay", "az", "gx", "gy", "gz"), 1.0, 1.0, "s", {"sep": "\t"}, []),
    ],
)
def test_generic_csv_names_units_and_time(tmp_path, names, acc_scale, gyro_scale, time_unit, kw, expect):
    path = tmp_path / "x.csv"
    generic_csv(path, T_UNIFORM, names, acc_scale, gyro_scale, time_unit, **kw)
    rec = load(path)
    assert rec.meta.format == "generic-csv"
    assert rec.meta.sample_rate_hz == pytest.approx(100.0, rel=1e-6)
    np.testing.assert_allclose(rec.samples.acc, truth(T_UNIFORM).total, rtol=1e-6, atol=1e-5)
    if len(names) > 4:
        np.testing.assert_allclose(rec.samples.gyro, truth(T_UNIFORM).gyro, rtol=1e-6, atol=1e-6)
    else:
        assert rec.meta.accelerometer_only
    text = " | ".join(rec.meta.decisions)
    for word in expect:
        assert word in text, text
    if kw.get("epoch") or time_unit == "iso":
        assert rec.meta.start_utc.startswith("2024-05-31T16:08:37.123")


def test_generic_gzip_and_stated_options_override_inference(tmp_path):
    path = tmp_path / "x.csv.gz"
    generic_csv(path, T_UNIFORM, ("Zeit", "A1", "A2", "A3", "W1", "W2", "W3"), 1.0, 180 / np.pi, "ms")
    rec = load(
        path,
        columns={"t": "Zeit", "ax": "A1", "ay": "A2", "az": "A3", "gx": "W1", "gy": "W2", "gz": "W3"},
        acc_unit="mps2",
        gyro_unit="dps",
        time_unit="ms",
    )
    np.testing.assert_allclose(rec.samples.gyro, truth(T_UNIFORM).gyro, rtol=1e-6, atol=1e-6)
    assert not any("inferred" in d for d in rec.meta.decisions)


def test_generic_ten_minute_file_loads(tmp_path):
    t = clock(100.0, 600.0, jitter_s=0.001)
    path = tmp_path / "long.csv"
    generic_csv(path, t)
    rec = load(path)
    assert len(rec.samples) == 60000


@pytest.mark.skipif(not DATA.exists(), reason="shared data not present")
def test_all_squat5_recordings_load_through_the_generic_path():
    files = sorted(DATA.glob("squat5_*.csv.gz"))
    assert len(files) == 30
    for path in files:
        assert detect_format(path) == "csv"
        rec = load(path)
        assert 100.0 <= rec.meta.sample_rate_hz <= 111.2, path.name
        text = " | ".join(rec.meta.decisions)
        assert "acceleration in m/s² (inferred" in text, path.name
        assert "angular rate in rad/s (inferred: the gravity direction turns" in text, path.name
        assert 9.0 < np.median(np.linalg.norm(rec.samples.acc, axis=1)) < 10.5


# --- detection and convert -----------------------------------------------------------------------


def test_formats_are_described():
    assert set(FORMATS) == {"backcheck", "sensorlogger", "phyphox", "csv", "files"}


def test_convert_writes_a_recording_and_prints_decisions(tmp_path, capsys):
    src = write_export(tmp_path / "i.zip", sensorlogger_files(T_ACC, T_GYRO, "ios"))
    out = tmp_path / "out.csv"
    assert main(["convert", str(src), str(out), "--note", "exercise=deadlift", "--placement", "L4"]) == 0
    printed = capsys.readouterr().out
    assert "read " in printed and "sensor-logger-ios" in printed
    assert "signs flipped" in printed and f"wrote {out}" in printed
    back = read_recording(out)
    assert detect_format(out) == "backcheck"
    assert back.meta.notes["exercise"] == "deadlift" and back.meta.placement == "L4"
    assert any("signs flipped" in d for d in back.meta.notes["import_decisions"])
    orig = load(src)
    np.testing.assert_allclose(back.samples.t, orig.samples.t, atol=1e-6)
    np.testing.assert_allclose(back.samples.acc, orig.samples.acc, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(back.samples.gyro, orig.samples.gyro, rtol=1e-5, atol=1e-6)
    assert back.meta.start_utc == orig.meta.start_utc and back.meta.device == "iPhone 15"
    assert T0_NS  # the fixture's epoch is what start_utc reflects
    # convert accepts its own output as input, and a gzip output
    assert main(["convert", str(out), str(tmp_path / "again.csv.gz")]) == 0
    again = load(tmp_path / "again.csv.gz")
    np.testing.assert_allclose(again.samples.acc, back.samples.acc)


def test_convert_accelerometer_only_phyphox(tmp_path, capsys):
    src = write_export(tmp_path / "p.zip", phyphox_files(T_ACC, None))
    out = tmp_path / "out.csv"
    assert main(["convert", str(src), str(out)]) == 0
    assert "accelerometer only" in capsys.readouterr().out
    back = read_recording(out)
    assert back.meta.accelerometer_only and back.samples.gyro is None
