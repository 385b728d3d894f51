"""Plots of an analysed session: the session overview, one figure per set and the weekly trend.

matplotlib is imported inside the functions (Agg canvas, no pyplot state), so importing this module is
cheap. Figures use fixed margins (`_figure`); colours differ in lightness and carry hatching or marker shapes,
so they still read in greyscale. Artists carry a gid ("set-span", "phase-eccentric", "flag-rounding",
"tempo-concentric", ...) so tests and tools can find them.
"""

from __future__ import annotations

import io
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from analysis.report import FLAG_KINDS, Rep, SessionReport, SetReport
from analysis.summary_text import clock, plural
from analysis.trace import Trace

PHASES = ("eccentric", "pause_bottom", "concentric", "pause_top")  # tempo notation order
PHASE_STYLE = {  # greyscale lightness 0.21, 0.73, 0.47, 0.89
    "eccentric": {"color": "#1b3a6b", "hatch": "///", "label": "eccentric (lowering)"},
    "pause_bottom": {"color": "#8cc8ec", "hatch": "..", "label": "pause at the bottom"},
    "concentric": {"color": "#d55e00", "hatch": "\\\\\\", "label": "concentric (lifting)"},
    "pause_top": {"color": "#f5e6a8", "hatch": "", "label": "pause at the top"},
}
FLAG_STYLE = {
    "rounding": {"color": "#b00020", "marker": "v"},
    "momentum": {"color": "#6a3d9a", "marker": ">"},
    "partial": {"color": "#8c6d1f", "marker": "s"},
    "twist": {"color": "#00a6a6", "marker": "D"},
    "fatigue": {"color": "#f0f0f0", "marker": "o"},
    "tempo": {"color": "#e69f00", "marker": "^"},
}
LIMIT_STYLE = {"color": "#b00020", "linestyle": "--", "linewidth": 1.5}
BASELINE_STYLE = {"color": "#404040", "linestyle": "-.", "linewidth": 1.2}
LABEL_BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8}  # a label over lines
SET_COLOR = "#e4e4e4"
FONT_PT = 9.0
FLAG_STACK_DEG = 6.0  # vertical step between markers of flags raised at the same moment


def flexion_limit_deg(report: SessionReport) -> float | None:
    """The lifter's flexion limit from the report's settings ("flexion_limit_deg", top level or one
    level down), or None when not set."""
    candidates = [report.settings, *(v for v in report.settings.values() if isinstance(v, dict))]
    for d in candidates:
        if d.get("flexion_limit_deg") is not None:
            return float(d["flexion_limit_deg"])
    return None


def baseline_peak_deg(s: SetReport) -> float | None:
    """The set's baseline peak flexion: the summary's value, else the mean of the first two reps."""
    if s.summary.get("baseline_peak_flexion_deg") is not None:
        return float(s.summary["baseline_peak_flexion_deg"])
    first = [r.peak_flexion_deg for r in s.reps[:2]]
    return float(np.mean(first)) if first else None


def best_velocity_dps(s: SetReport) -> float | None:
    """The set's reference speed for velocity loss: the summary's value (the analyzer's), else the
    fastest rep without a momentum flag (a bounced rep is fast for the wrong reason)."""
    if s.summary.get("best_velocity_dps") is not None:
        return float(s.summary["best_velocity_dps"])
    clean = [r.peak_velocity_dps for r in s.reps if not any(f.kind == "momentum" for f in r.flags)]
    return max(clean or [r.peak_velocity_dps for r in s.reps], default=None)


def velocity_loss_pct(s: SetReport) -> list[float]:
    """Per rep: how much slower its peak trunk velocity is than the best (negative: faster), in %."""
    best = best_velocity_dps(s)
    if not best or best <= 0:
        return [0.0] * len(s.reps)
    return [100.0 * (1.0 - r.peak_velocity_dps / best) for r in s.reps]


def phase_spans(pattern: str, rep: Rep) -> list[tuple[str, float, float]]:
    """(phase, t0_s, t1_s) in time order; a phase whose duration is None is left out.

    top-start: eccentric, pause bottom, concentric, then pause top after the end; floor-start and
    trunk-still: concentric, pause top, eccentric, then pause bottom after the end.
    """
    order = PHASES if pattern == "top-start" else ("concentric", "pause_top", "eccentric", "pause_bottom")
    out, t = [], rep.start_s
    for name in order:
        dur = getattr(rep, f"{name}_s")
        if dur is not None:
            out.append((name, t, t + dur))
            t += dur
    return out


