"""`backcheck report DIR_OR_REPORT_JSON [--out DIR] [--open]`: the HTML report and plots of an analysis.

Reads report.json and trace.csv (as written by `backcheck analyze --out DIR`) and writes report.html,
overview.png and set-N.png into --out (default: the analysis directory).
"""

from __future__ import annotations

import argparse
import json
import webbrowser
from pathlib import Path

from analysis.report import SessionReport, report_from_dict
from analysis.trace import Trace
from sensor.cmd_analyze import add_jobs_argument
from sensor.errors import InputError
from sensor.outputs import prepare_folder, writing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="DIR_OR_REPORT_JSON",
                        help="an analysis directory (with report.json and trace.csv) or a report.json")
    parser.add_argument("--out", metavar="DIR", help="where to write report.html and the plots "
                        "(default: the directory of report.json)")
    parser.add_argument("--open", action="store_true", help="open the report in the web browser")
    add_jobs_argument(parser)


def load_report(path: Path) -> SessionReport:
    """A report.json as a SessionReport; InputError names the file (and line/column) when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (expected the report.json of "
                         "`backcheck analyze --out DIR`)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot be read ({err})") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}, line {err.lineno} column {err.colno}: not valid JSON ({err.msg})") \
            from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object with schema backcheck.report/1")
    try:
        return report_from_dict(data)
    except ValueError as err:
        raise InputError(f"{path}: {err}") from None
    except (KeyError, TypeError) as err:
        raise InputError(f"{path}: not a complete backcheck.report/1 report (problem with {err})") from None


def load_trace(path: Path) -> Trace:
    """A trace.csv as a Trace; InputError names the file and line when it is malformed."""
    try:
        with open(path, encoding="utf-8") as f:
            header = f.readline().strip()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (the trace is written next to report.json by "
                         "`backcheck analyze --out DIR`)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot be read as text ({err})") from None
    if header != ",".join(Trace.COLUMNS):
        raise InputError(f"{path}, line 1: expected columns {','.join(Trace.COLUMNS)}, got {header[:80]!r}")
    try:
        return Trace.read_csv(path)
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{path}, line {_first_bad_line(path)}: expected {len(Trace.COLUMNS)} numbers separated "
                         "by commas (run `backcheck analyze` again to rewrite the trace)") from None


def _first_bad_line(path: Path) -> int:
    """The first line of a trace.csv that is not six numbers separated by commas (1-based; blank lines pass)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        next(f, None)
        for number, line in enumerate(f, start=2):
            cells = line.split(",")
            if not line.strip():
                continue
            try:
                [float(cell) for cell in cells]
            except ValueError:
                return number
            if len(cells) != len(Trace.COLUMNS):
                return number
    return 1


def run(args: argparse.Namespace) -> int:
    from analysis.html_report import write_html
    from analysis.plots import drawing_workers, write_plots

    source = Path(args.source)
    report_path = source / "report.json" if source.is_dir() else source
    report = load_report(report_path)
    trace = load_trace(report_path.parent / "trace.csv")
    out = Path(args.out) if args.out else report_path.parent
    prepare_folder(out)
    with writing(out):
        plots = write_plots(report, trace, out, args.jobs or drawing_workers(len(report.sets) + 1))
        html = write_html(report, trace, out / "report.html", {path.stem: data for path, data in plots.items()})
    print(f"report: {html}")
    print(f"plots:  {', '.join(p.name for p in plots)} in {out}")
    if args.open:
        webbrowser.open(html.resolve().as_uri())
    return 0
