"""The table reader every CSV importer shares: a zip, folder or file of delimited text -> a DataFrame.

Separator (comma, tab, semicolon) and decimal comma are sniffed from the first lines, pandas' C
parser does the rest, and every message names the file, the line and the column.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensor.errors import InputError


@dataclass(frozen=True)
class Table:
    """A parsed CSV: a pandas DataFrame plus what is needed to name lines in messages."""

    frame: object  # pandas.DataFrame (pandas is imported lazily)
    where: str
    first_line: int  # file line of the frame's first row
    decimal: str = "."  # the numbers' decimal mark ("," in a semicolon- or tab-separated European export)

    def numbers(self, column: str) -> np.ndarray:
        """A column as float64 (empty cells NaN); text cells or an empty column are errors."""
        import pandas as pd

        col = self.frame[column]
        if col.isna().all():
            raise InputError(
                f"{self.where}, column '{column}': no numbers at all (expected one in every row)"
            )
        if col.dtype.kind in "if":
            return col.to_numpy(dtype=np.float64)
        text = col.astype(str).str.strip()
        # (pandas reads a column with one text cell as text, its decimal commas left in)
        values = pd.to_numeric(text.str.replace(",", ".", regex=False) if self.decimal == "," else col,
                               errors="coerce")
        bad = values.isna() & col.notna() & (text != "") & (text.str.lower() != "nan")
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise InputError(
                f"{self.where}, line {self.first_line + i}, column '{column}': expected a number, "
                f"got {col.iloc[i]!r}"
            )
        return values.to_numpy(dtype=np.float64)

    def lines(self) -> np.ndarray:
        return self.first_line + np.arange(len(self.frame))


def read_members(path: Path) -> tuple[list[str], Callable[[str], bytes]]:
    """Names ('/'-separated) of the files in a zip, a folder, or a single file, and a reader for them.
    What macOS adds when it zips or copies a folder (`__MACOSX/`, `._*` resource forks, `.DS_Store`)
    is left out."""
    if path.is_dir():
        names = sorted(str(p.relative_to(path)).replace(os.sep, "/") for p in path.rglob("*") if p.is_file())
        return [n for n in names if not _os_litter(n)], lambda name: (path / name).read_bytes()
    if zipfile.is_zipfile(path):
        zf = zipfile.ZipFile(path)
        return [n for n in zf.namelist() if not n.endswith("/") and not _os_litter(n)], zf.read
    return [path.name], lambda name: path.read_bytes()


def _os_litter(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._") or base in (".DS_Store", "Thumbs.db")


def _header(lines: list[str]) -> tuple[int, str, str]:
    """The header line's index (after blank and `#`/`@` preamble lines; len(lines) if none), the line, and
    its separator (the most frequent of tab, semicolon and comma)."""
    skip = 0
    while skip < len(lines) and (not lines[skip].strip() or lines[skip].lstrip()[:1] in "#@"):
        skip += 1
    header = lines[skip] if skip < len(lines) else ""
    return skip, header, max(("\t", ";", ","), key=header.count)


def header_names(raw: bytes) -> list[str]:
    """The column names of a delimited text table, read from its first bytes as `read_table` reads them."""
    _, header, sep = _header(raw[:4096].decode("utf-8-sig", errors="replace").splitlines())
    return [name.strip() for name in header.split(sep)]


def read_table(data: bytes | Path, where: str, line_offset: int = 0, allow_empty: bool = False) -> Table:
    """Read a delimited text table (comma, tab or semicolon; decimal point or comma; .gz allowed).

    line_offset: lines before `data` in its file (for messages about part of a file); allow_empty: a header
    without rows gives an empty table (else it is an error).
    """
    import pandas as pd

    raw = data.read_bytes() if isinstance(data, Path) else data
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise InputError(f"{where}: not a readable gzip file ({err})") from None
    encoding = "utf-8-sig"
    try:
        head = raw[:65536].decode(encoding)
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in its code page: a header's ° or ² is then not UTF-8
        encoding = "cp1252"
        if b"\x00" in raw[:65536]:
            raise InputError(f"{where}: not a text file (expected comma-separated values in UTF-8)") from None
        head = raw[:65536].decode(encoding, errors="replace")
    lines = head.splitlines()
    skip, header, sep = _header(lines)
    if skip >= len(lines):
        raise InputError(f"{where}: the file is empty (expected a header line and rows of numbers)")
    if header.count(sep) == 0:
        raise InputError(
            f"{where}, line {line_offset + skip + 1}: expected a header of column names separated by commas, "
            f"tabs or semicolons, got {header[:60]!r}"
        )
    sample = "\n".join(lines[skip + 1 : skip + 20])
    decimal = "," if sep != "," and re.search(r"\d,\d", sample) else "."
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            sep=sep,
            decimal=decimal,
            skiprows=skip,
            skip_blank_lines=False,
            engine="c",
            encoding=encoding,
            encoding_errors="replace",
            index_col=False,  # (a delimiter at the end of data rows only must not shift the columns)
        )
    except pd.errors.ParserError as err:
        m = re.search(r"line (\d+)", str(err))
        line = f", line {int(m.group(1)) + line_offset}" if m else ""  # (pandas counts the preamble)
        raise InputError(
            f"{where}{line}: rows do not have the header's {header.count(sep) + 1} columns"
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    # a blank line at the end is not data
    while len(frame) and frame.iloc[-1].isna().all():
        frame = frame.iloc[:-1]
    if frame.empty and not allow_empty:
        raise InputError(f"{where}: no data rows after the header on line {line_offset + skip + 1}")
    return Table(frame, where, line_offset + skip + 2, decimal)