def _figure(width_in: float, height_in: float, margins_in: tuple[float, float, float, float],
            grid: tuple[int, int] = (1, 1), gaps_in: tuple[float, float] = (0.0, 0.0)) -> Any:
    """A figure on an Agg canvas whose subplots (a `grid` of rows and columns) sit within fixed margins
    (left, right, bottom, top) and gaps (between rows, between columns), all in inches: room for the
    labels, titles and legends each figure puts there. (Constrained layout measured every label again at
    each draw: 0.4-0.5 s of a set figure's 1.0 s.)"""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(fig)
    left, right, bottom, top = margins_in
    (rows, cols), (row_gap, col_gap) = grid, gaps_in
    inner_w, inner_h = width_in - left - right, height_in - bottom - top
    # (matplotlib's spaces are fractions of the mean subplot's width and height)
    fig.subplots_adjust(left=left / width_in, right=1.0 - right / width_in, bottom=bottom / height_in,
                        top=1.0 - top / height_in, hspace=row_gap * rows / (inner_h - row_gap * (rows - 1)),
                        wspace=col_gap * cols / (inner_w - col_gap * (cols - 1)))
    return fig


def _thin(xs: list[float], min_gap: float) -> list[int]:
    """Indices of positions kept so that kept neighbours are at least `min_gap` apart (greedy)."""
    kept: list[int] = []
    for i, x in enumerate(xs):
        if not kept or x - xs[kept[-1]] >= min_gap:
            kept.append(i)
    return kept


def _label_gap(ax: Any, n_chars: int, x_range: float) -> float:
    """Data-x distance a label of `n_chars` characters needs on `ax` (estimated before drawing)."""
    fig_w_in = ax.figure.get_figwidth() * ax.get_position().width
    label_in = n_chars * 0.62 * FONT_PT / 72 + 0.08
    return label_in / max(fig_w_in * 0.92, 1e-6) * x_range


def _time_axis(ax: Any) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 3, 5, 6, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: clock(x) if x >= 0 else ""))
    ax.set_xlabel("time since start of recording (m:ss)")


def _flag_markers(ax: Any, sets: tuple[SetReport, ...], trace: Trace) -> None:
    """One marker per flag, at its time on the flexion trace, one scatter per kind; flags of one rep
    at (nearly) the same time are stacked upwards so none hides another."""
    flags = sorted((f.t_s, f.kind) for s in sets for r in s.reps for f in r.flags)
    ts = [t for t, _ in flags]
    ys = np.interp(ts, trace.t_s, trace.flexion_deg) if len(trace) else np.zeros(len(flags))
    level = 0
    for i in range(1, len(flags)):
        level = level + 1 if flags[i][0] - flags[i - 1][0] < 0.3 else 0
        ys[i] += level * FLAG_STACK_DEG
    for kind in FLAG_KINDS:
        pick = [i for i, (_, k) in enumerate(flags) if k == kind]
        if not pick:
            continue
        style = FLAG_STYLE[kind]
        ax.scatter([flags[i][0] for i in pick], ys[pick], s=60, marker=style["marker"], color=style["color"],
                   edgecolors="black", linewidths=0.9, zorder=5, label=f"flag: {kind}", gid=f"flag-{kind}")


