"""The HTML report: self-contained, escaped, coached; opened in a real headless Chromium and checked
(no broken images, summary, every set and its rep table). Also the terminal summary, the coaching
texts and `backcheck report`."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import io
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.image import imread
from report_fixtures import all_flags, make_session

from analysis import coaching
from analysis.html_report import render_html, write_html
from analysis.report import FLAG_KINDS
from analysis.summary_text import WIDTH, format_summary
from sensor.cli import main

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[1] / "docs"
UPDATE_SCREENSHOTS = os.environ.get("BACKCHECK_UPDATE_SCREENSHOTS") == "1"


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]


@pytest.fixture(scope="module")
def session():
    return make_session(accelerometer_only=True)


@pytest.fixture(scope="module")
def page_html(session):
    return render_html(*session)


def test_self_contained_and_escaped(page_html, session):
    parser = _Resources()
    parser.feed(page_html)
    assert "script" not in parser.tags and "link" not in parser.tags
    images = [r for r in parser.refs if r.startswith("data:")]
    assert len(images) == 1 + len(session[0].sets)
    assert all(r.startswith("data:image/png;base64,") for r in images)
    assert all(r.startswith(("#", "data:")) for r in parser.refs)  # nothing outside the file
    assert "(speed &lt; 75 % &amp; falling)" in page_html and "speed < 75" not in page_html


def test_summary_coaching_and_notes(page_html, session):
    report, _ = session
    assert page_html.index('id="summary"') < page_html.index('id="coaching"') < page_html.index('id="set-1"')
    assert "Accelerometer-only recording" in page_html
    for title in ("Rounded lower back", "Torso heave", "Bouncing or swinging", "Partial rep",
                  "Twisting or leaning sideways", "Slowing down (fatigue)"):
        assert f'<div class="coach" id="coach-{title.lower().translate(str.maketrans(" ()", "---"))}">' \
            in page_html, title
    for phrase in ("Lighten the load", "Brace", "Hinge at the hips", "slowly", "without a bounce",
                   "torso still", "full range", "hips and shoulders square"):
        assert phrase.lower() in page_html.lower(), phrase
    worst = re.search(r'<ol id="worst">(.*?)</ol>', page_html).group(1)
    assert worst.count("<li>") == 5
    assert worst.index("Rounded lower back") < worst.index("Twisting")  # worst for the back first
    assert page_html.count('class="flagged"') == sum(1 for _, r in report.reps if r.flags)


def test_no_flags_says_so(session):
    report, trace = session
    unflagged = [dataclasses.replace(s, reps=tuple(dataclasses.replace(r, flags=()) for r in s.reps))
                 for s in report.sets]
    clean = dataclasses.replace(report, sets=tuple(unflagged))
    html = render_html(clean, trace)
    assert "No flags: every rep stayed within your limits." in html and 'id="coaching"' not in html


def test_a_prescribed_tempo_is_named(session, page_html):
    report, trace = session
    assert "Tempo set:" not in page_html
    flags = {"tempo_eccentric_s": 3.0, "tempo_pause_bottom_s": None, "tempo_concentric_s": 1.0,
             "tempo_pause_top_s": None, "tempo_tolerance_s": 0.5}
    html = render_html(dataclasses.replace(report, settings={**report.settings, "flags": flags}), trace)
    assert "Tempo set: 3-X-1-X (s; X: no target); a phase more than 0.5 s shorter is flagged." in html


def _browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (scripts/setup.sh --test installs it)")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def test_report_in_headless_chromium(session, tmp_path):
    report, trace = session
    path = write_html(report, trace, tmp_path / "report.html")
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1500})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            images = page.evaluate("Array.from(document.images).map(i => [i.id, i.complete, i.naturalWidth])")
            assert [i[0] for i in images] == ["img-overview", "img-set-1", "img-set-2", "img-set-3"]
            assert all(complete and width == 1100 for _, complete, width in images), images
            assert page.is_visible("#summary") and page.is_visible("#img-overview")
            assert page.inner_text("#summary h2") == "Summary"
            assert page.locator("#sets-table tr").count() == 1 + len(report.sets)
            for s in report.sets:
                assert page.is_visible(f"#set-{s.index}")
                assert page.locator(f"#reps-{s.index} tr").count() == 1 + len(s.reps)
                assert s.exercise in page.inner_text(f"#set-{s.index} h2")
            assert page.locator("#worst li").count() == 5
            page.click("#worst li a >> nth=0")  # in-page link to the worst rep's row
            assert page.evaluate("location.hash") == "#set-3-rep-7"
            assert all(u.startswith(("file://", "data:")) for u in requests), requests
            shots = DOCS if UPDATE_SCREENSHOTS else tmp_path
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=shots / "report_screenshot.png")
            page.locator("#set-3").screenshot(path=shots / "report_set_screenshot.png")
            assert (shots / "report_screenshot.png").stat().st_size > 50_000
        finally:
            browser.close()


def test_terminal_summary(session):
    report, _ = session
    text = format_summary(report)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    assert lines[0] == "Session 4:50 long (fixture tag, 50 Hz): 3 sets, 21 reps, 9 flagged"
    assert lines[1].startswith("Note: Accelerometer-only recording")
    assert "Set 2: bent-over-row (guessed), 8 reps, 3 flagged (1:50-2:16)" in lines
    rep_lines = [line for line in lines if re.match(r"\s+\d+\s+\d+:\d\d ", line)]
    assert len(rep_lines) == 21
    assert "rounding 77>75 deg" in text and "partial 48<70%" in text and "momentum 0.35<0.7s" in text
    assert sum(line.count(k) for line in rep_lines for k in FLAG_KINDS) == len(all_flags(report))


def test_coaching_texts():
    for kind in FLAG_KINDS:
        a = coaching.advice(kind)
        assert a.kind == kind and a.title and a.meaning and len(a.changes) >= 2 and coaching.cue(kind)
    assert coaching.advice("momentum", "trunk-still").title == "Torso heave"
    assert coaching.advice("momentum", "top-start").title == "Bouncing or swinging"
    with pytest.raises(ValueError, match="unknown flag kind 'slouch'"):
        coaching.advice("slouch")


def test_backcheck_report_command(session, tmp_path, capsys):
    report, trace = session
    analysis = tmp_path / "analysis"
    analysis.mkdir()
    (analysis / "report.json").write_text(report.to_json())
    trace.write_csv(analysis / "trace.csv")
    assert main(["report", str(analysis), "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "overview.png", "report.html", "set-1.png", "set-2.png", "set-3.png"]
    assert f"report: {tmp_path / 'out' / 'report.html'}" in capsys.readouterr().out
    assert main(["report", str(analysis / "report.json")]) == 0  # default: next to report.json
    assert (analysis / "report.html").read_text().count('<section class="set"') == 3

    (analysis / "report.json").write_text('{"schema": "backcheck.report/1",\n "sets": [}')
    assert main(["report", str(analysis)]) == 3
    assert f"{analysis / 'report.json'}, line 2 column 11: not valid JSON" in capsys.readouterr().err
    (analysis / "report.json").write_text('{"schema": "backcheck.report/9"}')
    assert main(["report", str(analysis)]) == 3
    assert "not a backcheck.report/1 report" in capsys.readouterr().err
    (analysis / "report.json").write_text(report.to_json())
    (analysis / "trace.csv").unlink()
    assert main(["report", str(analysis)]) == 3
    assert f"{analysis / 'trace.csv'}: no such file" in capsys.readouterr().err
    (analysis / "trace.csv").write_text("t,flexion\n1,2\n")
    assert main(["report", str(analysis)]) == 3
    assert "trace.csv, line 1: expected columns t_s,flexion_deg" in capsys.readouterr().err
    trace.write_csv(analysis / "trace.csv")  # torn while written: the line cut short
    lines = (analysis / "trace.csv").read_text().splitlines()
    (analysis / "trace.csv").write_text("\n".join([*lines[:9], lines[9][:12], *lines[10:]]) + "\n")
    assert main(["report", str(analysis)]) == 3
    assert "trace.csv, line 10: expected 6 numbers separated by commas" in capsys.readouterr().err
    (analysis / "trace.csv").write_bytes(gzip.compress((analysis / "trace.csv").read_bytes()))
    assert main(["report", str(analysis)]) == 3
    assert "trace.csv: cannot be read as text" in capsys.readouterr().err


def test_report_of_a_real_analysis_of_a_simulated_session(tmp_path):
    from analysis.analyzer import Analyzer
    from analysis.plots import overview_figure
    from sensor.simulator import random_session_spec, simulate_session

    spec = random_session_spec(11, "rdl", sets=2, reps=6, faults=[(1, 4, "rounding"), (2, 5, "twist")])
    rec, truth = simulate_session(spec)
    analyzer = Analyzer(exercise="rdl")
    analyzer.push(rec.samples)
    report = analyzer.finish()
    trace = analyzer.trace()
    assert len(report.sets) == len(truth.sets) == 2
    assert abs(sum(len(s.reps) for s in report.sets) - 12) <= 2  # rep accuracy is the analyzer's tests' job
    flags = all_flags(report)
    ax = overview_figure(report, trace).axes[0]
    markers = sum(len(c.get_offsets()) for c in ax.collections if (c.get_gid() or "").startswith("flag-"))
    assert markers == len(flags)
    html = write_html(report, trace, tmp_path / "report.html").read_text()
    assert html.count('<section class="set"') == 2
    for s in report.sets:
        assert html.count(f'id="set-{s.index}-rep-') == len(s.reps)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert [imread(io.BytesIO(base64.b64decode(b)), format="png").shape[:2] for b in images] == [
        (440, 1100), (900, 1100), (900, 1100)]
    assert f"{len(flags)} flags" in re.sub(r"<[^>]+>", " ", html).replace("  ", " ")
