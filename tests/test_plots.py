"""Plots render headless and show what they claim: spans per set and phase, one marker per flag,
stacked tempo bars, labelled axes with units, no overlapping labels, greyscale-safe colours."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from report_fixtures import FLEXION_LIMIT_DEG, all_flags, make_session

from analysis import plots
from analysis.report import FLAG_KINDS


@pytest.fixture(scope="module")
def session():
    return make_session()


@pytest.fixture(scope="module")
def overview(session):
    fig = plots.overview_figure(*session)
    fig.canvas.draw()
    return fig


def _by_gid(artists, gid: str) -> list:
    return [a for a in artists if a.get_gid() == gid]


def _ax(fig, gid: str):
    (ax,) = [a for a in fig.axes if a.get_gid() == gid]
    return ax


def _expected_phases(sets) -> list:
    return sorted((name, a, b) for s in sets for r in s.reps for name, a, b in plots.phase_spans(s.pattern, r))


def _assert_phases_drawn(ax, sets, height: float) -> None:
    """Every phase span of the sets' reps drawn where it belongs, on screen: one collection a phase, one
    rectangle a span, from its start to its end (s) and from the axes' bottom up `height` of them."""
    got = []
    for c in ax.collections:
        if (c.get_gid() or "").startswith("phase-"):
            for path in c.get_paths():
                corners = ax.transData.inverted().transform(c.get_transform().transform(path.vertices))
                (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
                got.append((c.get_gid().removeprefix("phase-"), x0, x1, *ax.transAxes.inverted().transform(
                    ax.transData.transform([(x0, y0), (x1, y1)]))[:, 1]))
    got.sort()
    want = _expected_phases(sets)
    assert [g[0] for g in got] == [name for name, _, _ in want]
    np.testing.assert_allclose([g[1:] for g in got], [(a, b, 0.0, height) for _, a, b in want], atol=1e-9)


def _check_flag_markers(ax, flags) -> None:
    for kind in FLAG_KINDS:
        want = sorted(f.t_s for f in flags if f.kind == kind)
        got = _by_gid(ax.collections, f"flag-{kind}")
        if not want:
            assert got == []
            continue
        (scatter,) = got
        offsets = scatter.get_offsets()
        assert len(offsets) == len(want), kind
        np.testing.assert_allclose(sorted(offsets[:, 0]), want, atol=1e-9)
        assert scatter.get_label() == f"flag: {kind}"


def _assert_no_overlap(texts, renderer) -> None:
    boxes = [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)


def test_overview_axes_title_units(overview, session):
    ax = _ax(overview, "overview")
    assert ax.get_ylabel() == "trunk flexion (°, forward +)"
    assert "m:ss" in ax.get_xlabel()
    assert "3 sets, 21 reps, 9 flagged" in ax.get_title()
    (line,) = _by_gid(ax.lines, "flexion")
    np.testing.assert_array_equal(line.get_xdata(), session[1].t_s)
    assert [t.get_text() for t in ax.get_xticklabels() if t.get_text()][:3] == ["0:00", "0:30", "1:00"]


def test_overview_sets_phases_flags_limit(overview, session):
    report, _ = session
    ax = _ax(overview, "overview")
    spans = _by_gid(ax.patches, "set-span")
    assert len(spans) == 3
    for span, s in zip(spans, report.sets, strict=True):
        x0, x1 = span.get_x(), span.get_x() + span.get_width()
        assert (x0, x1) == pytest.approx((s.start_s, s.end_s))
    _assert_phases_drawn(ax, report.sets, height=0.07)  # a strip along the bottom
    assert len(_expected_phases(report.sets)) == 21 * 4 - 3  # the last rep of each set has no trailing pause
    _check_flag_markers(ax, all_flags(report))
    (limit,) = _by_gid(ax.lines, "limit")
    assert limit.get_ydata()[0] == FLEXION_LIMIT_DEG
    labels = [t.get_text() for t in overview.legends[0].get_texts()]
    assert "your flexion limit (75°)" in labels and "eccentric (lowering)" in labels


def test_overview_labels_thinned_and_not_overlapping(overview):
    ax = _ax(overview, "overview")
    renderer = overview.canvas.get_renderer()
    numbers = _by_gid(ax.texts, "rep-number")
    assert 3 <= len(numbers) < 21  # thinned, but every set keeps at least its first rep
    assert [t.get_text() for t in numbers].count("1") == 3
    _assert_no_overlap(numbers + _by_gid(ax.texts, "set-label"), renderer)
    assert [t.get_text() for t in _by_gid(ax.texts, "set-label")] == [
        "Set 1: deadlift", "Set 2: bent-over-row", "Set 3: rdl"]


@pytest.mark.parametrize("set_index", [1, 2, 3])
def test_set_figure_content(session, set_index):
    report, trace = session
    s = report.sets[set_index - 1]
    fig = plots.set_figure(report, trace, set_index)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    n = len(s.reps)

    ax = _ax(fig, "set-trace")
    assert len(_by_gid(ax.patches, "set-span")) == 1
    _assert_phases_drawn(ax, (s,), height=1.0)
    _check_flag_markers(ax, [f for r in s.reps for f in r.flags])
    numbers = _by_gid(ax.texts, "rep-number")
    assert [t.get_text() for t in numbers] == [str(i) for i in range(1, n + 1)]  # room for all in one set
    _assert_no_overlap(numbers, renderer)

    ax = _ax(fig, "tempo")
    assert ax.get_ylabel() == "time (s)"
    for name in plots.PHASES:
        bars = _by_gid(ax.patches, f"tempo-{name}")
        assert len(bars) == n
        want = [getattr(r, f"{name}_s") or 0 for r in s.reps]
        np.testing.assert_allclose([b.get_height() for b in bars], want)
    assert len([p for p in ax.patches if p.get_gid().startswith("tempo-")]) == n * 4
    tops = np.sum([[b.get_height() for b in _by_gid(ax.patches, f"tempo-{p}")] for p in plots.PHASES], axis=0)
    ends = [b.get_y() + b.get_height() for b in _by_gid(ax.patches, "tempo-pause_top")]
    np.testing.assert_allclose(ends, tops)  # stacked, not overlaid

    ax = _ax(fig, "peak-flexion")
    assert ax.get_ylabel() == "peak trunk flexion (°)"
    (peak,) = _by_gid(ax.lines, "peak")
    np.testing.assert_allclose(peak.get_ydata(), [r.peak_flexion_deg for r in s.reps])
    (base,) = _by_gid(ax.lines, "baseline")
    assert base.get_ydata()[0] == pytest.approx(np.mean([r.peak_flexion_deg for r in s.reps[:2]]))
    assert _by_gid(ax.lines, "limit")[0].get_ydata()[0] == FLEXION_LIMIT_DEG
    rounded = [r.index for r in s.reps if any(f.kind == "rounding" for f in r.flags)]
    marks = _by_gid(ax.collections, "peak-rounded")
    assert (list(marks[0].get_offsets()[:, 0]) if marks else []) == rounded

    ax = _ax(fig, "velocity")
    assert ax.get_ylabel() == "peak trunk velocity (°/s)"
    v = [r.peak_velocity_dps for r in s.reps]
    np.testing.assert_allclose([b.get_height() for b in _by_gid(ax.patches, "velocity-bar")], v)
    best = max(r.peak_velocity_dps for r in s.reps if not any(f.kind == "momentum" for f in r.flags))
    assert _by_gid(ax.lines, "best-velocity")[0].get_ydata()[0] == pytest.approx(best)
    assert plots.best_velocity_dps(s) == pytest.approx(best)
    loss = 100 * (1 - v[-1] / best)
    assert f"last rep: {-loss:+.0f} % vs best" in ax.get_title()
    labels = [t.get_text() for t in _by_gid(ax.texts, "loss-label")]
    assert labels[0] == "best" and len(v) / 2 <= len(labels) <= len(v)  # thinned when crowded
    _assert_no_overlap(_by_gid(ax.texts, "loss-label"), renderer)

    sway_axes = [a for a in fig.axes if a.get_gid() == "sway"]
    if s.pattern == "trunk-still":
        (ax,) = sway_axes
        assert ax.get_ylabel() == "trunk sway, peak to peak (°)"
        np.testing.assert_allclose([b.get_height() for b in _by_gid(ax.patches, "sway-bar")],
                                   [r.sway_deg for r in s.reps])
        hatched = [b.get_hatch() == "xx" for b in _by_gid(ax.patches, "sway-bar")]
        assert hatched == [any(f.kind == "momentum" for f in r.flags) for r in s.reps]
    else:
        assert sway_axes == []
    for ax in fig.axes:
        assert ax.get_title(), ax.get_gid()


def test_flags_at_the_same_moment_are_stacked_not_hidden(session):
    report, trace = session
    fig = plots.set_figure(report, trace, 3)
    ax = _ax(fig, "set-trace")
    rep3 = report.sets[2].reps[2]
    assert {f.kind for f in rep3.flags} == {"momentum", "twist"} and rep3.flags[0].t_s == rep3.flags[1].t_s
    ys = [_by_gid(ax.collections, f"flag-{k}")[0].get_offsets()[0, 1] for k in ("momentum", "twist")]
    assert abs(ys[0] - ys[1]) == pytest.approx(plots.FLAG_STACK_DEG)


def test_colours_survive_greyscale():
    def lightness(colour: str) -> float:
        r, g, b = to_rgb(colour)
        return 0.299 * r + 0.587 * g + 0.114 * b

    phase = [lightness(s["color"]) for s in plots.PHASE_STYLE.values()]
    assert min(abs(a - b) for a, b in itertools.combinations(phase, 2)) >= 0.12
    assert len({s["hatch"] for s in plots.PHASE_STYLE.values()}) == 4
    assert len({s["marker"] for s in plots.FLAG_STYLE.values()}) == len(FLAG_KINDS)


def test_write_plots_png_files(session, tmp_path):
    written = plots.write_plots(*session, tmp_path / "plots")
    assert [p.name for p in written] == ["overview.png", "set-1.png", "set-2.png", "set-3.png"]
    for p, data in written.items():
        assert p.read_bytes() == data
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) in ((1100, 440), (1100, 900))