def _trace_panel(ax: Any, report: SessionReport, trace: Trace, sets: tuple[SetReport, ...],
                 t0: float, t1: float, full_height_phases: bool) -> None:
    """Flexion over [t0, t1]: set spans, phases, rep numbers, flag markers, limit line."""
    from matplotlib.collections import PolyCollection
    from matplotlib.transforms import blended_transform_factory

    inside = (trace.t_s >= t0) & (trace.t_s <= t1)
    ax.plot(trace.t_s[inside], trace.flexion_deg[inside], color="black", linewidth=0.9, gid="flexion",
            label="trunk flexion")
    top = blended_transform_factory(ax.transData, ax.transAxes)
    for s in sets:
        ax.axvspan(s.start_s, s.end_s, color=SET_COLOR, zorder=0, gid="set-span")
    if len(sets) > 1:  # each label at its set's start; near the end "Set N" alone, moved left to end inside
        labels, widths, xs = [], [], []
        for s in sets:
            label = f"Set {s.index}: {s.exercise}"
            width = _label_gap(ax, len(label) + 2, t1 - t0)  # (bold: two characters more)
            if s.start_s + width > t1:
                label = f"Set {s.index}"
                width = _label_gap(ax, len(label) + 2, t1 - t0)
            labels.append(label)
            widths.append(width)
            xs.append(min(s.start_s, t1 - width))
        for i in _thin(xs, max(widths)):
            ax.text(xs[i], 0.985, labels[i], transform=top, va="top", ha="left", fontsize=FONT_PT,
                    fontweight="bold", gid="set-label", clip_on=False)
    ymax = 1.0 if full_height_phases else 0.07
    spans: dict[str, list] = {}  # phase -> its spans' corners (x in s, y in axes height), phases as first met
    for s in sets:
        for rep in s.reps:
            for name, a, b in phase_spans(s.pattern, rep):
                spans.setdefault(name, []).append(((a, 0.0), (a, ymax), (b, ymax), (b, 0.0)))
    for name, corners in spans.items():  # (one artist a phase: a long session's spans one by one took seconds)
        style = PHASE_STYLE[name]
        ax.add_collection(PolyCollection(
            corners, transform=top, facecolor=style["color"], hatch=style["hatch"], edgecolor="#00000055",
            linewidth=0, alpha=0.45 if full_height_phases else 0.9, zorder=1, gid=f"phase-{name}",
            label=style["label"]), autolim=False)
    reps = [r for s in sets for r in s.reps]
    y_num = 0.90 if sets else 0.0
    for i in _thin([r.turn_s for r in reps], _label_gap(ax, 2, t1 - t0)):
        ax.text(reps[i].turn_s, y_num, str(reps[i].index), transform=top, ha="center", va="top",
                fontsize=FONT_PT, gid="rep-number", bbox=LABEL_BOX)
    _flag_markers(ax, sets, trace)
    limit = flexion_limit_deg(report)
    if limit is not None:
        ax.axhline(limit, gid="limit", label=f"your flexion limit ({limit:.0f}°)", **LIMIT_STYLE)
    ax.set_xlim(t0, t1)
    lo = min(float(np.min(trace.flexion_deg[inside], initial=0.0)), 0.0)
    hi = max(float(np.max(trace.flexion_deg[inside], initial=10.0)), limit or 0.0)
    ax.set_ylim(lo - 5, hi + 0.28 * (hi - lo + 10))  # headroom for set labels and rep numbers
    ax.set_ylabel("trunk flexion (°, forward +)")
    _time_axis(ax)
    ax.grid(axis="y", color="#cccccc", linewidth=0.5)


def overview_figure(report: SessionReport, trace: Trace) -> Any:
    """Trunk flexion over the whole session: sets shaded, phases as a strip along the bottom, reps
    numbered (thinned so labels never overlap), one marker per flag, the lifter's limit."""
    fig = _figure(11.0, 4.4, margins_in=(0.7, 0.25, 1.05, 0.3))  # (the legend in two rows below)
    ax = fig.add_subplot()
    ax.set_gid("overview")
    t0 = float(trace.t_s[0]) if len(trace) else 0.0
    t1 = float(trace.t_s[-1]) if len(trace) else report.recording.duration_s
    _trace_panel(ax, report, trace, report.sets, t0, max(t1, t0 + 1.0), full_height_phases=False)
    n_reps = len(report.reps)
    flagged = sum(1 for _, r in report.reps if r.flags)
    ax.set_title(f"Trunk flexion over the session: {plural(len(report.sets), 'set')}, {plural(n_reps, 'rep')}, "
                 f"{flagged} flagged")
    fig.legend(loc="lower center", ncol=6, fontsize=FONT_PT, frameon=False)
    return fig


def set_figure(report: SessionReport, trace: Trace, set_index: int) -> Any:
    """One set: the flexion trace with phases, peak flexion per rep, tempo, velocity loss and (for
    trunk-still exercises) trunk sway per rep."""
    s = next(x for x in report.sets if x.index == set_index)
    fig = _figure(11.0, 9.0, margins_in=(0.75, 2.35, 0.5, 0.3), grid=(3, 2), gaps_in=(0.75, 0.65))  # (the
    # trace's legend on the right: "your flexion limit (100°)" its longest)
    grid = fig.add_gridspec(3, 2, height_ratios=[1.25, 1, 1])
    ax = fig.add_subplot(grid[0, :])
    ax.set_gid("set-trace")
    pad = 0.03 * max(s.end_s - s.start_s, 1.0)
    _trace_panel(ax, report, trace, (s,), s.start_s - pad, s.end_s + pad, full_height_phases=True)
    guessed = " (exercise guessed from the movement)" if s.exercise_guessed else ""
    ax.set_title(f"Set {s.index}: {s.exercise}{guessed} - trunk flexion, phases and flags")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=FONT_PT, frameon=False)
    _peak_panel(fig.add_subplot(grid[1, 0]), report, s)
    _tempo_panel(fig.add_subplot(grid[1, 1]), s)
    if s.pattern == "trunk-still":
        _velocity_panel(fig.add_subplot(grid[2, 0]), s)
        _sway_panel(fig.add_subplot(grid[2, 1]), s)
    else:
        _velocity_panel(fig.add_subplot(grid[2, :]), s)
    return fig


