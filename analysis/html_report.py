"""One self-contained HTML page per session: summary first, then each set with its plot and rep table,
and coaching text for every kind of flag that occurred.

Images are embedded as base64 PNG; no scripts, fonts or links to anything outside the file. Every
piece of text from the report is escaped.
"""

from __future__ import annotations

import base64
import os
import statistics
from collections.abc import Mapping
from html import escape
from pathlib import Path

from analysis import coaching, plots
from analysis.report import FLAG_KINDS, Flag, Rep, SessionReport, SetReport
from analysis.summary_text import clock, flag_text, prescribed_tempo
from analysis.trace import Trace

WORST_MOMENTS = 5  # how many flags the summary lists, most severe first
PRIORITY = ("rounding", "twist", "momentum", "tempo", "partial", "fatigue")  # worst for the back first

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
  max-width: 1150px; padding: 1.2rem; color: #1a1a1a; line-height: 1.45; }
h1 { margin: 0 0 .2rem; } h2 { border-bottom: 2px solid #1b3a6b; padding-bottom: .2rem; margin-top: 2rem; }
.meta { color: #555; margin: 0 0 1rem; }
.cards { display: flex; gap: .8rem; flex-wrap: wrap; margin: 1rem 0; }
.card { border: 1px solid #ccc; border-radius: 8px; padding: .6rem 1rem; min-width: 7.5rem; }
.card b { display: block; font-size: 1.8rem; } .card.bad b { color: #b00020; }
.note { background: #fff7d6; border-left: 4px solid #c99a00; padding: .5rem .8rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: right; vertical-align: top; }
th { background: #f0f3f8; } td.text, th.text { text-align: left; }
tr.flagged td { background: #fdecef; }
img { max-width: 100%; height: auto; display: block; margin: .5rem 0; }
.coach { border: 1px solid #ddd; border-radius: 8px; padding: .4rem 1rem; margin: .8rem 0; }
.coach h3 { margin: .4rem 0; } .kind { font-family: ui-monospace, monospace; color: #555; }
footer { color: #666; font-size: .85rem; margin-top: 2rem; }
@media print { .set { break-before: page; } }
"""


def _img(png: bytes, alt: str, img_id: str) -> str:
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return f'<img id="{img_id}" src="{uri}" alt="{escape(alt)}">'


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def severity(flag: Flag) -> tuple[int, float]:
    """Sort key, worst first: the kind's rank in PRIORITY, then how far past its threshold the flag
    is relative to the threshold."""
    rank = PRIORITY.index(flag.kind) if flag.kind in PRIORITY else len(PRIORITY)
    return rank, -abs(flag.value - flag.threshold) / max(abs(flag.threshold), 1e-9)


def _advice_for(s: SetReport, kind: str) -> coaching.Advice:
    return coaching.advice(kind, s.pattern)


def _anchor(a: coaching.Advice) -> str:
    return "coach-" + "".join(c if c.isalnum() else "-" for c in a.title.lower())


def _flag_links(s: SetReport, rep: Rep) -> str:
    items = [f'<a href="#{_anchor(_advice_for(s, f.kind))}" title="{escape(f.message)}">'
             f"{escape(flag_text(f))}</a>" for f in rep.flags]
    return "<br>".join(items)


def _summary(report: SessionReport, trace: Trace, pngs: Mapping[str, bytes]) -> str:
    reps = report.reps
    flagged = sum(1 for _, r in reps if r.flags)
    n_flags = sum(len(r.flags) for _, r in reps)
    cards = "".join(
        f'<div class="card{cls}"><b>{value}</b>{escape(label)}</div>'
        for value, label, cls in ((len(report.sets), "sets", ""), (len(reps), "reps", ""),
                                  (flagged, "flagged reps", " bad" if flagged else ""),
                                  (n_flags, "flags", " bad" if n_flags else "")))
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in report.notes)
    if report.recording.accelerometer_only and not report.notes:
        notes += ('<p class="note">Accelerometer-only recording: angles are less accurate during fast '
                  "movement, and twisting cannot be measured.</p>")
    if prescribed := prescribed_tempo(report.settings.get("flags", {})):
        notes += f'<p class="note">{escape(prescribed)}</p>'
    rows = []
    for s in report.sets:
        n_flagged = sum(1 for r in s.reps if r.flags)
        peaks = [r.peak_flexion_deg for r in s.reps]
        loss = plots.velocity_loss_pct(s)
        guessed = " (guessed)" if s.exercise_guessed else ""
        rows.append(
            f'<tr><td><a href="#set-{s.index}">{s.index}</a></td>'
            f'<td class="text">{escape(s.exercise + guessed)}</td><td>{len(s.reps)}</td><td>{n_flagged}</td>'
            f'<td>{escape(statistics.mode([r.tempo for r in s.reps])) if s.reps else "–"}</td>'
            f'<td>{_num(statistics.median(peaks) if peaks else None, ".0f")}</td>'
            f'<td>{_num(max(peaks) if peaks else None, ".0f")}</td>'
            f'<td>{_num(loss[-1] if loss else None, ".0f")}</td></tr>')
    table = ('<table id="sets-table"><tr><th>set</th><th class="text">exercise</th><th>reps</th>'
             "<th>flagged</th><th>usual tempo</th><th>median peak flexion (°)</th>"
             "<th>max peak flexion (°)</th>"
             "<th>last rep velocity loss (%)</th></tr>" + "".join(rows) + "</table>")
    png = pngs.get("overview") or plots.png(plots.overview_figure(report, trace))
    overview = _img(png, "Trunk flexion over the session", "img-overview")
    return (f'<section id="summary"><h2>Summary</h2><div class="cards">{cards}</div>{notes}{table}'
            f"{_worst(report)}<h3>The whole session</h3>{overview}</section>")


def _worst(report: SessionReport) -> str:
    moments = sorted(((severity(f), s, r, f) for s in report.sets for r in s.reps for f in r.flags),
                     key=lambda m: m[0])[:WORST_MOMENTS]
    if not moments:
        return '<h3>Worst moments</h3><p id="worst">No flags: every rep stayed within your limits.</p>'
    items = "".join(
        f'<li><a href="#set-{s.index}-rep-{r.index}">Set {s.index} ({escape(s.exercise)}), rep {r.index} '
        f"at {clock(f.t_s)}</a>: <b>{escape(_advice_for(s, f.kind).title)}</b>. {escape(f.message)}</li>"
        for _, s, r, f in moments)
    return f'<h3>Worst moments</h3><ol id="worst">{items}</ol>'


def _coaching(report: SessionReport) -> str:
    seen: dict[str, coaching.Advice] = {}
    for kind in FLAG_KINDS:
        for s in report.sets:
            if any(f.kind == kind for r in s.reps for f in r.flags):
                a = _advice_for(s, kind)
                seen.setdefault(a.title, a)
    if not seen:
        return ""
    blocks = []
    for title, a in seen.items():
        changes = "".join(f"<li>{escape(c)}</li>" for c in a.changes)
        blocks.append(f'<div class="coach" id="{_anchor(a)}"><h3>{escape(title)} '
                      f'<span class="kind">({escape(a.kind)})</span></h3><p>{escape(a.meaning)}</p>'
                      f"<p><b>What to change:</b></p><ul>{changes}</ul></div>")
    return ('<section id="coaching"><h2>What the flags mean and what to change</h2>'
            + "".join(blocks) + "</section>")


def _set_section(report: SessionReport, trace: Trace, s: SetReport, pngs: Mapping[str, bytes]) -> str:
    rows = []
    for r in s.reps:
        cls = ' class="flagged"' if r.flags else ""
        rows.append(
            f'<tr id="set-{s.index}-rep-{r.index}"{cls}><td>{r.index}</td><td>{clock(r.start_s)}</td>'
            f"<td>{escape(r.tempo)}</td><td>{_num(r.peak_flexion_deg, '.1f')}</td>"
            f"<td>{_num(r.rom_deg, '.1f')}</td>"
            f"<td>{_num(r.peak_velocity_dps, '.0f')}</td><td>{_num(r.sway_deg, '.1f')}</td>"
            f'<td class="text">{_flag_links(s, r)}</td></tr>')
    table = (f'<table class="reps" id="reps-{s.index}"><tr><th>rep</th><th>start (m:ss)</th>'
             "<th>tempo (s)</th><th>peak flexion (°)</th><th>ROM (°)</th><th>peak velocity (°/s)</th>"
             '<th>sway (°)</th><th class="text">flags</th></tr>' + "".join(rows) + "</table>")
    guessed = " (exercise guessed from the movement)" if s.exercise_guessed else ""
    title = escape(f"Set {s.index}: {s.exercise}{guessed}")
    png = pngs.get(f"set-{s.index}") or plots.png(plots.set_figure(report, trace, s.index))
    img = _img(png, f"Set {s.index} plots", f"img-set-{s.index}")
    return (f'<section class="set" id="set-{s.index}"><h2>{title}</h2><p class="meta">{len(s.reps)} reps, '
            f"{clock(s.start_s)} to {clock(s.end_s)}. Tempo is eccentric-pause-concentric-pause in seconds."
            f"</p>{img}{table}</section>")


def render_html(report: SessionReport, trace: Trace, pngs: Mapping[str, bytes] | None = None) -> str:
    """The whole report page as one HTML string; its images are `pngs` (by file stem, as
    `analysis.plots.session_pngs` makes them) where given, else drawn here."""
    pngs = pngs or {}
    rec = report.recording
    when = rec.notes.get("start_utc") if isinstance(rec.notes, dict) else None
    bits = [f"recorded {when}" if when else None, f"{clock(rec.duration_s)} long", rec.device,
            rec.placement, f"{rec.sample_rate_hz:.0f} Hz",
            "accelerometer only" if rec.accelerometer_only else None, rec.path]
    meta = " · ".join(escape(str(b)) for b in bits if b)
    sets = "".join(_set_section(report, trace, s, pngs) for s in report.sets)
    footer = (f"<footer>Made by {escape(report.software)} from report schema backcheck.report/1. "
              f"Settings: <code>{escape(repr(report.settings))}</code></footer>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>backcheck report{escape(' ' + when if when else '')}</title><style>{_CSS}</style></head>"
            f'<body><header><h1>Training report</h1><p class="meta">{meta}</p></header>'
            f"{_summary(report, trace, pngs)}{_coaching(report)}{sets}{footer}</body></html>\n")


def write_html(report: SessionReport, trace: Trace, path: str | os.PathLike,
               pngs: Mapping[str, bytes] | None = None) -> Path:
    """Write the report page to `path` (UTF-8), with `pngs` as in `render_html`; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, trace, pngs), encoding="utf-8")
    return path