def test_figures_drawn_by_worker_processes_are_the_same_files(session, tmp_path):
    """A long session's figures come from worker processes (`session_pngs`): the same bytes, in the same order,
    as drawn here; and which sessions get workers."""
    import multiprocessing

    here = list(plots.session_pngs(*session, workers=1))
    drawn = plots.session_pngs(*session, workers=2)
    first = next(drawn)
    assert len(multiprocessing.active_children()) == 2  # (drawn there, not here)
    assert [first, *drawn] == here
    assert multiprocessing.active_children() == []
    assert [stem for stem, _ in here] == ["overview", "set-1", "set-2", "set-3"]
    assert plots.drawing_workers(4, 8) == 1 and plots.drawing_workers(7, 8) == 1  # (a worker's start: ~1 s)
    assert plots.drawing_workers(8, 8) == 2 and plots.drawing_workers(8, 1) == 1
    assert plots.drawing_workers(108, 8) == 4 and plots.drawing_workers(108, 2) == 2  # (each a copy of the session)


def _assert_inside_figure(fig) -> None:
    """Everything drawn (titles, labels, ticks, legends, set labels) lies within the figure."""
    fig.canvas.draw()
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())  # (inches)
    width, height = fig.get_size_inches()
    assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01 and drawn.x1 <= width + 0.01 and drawn.y1 <= height + 0.01, (
        drawn, width, height)