def _legend_on_top(ax: Any, values: list[float]) -> None:
    """A legend in a band above the data: the y range grows so nothing is hidden under it."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        span = max(hi - lo, 1.0)
        ax.set_ylim(lo - 0.08 * span, hi + 0.55 * span)
    ax.legend(fontsize=FONT_PT - 1, loc="upper center", ncol=2, frameon=False)


def _rep_axis(ax: Any, n: int) -> np.ndarray:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("rep")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=15, integer=True))
    ax.set_xlim(0.4, max(n, 1) + 0.6)
    return np.arange(1, n + 1)


def _peak_panel(ax: Any, report: SessionReport, s: SetReport) -> None:
    ax.set_gid("peak-flexion")
    x = _rep_axis(ax, len(s.reps))
    peaks = np.array([r.peak_flexion_deg for r in s.reps])
    rounded = np.array([any(f.kind == "rounding" for f in r.flags) for r in s.reps], dtype=bool)
    ax.plot(x, peaks, color="#1b3a6b", linewidth=1.0, marker="o", markersize=6, gid="peak",
            label="peak flexion")
    if rounded.any():
        ax.scatter(x[rounded], peaks[rounded], s=90, marker="v", color=FLAG_STYLE["rounding"]["color"],
                   edgecolors="black", zorder=4, gid="peak-rounded", label="rounded rep")
    base = baseline_peak_deg(s)
    if base is not None:
        ax.axhline(base, gid="baseline", label=f"baseline, reps 1-2 ({base:.0f}°)", **BASELINE_STYLE)
    limit = flexion_limit_deg(report)
    if limit is not None:
        ax.axhline(limit, gid="limit", label=f"your limit ({limit:.0f}°)", **LIMIT_STYLE)
    ax.set_ylabel("peak trunk flexion (°)")
    ax.set_title("Peak flexion per rep vs baseline and limit")
    _legend_on_top(ax, [*peaks, base or 0.0, limit or 0.0])


def _tempo_panel(ax: Any, s: SetReport) -> None:
    ax.set_gid("tempo")
    x = _rep_axis(ax, len(s.reps))
    bottom = np.zeros(len(s.reps))
    for name in PHASES:
        h = np.array([getattr(r, f"{name}_s") or 0.0 for r in s.reps])
        style = PHASE_STYLE[name]
        bars = ax.bar(x, h, bottom=bottom, width=0.7, color=style["color"], hatch=style["hatch"],
                      edgecolor="black", linewidth=0.6, label=style["label"])
        for patch in bars:
            patch.set_gid(f"tempo-{name}")
        bottom += h
    ax.set_ylabel("time (s)")
    ax.set_title("Tempo per rep (eccentric - pause - concentric - pause)")
    ax.legend(fontsize=FONT_PT - 1, loc="upper left", ncol=2, frameon=False)
    ax.set_ylim(0, max(float(bottom.max(initial=1.0)), 1.0) * 1.45)


def _velocity_panel(ax: Any, s: SetReport) -> None:
    ax.set_gid("velocity")
    x = _rep_axis(ax, len(s.reps))
    v = np.array([r.peak_velocity_dps for r in s.reps])
    loss = velocity_loss_pct(s)
    tired = [any(f.kind == "fatigue" for f in r.flags) for r in s.reps]
    bars = ax.bar(x, v, width=0.7, color="#7a9cc6", edgecolor="black", linewidth=0.6,
                  label="peak trunk velocity")
    for patch, t in zip(bars, tired, strict=True):
        patch.set_gid("velocity-bar")
        if t:
            patch.set_hatch("xx")
            patch.set_facecolor("#f0f0f0")
    best = best_velocity_dps(s)
    if best:
        ax.axhline(best, gid="best-velocity", label=f"best rep ({best:.0f} °/s)", **BASELINE_STYLE)
        thresholds = [f.threshold for r in s.reps for f in r.flags if f.kind == "fatigue" and f.unit == "%"]
        if thresholds:
            ax.axhline(best * (1 - thresholds[0] / 100), gid="fatigue-threshold",
                       label=f"fatigue flag at -{thresholds[0]:.0f} %", **LIMIT_STYLE)
        for i in _thin(list(x), _label_gap(ax, 5, len(x) + 0.2)):
            text = "best" if abs(loss[i]) < 0.5 else f"{-loss[i]:+.0f}%"
            ax.text(x[i], v[i], text, ha="center", va="bottom", fontsize=FONT_PT - 1, gid="loss-label",
                    bbox=LABEL_BOX)  # (readable where the best rep's line runs through it)
        ax.set_title(f"Velocity loss (last rep: {-loss[-1]:+.0f} % vs best)")
    ax.set_ylabel("peak trunk velocity (°/s)")
    _legend_on_top(ax, [0.0, *v])


def _sway_panel(ax: Any, s: SetReport) -> None:
    ax.set_gid("sway")
    x = _rep_axis(ax, len(s.reps))
    sway = np.array([np.nan if r.sway_deg is None else r.sway_deg for r in s.reps])
    heave = [any(f.kind == "momentum" for f in r.flags) for r in s.reps]
    bars = ax.bar(x, np.nan_to_num(sway), width=0.7, color="#8cc8ec", edgecolor="black", linewidth=0.6,
                  label="trunk sway")
    for patch, h in zip(bars, heave, strict=True):
        patch.set_gid("sway-bar")
        if h:
            patch.set_hatch("xx")
            patch.set_facecolor(FLAG_STYLE["momentum"]["color"])
    ax.set_ylabel("trunk sway, peak to peak (°)")
    ax.set_title("Trunk sway per rep (should stay small)")
    _legend_on_top(ax, [0.0, *np.nan_to_num(sway)])


TREND_MAX_LABELS = 12  # week labels along the trend's axis, at most


def trend_figure(weeks: Any, exercise: str) -> Any:
    """Weekly trend of one exercise from a DataFrame with columns week (label), reps_per_set,
    flagged_per_set, peak_flexion_deg and the four phase means (eccentric_s, ...)."""
    fig = _figure(10.0, 8.0, margins_in=(0.75, 0.2, 0.5, 0.3), grid=(3, 1), gaps_in=(0.15, 0.0))
    axes = fig.subplots(3, 1, sharex=True)
    x = np.arange(len(weeks))
    ax = axes[0]
    ax.set_gid("trend-reps")
    ax.bar(x - 0.2, weeks["reps_per_set"], width=0.4, color="#1b3a6b", label="reps per set", gid="trend-reps")
    ax.bar(x + 0.2, weeks["flagged_per_set"], width=0.4, color="#f5e6a8", hatch="xx", edgecolor="black",
           label="flagged reps per set", gid="trend-flagged")
    ax.set_ylabel("reps per set")
    ax.set_title(f"{exercise}: week by week")
    _legend_on_top(ax, [0.0, *weeks["reps_per_set"], *weeks["flagged_per_set"]])
    ax = axes[1]
    ax.set_gid("trend-peak")
    ax.plot(x, weeks["peak_flexion_deg"], marker="o", color="black", label="mean peak flexion",
            gid="trend-peak")
    ax.set_ylabel("peak trunk flexion (°)")
    _legend_on_top(ax, list(weeks["peak_flexion_deg"]))
    ax = axes[2]
    ax.set_gid("trend-tempo")
    bottom = np.zeros(len(weeks))
    for name in PHASES:
        h = weeks[f"{name}_s"].fillna(0.0).to_numpy(dtype=float)
        style = PHASE_STYLE[name]
        ax.bar(x, h, bottom=bottom, width=0.6, color=style["color"], hatch=style["hatch"], edgecolor="black",
               linewidth=0.6, label=style["label"], gid=f"trend-tempo-{name}")
        bottom += h
    ax.set_ylabel("mean tempo (s)")
    ax.legend(fontsize=FONT_PT - 1, ncol=4, loc="upper left", frameon=False)
    ax.set_ylim(0, max(float(bottom.max(initial=1.0)), 1.0) * 1.35)
    every = -(-len(weeks) // TREND_MAX_LABELS)  # (a label every `every` weeks: "2026-W09" needs ~0.6 in)
    ax.set_xticks(x[::every], list(weeks["week"])[::every])
    ax.set_xlim(-0.6, max(len(weeks), 4) - 0.4)  # a single week keeps narrow bars
    ax.set_xlabel("week")
    return fig


def png(fig: Any) -> bytes:
    """The figure as a PNG file's bytes (100 dpi); the figure is cleared after (its artists' reference cycles
    would hold a long session's figures until a garbage collection)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    fig.clear()
    return buf.getvalue()


