"""Malformed input: one clear sentence naming the file, the line or column, and what was expected.

Each case runs through the Python API (InputError and its text) and through `backcheck convert`
(exit code, the same sentence on stderr, no traceback, nothing written).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fixtures_importers import clock, generic_csv, phyphox_files, sensorlogger_files, write_export

from sensor.cli import main
from sensor.errors import EXIT_BAD_INPUT, EXIT_WOULD_OVERWRITE, InputError
from sensor.importers import load

T = clock(100.0, 10.0)


def _csv(path: Path, edit=None, **kw) -> Path:
    """A good generic CSV of the truth motion; `edit(lines)` changes its text lines."""
    generic_csv(path, T, **kw)
    if edit:
        lines = path.read_text().splitlines()
        edit(lines)
        path.write_text("\n".join(lines) + "\n")
    return path


def _set(line: int, column: int, value: str, sep: str = ","):
    def edit(lines):
        cells = lines[line - 1].split(sep)
        cells[column] = value
        lines[line - 1] = sep.join(cells)

    return edit


def _blank(first: int, count: int, column: int | None = None):
    def edit(lines):
        for i in range(first - 1, first - 1 + count):
            cells = lines[i].split(",")
            for j in range(1, 7) if column is None else [column]:
                cells[j] = ""
            lines[i] = ",".join(cells)

    return edit


def _zip_edit(files: dict, name: str, edit) -> dict:
    lines = files[name].splitlines()
    edit(lines)
    return {**files, name: "\n".join(lines) + "\n"}


def _sl(tmp, name=None, edit=None):
    files = sensorlogger_files(T, clock(100.0, 10.0, offset_s=0.003), "android")
    if name:
        files = _zip_edit(files, name, edit) if edit else {k: v for k, v in files.items() if k != name}
    return write_export(tmp / "rec.zip", files)


def _text(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _slow(lines):
    """Re-stamp the rows every 0.25 s: 4 Hz in s, 4 kHz in ms; no unit gives 10-2000 Hz."""
    lines[1:] = [",".join([f"{i * 0.25:.6f}", *r.split(",")[1:]]) for i, r in enumerate(lines[1:])]


def _scaled(acc_scale):
    return {"acc_scale": acc_scale}


# (case id, builder(tmp) -> path, extra CLI options, fragments the message must contain)
CASES = [
    (
        "empty file",
        lambda d: _text(d / "x.csv", ""),
        [],
        ["x.csv: the file is empty", "expected a header line and rows of numbers"],
    ),
    (
        "header only",
        lambda d: _text(d / "x.csv", "t,ax,ay,az\n"),
        [],
        ["x.csv: no data rows after the header on line 1"],
    ),
    (
        "missing column",
        lambda d: _csv(d / "x.csv", names=("t", "ax", "ay", "acc_q", "gx", "gy", "gz")),
        [],
        [
            "x.csv, line 1: no column for az",
            "expected a name such as az, acc_z",
            "columns are t, ax, ay, acc_q",
        ],
    ),
    (
        "two of three gyro columns",
        lambda d: _csv(d / "x.csv", names=("t", "ax", "ay", "az", "gx", "gy", "q")),
        [],
        ["x.csv, line 1: gyroscope column(s) gz missing", "give all three or none"],
    ),
    (
        "text in a number column",
        lambda d: _csv(d / "x.csv", _set(40, 2, "12.3abc")),
        [],
        ["x.csv, line 40, column 'ay': expected a number, got '12.3abc'"],
    ),
    (
        "text in the time column",
        lambda d: _csv(d / "x.csv", _set(7, 0, "later")),
        [],
        ["x.csv, line 7, column 't': expected a number, got 'later'"],
    ),
    (
        "ragged row",
        lambda d: _csv(d / "x.csv", _set(12, 3, "1.0,2.0")),
        [],
        ["x.csv, line 12: rows do not have the header's 7 columns"],
    ),
    (
        "ragged row after a preamble",  # (pandas counts the preamble's lines itself)
        lambda d: _csv(d / "x.csv", lambda lines: (_set(12, 3, "1.0,2.0")(lines),
                                                   lines.insert(0, "# exported by a logger"),
                                                   lines.insert(1, "# rate 100 Hz"))),
        [],
        ["x.csv, line 14: rows do not have the header's 7 columns"],
    ),
    (
        "text in a decimal-comma column",  # (named at its own line, not at the first decimal comma)
        lambda d: _csv(d / "x.csv", lambda lines: (lines.__setitem__(slice(None), [
            line.replace(",", ";").replace(".", ",") for line in lines]), _set(40, 2, "abc", ";")(lines))),
        [],
        ["x.csv, line 40, column 'ay': expected a number, got 'abc'"],
    ),
    (
        "long NaN run",
        lambda d: _csv(d / "x.csv", _blank(50, 6)),
        [],
        [
            "x.csv, lines 50-55: 6 rows in a row have missing values (first in column 'ax')",
            "at most 3 in a row are dropped as a gap",
        ],
    ),
    (
        "NaN column",
        lambda d: _csv(d / "x.csv", _blank(2, len(T), column=6)),
        [],
        ["x.csv, column 'gz': no numbers at all (expected one in every row)"],
    ),
    (
        "time going backwards",
        lambda d: _csv(d / "x.csv", _set(30, 0, "0.200000")),
        [],
        [
            "x.csv, line 30: time goes backwards (0.200000 s after 0.270000 s on line 29)",
            "expected increasing time",
        ],
    ),
    (
        "rate fits no time unit",
        lambda d: _csv(d / "x.csv", _slow),
        [],
        [
            "x.csv, column 't': a median time step of 0.25 gives a plausible rate (10-2000 Hz) "
            "in none of s, ms, us, ns",
            "--time-unit",
        ],
    ),
    (
        "stated unit gives 4 Hz",
        lambda d: _csv(d / "x.csv", _slow),
        ["--time-unit", "s"],
        ["x.csv, column 't': the median time step is 0.25 s, a sample rate of 4 Hz; expected 5-5000 Hz"],
    ),
    (
        "stated unit gives 10 kHz",
        lambda d: _csv(d / "x.csv"),
        ["--time-unit", "ms"],
        [
            "x.csv, column 't': the median time step is 1e-05 s, a sample rate of 1e+05 Hz; "
            "expected 5-5000 Hz",
            "is the time unit right?",
        ],
    ),
    (
        "acceleration 0.1",
        lambda d: _csv(d / "x.csv", **_scaled(0.01)),
        [],
        [
            "x.csv: the median |acceleration| is 0.1",
            "fits neither g (about 1) nor m/s² (about 9.8)",
            "--acc-unit",
        ],
    ),
    (
        "acceleration 500",
        lambda d: _csv(d / "x.csv", **_scaled(50.0)),
        [],
        ["x.csv: the median |acceleration| is 5", "fits neither g"],
    ),
    (
        "stated m/s² but data in g",
        lambda d: _csv(d / "x.csv", **_scaled(1 / 9.80665)),
        ["--acc-unit", "mps2"],
        ["x.csv: the median |acceleration| is 1.", "expected about 9.8 m/s² with gravity included"],
    ),
    (
        "stated rad/s but data in deg/s x 100",
        lambda d: _csv(d / "x.csv", gyro_scale=5729.6),
        ["--gyro-unit", "radps"],
        ["x.csv: 1% of the angular rates exceed", "is the gyroscope unit right?"],
    ),
    (
        "ISO text that is not a time",
        lambda d: _csv(d / "x.csv", _set(9, 0, "2024-05-31T25:99:00Z"), time_unit="iso"),
        [],
        ["x.csv, line 9, column 't': expected an ISO 8601 time", "got '2024-05-31T25:99:00Z'"],
    ),
    (
        "Sensor Logger file without x",
        lambda d: _sl(d, "Gyroscope.csv", lambda ls: ls.__setitem__(0, "time,seconds_elapsed,z,y,q")),
        [],
        ["rec.zip: Gyroscope.csv, line 1: no column 'x'", "time,seconds_elapsed,z,y,x"],
    ),
    (
        "Sensor Logger text in time",
        lambda d: _sl(
            d, "TotalAcceleration.csv", lambda ls: ls.__setitem__(3, "oops," + ls[3].split(",", 1)[1])
        ),
        [],
        ["rec.zip: TotalAcceleration.csv, line 4, column 'time': expected a number, got 'oops'"],
    ),
    (
        "Sensor Logger without acceleration",
        lambda d: write_export(
            d / "rec.zip", {"Gyroscope.csv": sensorlogger_files(T, T, "android")["Gyroscope.csv"]}
        ),
        [],
        ["rec.zip: no TotalAcceleration.csv, and not both Accelerometer.csv and Gravity.csv"],
    ),
    (
        "phyphox time going backwards",
        lambda d: write_export(
            d / "p.zip",
            _zip_edit(
                phyphox_files(T, None),
                "Raw Data.csv",
                lambda ls: ls.__setitem__(20, ls[20].replace("E-1", "E-2", 1)),
            ),
        ),
        [],
        ["p.zip: Raw Data.csv, line 21: time goes backwards"],
    ),
    (
        "phyphox without acceleration",
        lambda d: write_export(
            d / "p.zip", {k: v for k, v in phyphox_files(T, T).items() if k != "Accelerometer.csv"}
        ),
        [],
        ["p.zip: no 'Acceleration x (m/s^2)' columns in any export set"],
    ),
    ("not a zip", lambda d: _text(d / "p.zip", b"PK\x03\x04garbage"), [], ["p.zip: not a readable zip file"]),
    ("missing input", lambda d: d / "nothing.csv", [], ["nothing.csv: no such file or folder"]),
    (
        "bad --columns",
        lambda d: _csv(d / "x.csv"),
        ["--columns", "t=t,ax"],
        ["--columns: expected KEY=VALUE, got 'ax'"],
    ),
    (
        "unknown column role",
        lambda d: _csv(d / "x.csv"),
        ["--columns", "q=t"],
        ["--columns: unknown role 'q'"],
    ),
    (
        "column named by option absent",
        lambda d: _csv(d / "x.csv"),
        ["--columns", "ax=AccX"],
        ["x.csv, line 1: no column named 'AccX' (given for ax)"],
    ),
    (
        "unit option for a phyphox export",
        lambda d: write_export(d / "p.zip", phyphox_files(T, None)),
        ["--acc-unit", "g"],
        ["p.zip: --acc-unit does not apply to phyphox input (it applies to csv)"],
    ),
]


def _api_options(cli: list[str]) -> dict:
    opts = dict(zip(cli[::2], cli[1::2], strict=True))
    out = {}
    for key, value in opts.items():
        if key == "--columns":
            pairs = [p.split("=", 1) for p in value.split(",")]
            if any(len(p) != 2 for p in pairs):
                return {"cli_only": True}
            out["columns"] = dict(pairs)
        else:
            out[key[2:].replace("-", "_")] = value
    return out


@pytest.mark.parametrize(("build", "cli", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_api_and_cli(tmp_path, capsys, build, cli, fragments):
    path = build(tmp_path)
    options = _api_options(cli)
    if "cli_only" not in options:
        with pytest.raises(InputError) as err:
            load(path, **options)
        message = str(err.value)
        for fragment in fragments:
            assert fragment in message, message
        assert "\n" not in message
    out = tmp_path / "out.csv"
    code = main(["convert", str(path), str(out), *cli])
    captured = capsys.readouterr()
    assert code == EXIT_BAD_INPUT
    assert captured.err.startswith("backcheck convert: ")
    for fragment in fragments:
        assert fragment in captured.err, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()


def test_short_nan_run_is_dropped_as_a_gap_with_a_note(tmp_path):
    path = _csv(tmp_path / "x.csv", _blank(50, 3))
    rec = load(path)
    assert len(rec.samples) == len(T) - 3
    assert np.diff(rec.samples.t).max() == pytest.approx(0.04, abs=1e-6)
    assert any(
        "3 rows with missing values dropped (runs starting on lines 50)" in d for d in rec.meta.decisions
    )


def test_exact_duplicate_rows_are_dropped_with_a_note(tmp_path):
    path = _csv(tmp_path / "x.csv", lambda ls: ls.insert(20, ls[19]))
    rec = load(path)
    assert len(rec.samples) == len(T)
    assert any("1 exact duplicate rows dropped (first on line 21)" in d for d in rec.meta.decisions)


def test_repeated_stamps_with_different_values_are_respaced(tmp_path):
    def burst(lines):  # rows 30-33 (file lines 31-34) delivered at once, stamped with the last one
        stamp = lines[33].split(",")[0]
        for i in range(30, 33):
            lines[i] = ",".join([stamp, *lines[i].split(",")[1:]])

    rec = load(_csv(tmp_path / "x.csv", burst))
    assert len(rec.samples) == len(T)
    np.testing.assert_allclose(rec.samples.t, T - T[0], atol=1e-9)  # the burst lands back on its 10 ms grid
    assert any("3 samples shared a time stamp" in d and "line 31" in d for d in rec.meta.decisions)


def test_convert_never_overwrites_without_force(tmp_path, capsys):
    src = _csv(tmp_path / "x.csv")
    out = tmp_path / "out.csv"
    out.write_text("mine\n")
    assert main(["convert", str(src), str(out)]) == EXIT_WOULD_OVERWRITE
    assert "out.csv already exists; pass --force to overwrite it" in capsys.readouterr().err
    assert out.read_text() == "mine\n"
    gz = tmp_path / "out.csv.gz"
    gz.write_bytes(b"mine")
    assert main(["convert", str(src), str(gz)]) == EXIT_WOULD_OVERWRITE
    assert gz.read_bytes() == b"mine"
    assert main(["convert", str(src), str(out), "--force"]) == 0
    assert out.read_text().startswith("# backcheck-recording/1")


def test_convert_refuses_to_write_over_its_input(tmp_path, capsys):
    src = _csv(tmp_path / "x.csv")
    assert main(["convert", str(src), str(src), "--force"]) == EXIT_BAD_INPUT
    assert "OUT is the input itself" in capsys.readouterr().err
    assert src.read_text().startswith("t,ax")


def test_zip_with_nothing_usable(tmp_path):
    path = tmp_path / "e.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match=r"e.zip: no CSV files inside \(expected a Sensor Logger or phyphox"):
        load(path)


def test_excel_workbook_is_refused_with_the_way_out(tmp_path):
    path = tmp_path / "Acceleration with g.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InputError, match=r"g.xlsx: an Excel workbook, not CSV \(export the recording as CSV"):
        load(path)


def test_a_dropout_is_named_in_the_report(tmp_path, capsys):
    """20 s of data missing in the middle of the demo's second set: the report and the summary say where."""
    from sensor.recording import read_recording, write_recording

    demo = read_recording(Path(__file__).resolve().parents[1] / "recordings" / "demo_deadlift.csv")
    t = demo.samples.t
    keep = (t < 75.0) | (t >= 95.0)
    path = tmp_path / "dropout.csv"
    write_recording(path, type(demo)(type(demo.samples)(t[keep], demo.samples.acc[keep], demo.samples.gyro[keep]),
                                     demo.meta))
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--no-plots", "--no-history"]) == 0
    note = "Data is missing in 1 gap longer than 1 s (20.0 s at 1:15; a dropout of the sensor or its connection)"
    assert note in " ".join(json.loads((out / "report.json").read_text())["notes"])
    assert "Note: Data is missing in 1 gap" in capsys.readouterr().out