def test_every_label_and_legend_inside_the_figure(session):
    """Fixed margins hold the longest legend entry (a three-digit flexion limit); a session ending soon after its
    last set (simulated: 9 deadlift sets, 10 minutes) labels that set "Set 9" alone, inside, past the set before it,
    not over another label."""
    from analysis.analyzer import Analyzer
    from sensor.simulator import random_session_spec, simulate_session

    report, trace = session
    limited = replace(report, settings={"flexion_limit_deg": 100.0})
    for s in limited.sets:
        _assert_inside_figure(plots.set_figure(limited, trace, s.index))
    _assert_inside_figure(plots.overview_figure(*session))
    rec, _ = simulate_session(random_session_spec(3, "deadlift", sets=9, reps=6, rate_hz=50.0))
    analyzer = Analyzer(exercise="deadlift")
    analyzer.push(rec.samples)
    report, trace = analyzer.finish(), analyzer.trace()
    assert trace.t_s[-1] - report.sets[-1].start_s < 60.0
    fig = plots.overview_figure(report, trace)
    _assert_inside_figure(fig)
    labels = _by_gid(_ax(fig, "overview").texts, "set-label")
    assert labels[-1].get_text() == f"Set {len(report.sets)}"  # (its name would not fit)
    assert labels[-1].get_position()[0] >= report.sets[-2].end_s
    _assert_no_overlap(labels, fig.canvas.get_renderer())


def test_no_limit_and_accelerometer_only():
    report, trace = make_session(accelerometer_only=True)
    report = type(report)(recording=report.recording, sets=report.sets, settings={}, notes=report.notes)
    assert plots.flexion_limit_deg(report) is None
    fig = plots.overview_figure(report, trace)
    assert _by_gid(_ax(fig, "overview").lines, "limit") == []
    nested = type(report)(report.recording, (), {"analyzer": {"flexion_limit_deg": 60}})
    assert plots.flexion_limit_deg(nested) == 60.0


def test_empty_session_overview(session):
    report, trace = session
    empty = type(report)(recording=report.recording, sets=(), settings=report.settings)
    ax = _ax(plots.overview_figure(empty, trace), "overview")
    assert _by_gid(ax.patches, "set-span") == [] and len(ax.collections) == 0
    assert "0 sets, 0 reps" in ax.get_title()