def session_pngs(report: SessionReport, trace: Trace, workers: int = 1) -> Iterator[tuple[str, bytes]]:
    """Every figure of a session as PNG bytes by file stem ("overview", "set-1", ...), in that order, each process
    drawing one at a time (a 2-hour session's 108 figures, held together, took 1.3 GB).

    workers: how many processes draw them (1: this one; `drawing_workers` says how many are worth it). A worker
    is a fresh interpreter ("spawn": safe whatever threads this process runs) that takes a second to start and
    holds its own copy of the session (a 2-hour one: 200-290 MB); a figure takes 0.5-0.8 s. Like any "spawn"
    pool, workers need the program's entry point guarded by `if __name__ == "__main__":` (as `backcheck`'s is).
    """
    stems = ["overview", *(f"set-{s.index}" for s in report.sets)]
    if min(workers, len(stems)) <= 1:
        for stem in stems:
            yield stem, _stem_png(report, trace, stem)
        return
    import multiprocessing
    import pickle
    import tempfile
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    done = 0
    with tempfile.TemporaryDirectory(prefix="backcheck-plots-") as folder:
        # the session goes to the workers as a file: sent through their start-up pipe, a worker dying while it
        # reads (killed at start) left the pipe's writer here blocked for good
        session = Path(folder) / "session.pickle"
        session.write_bytes(pickle.dumps((report, trace), protocol=pickle.HIGHEST_PROTOCOL))
        pool = ProcessPoolExecutor(min(workers, len(stems)), mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_keep, initargs=(str(session),))
        try:
            with _no_interrupt_inherited():  # (the workers start now: Ctrl-C is for this process to handle)
                pngs = pool.map(_kept_png, stems)
            for stem, data in zip(stems, pngs, strict=True):
                yield stem, data
                done += 1
        except BrokenProcessPool:  # a worker was killed (out of memory?): the rest are drawn here
            pass
        finally:  # (stopped early, or Ctrl-C: the figures not begun are not drawn)
            pool.shutdown(wait=True, cancel_futures=True)
    for stem in stems[done:]:
        yield stem, _stem_png(report, trace, stem)


