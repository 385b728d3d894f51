"""Where the commands write: folders made (or refused) before the work starts, nothing of the user's written
over without --force, and every failure to write one sentence naming the path (`UserError`, exit 3)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sensor.errors import OverwriteError, UserError

ANALYSIS_FILES = ("report.json", "trace.csv", "overview.png", "report.html")  # and set-N.png


def prepare_folder(out: Path) -> None:
    """Create the folder `out` (and its parents), or say in one sentence why it cannot be."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder (expected a folder to write the outputs into)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{out}: cannot create this folder ({err.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"{out}: cannot write into this folder (permission denied)")


def analysis_files(out: Path) -> list[Path]:
    """The files of an analysis already in the folder `out` (report.json, trace.csv, the plots, report.html)."""
    if not out.is_dir():
        return []
    return [p for p in (out / name for name in ANALYSIS_FILES) if p.exists()] + sorted(out.glob("set-*.png"))


def prepare_analysis_folder(out: Path, force: bool) -> None:
    """Make `out` ready for an analysis's files: refused while it holds one of them and force is off; with
    force the old ones go (a shorter session must not leave the last one's set plots behind)."""
    existing = analysis_files(out)
    if existing and not force:
        raise OverwriteError(existing[0])
    prepare_folder(out)
    for path in existing:
        with writing(path):
            path.unlink()


def prepare_file(out: Path, force: bool, suffixes: tuple[str, ...] = ()) -> None:
    """Make the file name `out` ready to write: ending in one of `suffixes` (when given), not a folder, not
    existing unless force, its folder created."""
    if suffixes and not out.name.lower().endswith(suffixes):
        raise UserError(f"{out}: expected a file name ending in {' or '.join(suffixes)}")
    if out.is_dir():
        raise UserError(f"{out}: is a folder (expected the name of a file to write)")
    if out.exists() and not force:
        raise OverwriteError(out)
    prepare_folder(out.parent)


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an OSError while writing `path` (a full disk, a file in the way) into one sentence."""
    try:
        yield
    except OSError as err:
        raise UserError(f"{err.filename or path}: cannot be written ({err.strerror or err})") from None
