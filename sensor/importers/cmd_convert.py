"""`backcheck convert IN OUT`: write any supported input as a backcheck recording.

Prints what was read and every decision the importer took (inferred units, sign conventions,
dropped rows, gaps). OUT is never overwritten without --force; OUT may end in .csv or .csv.gz.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import tempfile
from pathlib import Path

from sensor.errors import InputError, OverwriteError
from sensor.outputs import prepare_file, writing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from sensor.importers import FORMATS

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "formats:\n" + "\n".join(f"  {k:13s}{v}" for k, v in FORMATS.items())
    parser.add_argument("input", metavar="IN", help="file or folder to read")
    parser.add_argument("output", metavar="OUT", help="backcheck recording to write (.csv or .csv.gz)")
    parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    add_import_arguments(parser)
    parser.add_argument("--device", help="device name to store (default: from the input when known)")
    parser.add_argument("--placement", help="where the sensor was worn, e.g. 'L4, face out'")
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="free-form note to store, e.g. exercise=deadlift (repeatable)",
    )


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that tell an importer what it cannot infer (shared by convert and analyze)."""
    from sensor.importers import FORMATS

    parser.add_argument(
        "--format", default="auto", choices=["auto", *FORMATS], help="input format (default: detect)"
    )
    parser.add_argument(
        "--columns",
        metavar="ROLE=NAME,...",
        help="generic CSV: map roles t,ax,ay,az,gx,gy,gz to header names, e.g. t=time,ax=AccX",
    )
    parser.add_argument(
        "--acc-unit", choices=["g", "mg", "mps2"], help="generic CSV: acceleration unit (default: infer)"
    )
    parser.add_argument(
        "--gyro-unit",
        choices=["dps", "dps16", "radps"],
        help="generic CSV: angular rate unit (dps16: °/s x 16, BarbellIMU's; default: infer)",
    )
    parser.add_argument(
        "--time-unit", choices=["s", "ms", "us", "ns", "iso"], help="generic CSV: time unit (default: infer)"
    )
    parser.add_argument(
        "--ios-standardised",
        choices=["yes", "no"],
        help="Sensor Logger iOS: was 'Standardise Units & Frames' on? (default: Metadata.csv, else no)",
    )


def import_options(args: argparse.Namespace) -> dict[str, object]:
    """`sensor.importers.load`'s keyword arguments from the options of `add_import_arguments`."""
    options: dict[str, object] = {"format": args.format}
    if args.columns:
        options["columns"] = _pairs(args.columns, "--columns")
    for key in ("acc_unit", "gyro_unit", "time_unit"):
        if getattr(args, key):
            options[key] = getattr(args, key)
    if args.ios_standardised:
        options["ios_standardised"] = args.ios_standardised == "yes"
    return options


def _pair(item: str, option: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise InputError(f"{option}: expected KEY=VALUE, got {item!r}")
    return key.strip(), value.strip()


def _pairs(text: str, option: str) -> dict[str, str]:
    return dict(_pair(p.strip(), option) for p in text.split(",") if p.strip())


def run(args: argparse.Namespace) -> int:
    from sensor.importers import load
    from sensor.recording import write_recording

    src, out = Path(args.input), Path(args.output)
    if out.exists() and src.exists() and out.resolve() == src.resolve():
        raise InputError(f"{out}: OUT is the input itself; choose another name")
    prepare_file(out, args.force, (".csv", ".csv.gz"))
    rec = load(src, **import_options(args))
    meta, samples = rec.meta, rec.samples
    meta.device = args.device or meta.device
    meta.placement = args.placement or meta.placement
    meta.notes.update(_pair(note, "--note") for note in args.note)
    meta.notes.setdefault("imported_from", f"{src.name} ({meta.format})")
    if meta.decisions:
        meta.notes["import_decisions"] = list(meta.decisions)
    gyro = "accelerometer + gyroscope" if samples.has_gyro else "accelerometer only"
    print(
        f"read {src} as {meta.format}: {len(samples)} samples, {samples.duration_s:.1f} s, "
        f"{samples.median_rate_hz():.1f} Hz, {gyro}"
    )
    for line in meta.decisions:
        print(f"  - {line}")
    with writing(out):
        _write(out, rec, args.force, write_recording)
    print(f"wrote {out}")
    return 0


def _write(out: Path, rec, force: bool, write_recording) -> None:
    if not out.name.lower().endswith(".gz"):
        write_recording(out, rec, force=force)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".csv", dir=out.parent)
    os.close(fd)
    try:
        write_recording(tmp, rec, force=True)
        with open(tmp, "rb") as plain, gzip.open(out, "wb" if force else "xb") as packed:
            shutil.copyfileobj(plain, packed)
    except FileExistsError:
        raise OverwriteError(out) from None
    finally:
        os.unlink(tmp)