def test_trend_figure_content():
    weeks = pd.DataFrame({"week": ["2026-W09", "2026-W10", "2026-W11"], "reps_per_set": [6.0, 7.0, 8.0],
                          "flagged_per_set": [2.0, 1.0, 0.5], "peak_flexion_deg": [70.0, 68.0, 66.0],
                          "eccentric_s": [2.0, 2.2, 2.5], "pause_bottom_s": [0.3, 0.4, None],
                          "concentric_s": [1.2, 1.1, 1.0], "pause_top_s": [1.0, 0.9, 0.8]})
    fig = plots.trend_figure(weeks, "rdl")
    fig.canvas.draw()
    ax = _ax(fig, "trend-tempo")
    assert len(ax.patches) == 3 * 4
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026-W09", "2026-W10", "2026-W11"]
    reps = _ax(fig, "trend-reps")
    assert [round(p.get_height(), 3) for p in reps.patches] == [6, 7, 8, 2, 1, 0.5]
    assert "rdl" in reps.get_title()
    np.testing.assert_allclose(_ax(fig, "trend-peak").lines[0].get_ydata(), [70, 68, 66])


def test_a_long_trend_labels_every_few_weeks_without_overlap():
    """30 weeks: a label every 3rd week (at most TREND_MAX_LABELS), none over another, all within the figure
    (every week's label collided from 16 weeks on)."""
    n = 30
    weeks = pd.DataFrame({"week": [f"2026-W{k:02d}" for k in range(1, n + 1)], "reps_per_set": [6.0] * n,
                          "flagged_per_set": [1.0] * n, "peak_flexion_deg": [60.0] * n, "eccentric_s": [2.0] * n,
                          "pause_bottom_s": [0.3] * n, "concentric_s": [1.2] * n, "pause_top_s": [1.0] * n})
    fig = plots.trend_figure(weeks, "deadlift")
    _assert_inside_figure(fig)
    labels = _ax(fig, "trend-tempo").get_xticklabels()
    assert [t.get_text() for t in labels] == [f"2026-W{k:02d}" for k in range(1, n + 1, 3)]
    _assert_no_overlap(labels, fig.canvas.get_renderer())


def test_analyze_draws_each_figure_once_for_the_plots_and_the_html(session, tmp_path, monkeypatch):
    """With --html the page embeds the PNG files' own bytes (each figure was drawn twice: 2 min for a 2-hour
    session), and a figure is let go before the next is drawn (held together, a 2-hour session's took 1.3 GB)."""
    import base64
    import re
    import weakref

    from sensor.cmd_analyze import write_outputs

    drawn, earlier, held = Counter(), [], []

    def counting(name: str, draw):
        def counted(*args):  # (no garbage collection: the figures drawn before hold no artists any more)
            held.append(sum(ref() is not None and bool(ref().axes) for ref in earlier))
            drawn[name] += 1
            fig = draw(*args)
            earlier.append(weakref.ref(fig))
            return fig
        return counted

    for name in ("overview_figure", "set_figure"):
        monkeypatch.setattr(plots, name, counting(name, getattr(plots, name)))
    report, trace = session
    written = write_outputs(report, trace, tmp_path, plots=True, html=True)
    assert drawn == {"overview_figure": 1, "set_figure": len(report.sets)}
    assert held == [0] * (1 + len(report.sets))
    html = (tmp_path / "report.html").read_text()
    for path in written:
        if path.suffix == ".png":
            img_id = "img-overview" if path.stem == "overview" else f"img-{path.stem}"
            uri = re.search(rf'<img id="{img_id}" src="data:image/png;base64,([^"]+)"', html).group(1)
            assert base64.b64decode(uri) == path.read_bytes()


def test_trend_legends_sit_above_the_data():
    """The weekly trend's legends in a band above the bars and the line (a legend placed "best" covered full bars)."""
    weeks = pd.DataFrame({"week": [f"2026-W{w:02d}" for w in range(9, 19)], "reps_per_set": [8.0] * 10,
                          "flagged_per_set": [3.0] * 10, "peak_flexion_deg": [60.0, 75.0] * 5,
                          "eccentric_s": [2.0] * 10, "pause_bottom_s": [0.3] * 10,
                          "concentric_s": [1.2] * 10, "pause_top_s": [1.0] * 10})
    fig = plots.trend_figure(weeks, "rdl")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for gid in ("trend-reps", "trend-peak"):
        ax = _ax(fig, gid)
        legend = ax.get_legend().get_window_extent(renderer)
        data = [a.get_window_extent(renderer) for a in (*ax.patches, *ax.lines)]
        assert legend.y0 > max(d.y1 for d in data), gid