PARALLEL_MIN_FIGURES = 8  # a session with this many figures or more is worth worker processes ...
FIGURES_PER_WORKER = 4  # ... one a CPU, but at least this many figures each ...
MAX_DRAWING_WORKERS = 4  # ... and at most this many (each holds its own copy of the session)
_kept: tuple[SessionReport, Trace] | None = None  # a drawing worker's session (`_keep`)


def drawing_workers(n_figures: int, cpus: int | None = None) -> int:
    """How many processes are worth drawing n_figures in (`session_pngs`), with `cpus` (default: the CPUs this
    process may run on)."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if n_figures < PARALLEL_MIN_FIGURES:
        return 1
    return max(1, min(cpus, n_figures // FIGURES_PER_WORKER, MAX_DRAWING_WORKERS))


@contextmanager
def _no_interrupt_inherited() -> Iterator[None]:
    """Ignore SIGINT while worker processes start, so that they start ignoring it (a disposition to ignore is
    inherited; Python then installs no KeyboardInterrupt handler): a Ctrl-C at the terminal reaches the whole
    process group, and a worker still importing would print its traceback. Only the main thread can."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stem_png(report: SessionReport, trace: Trace, stem: str) -> bytes:
    if stem == "overview":
        return png(overview_figure(report, trace))
    return png(set_figure(report, trace, int(stem.removeprefix("set-"))))


def _keep(session_path: str) -> None:
    """A drawing worker's start: load the session `session_pngs` wrote."""
    import pickle

    global _kept
    _kept = pickle.loads(Path(session_path).read_bytes())


def _kept_png(stem: str) -> bytes:
    return _stem_png(*_kept, stem)


def write_plots(report: SessionReport, trace: Trace, out_dir: str | os.PathLike, workers: int = 1,
                ) -> dict[Path, bytes]:
    """Write every figure as PNG into out_dir (overview.png, set-1.png, ...), drawn by `workers` processes
    (`session_pngs`); returns each path with its bytes (the HTML report embeds the same images:
    `analysis.html_report.render_html`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for stem, data in session_pngs(report, trace, workers):
        path = out / f"{stem}.png"
        path.write_bytes(data)
        written[path] = data
    return written
