"""Accuracy against ground truth: simulated sessions (truth files) and labelled real recordings.

Issue #3 targets, and where the analyzer stands on seeds 0-59 (the larger sweep, and seeds 60-299 the
rules are checked on: scripts/sweep_analysis.py --first-seed 60): rep F1 >= 0.98 (0.999);
exact rep count in >= 95 % of sets (98.9 %, 183 of 185 sets; seeds 60-299: 96.8-98.3 %); eccentric
and concentric within 0.15 s mean (0.089 / 0.095 s); peak flexion <= 1 deg mean (0.43); flexion RMSE
<= 1.5 deg (0.61 mean, 0.86 at the 90th percentile); rounding and momentum precision and recall >= 0.9
(1.00 / 1.00, 1.00 / 1.00); accelerometer-only rep F1 >= 0.95 (0.991).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.analyzer import Analyzer, AnalyzerSettings
from analysis.evaluate import Score, match_reps, score_sets
from analysis.events import FlagRaised, RepCompleted, SetDiscarded, SetEnded, SetStarted
from analysis.flags import FlagSettings
from analysis.samples import Samples
from sensor.importers import load
from sensor.simulator import random_session_spec, simulate_session

EXERCISES = ("deadlift", "rdl", "good-morning", "squat", "bent-over-row", "lat-pulldown")
SEEDS = range(60)  # every exercise ten times: random taping, face, 25-400 Hz, noise, bias, dropouts, rests
SQUAT5 = Path(__file__).resolve().parents[2] / "shared" / "data" / "squat5_lowback"


def _score(seeds, accelerometer_only: bool = False, guessing: bool = False,
           by_exercise: dict[str, Score] | None = None) -> tuple[Score, list[float]]:
    total, rmses = Score(), []
    for seed in seeds:
        exercise = EXERCISES[seed % len(EXERCISES)]
        rec, truth = simulate_session(random_session_spec(seed, exercise=exercise))
        samples = Samples(rec.samples.t, rec.samples.acc, None) if accelerometer_only else rec.samples
        analyzer = Analyzer(exercise=None if guessing else exercise, accelerometer_only=accelerometer_only)
        analyzer.push(samples)
        report = analyzer.finish()
        _assert_consistent(report)
        score = score_sets(report, truth.sets)
        total.merge(score)
        if by_exercise is not None:
            by_exercise.setdefault(exercise, Score()).merge(score)
        trace = analyzer.trace()
        flexion_true = np.interp(trace.t_s, truth.trace_t_s - truth.trace_t_s[0], truth.flexion_deg)
        rmses.append(float(np.sqrt(np.mean((trace.flexion_deg - flexion_true) ** 2))))
    return total, rmses


def _assert_consistent(report) -> None:
    """A set's reps follow each other (a rep ends before the next begins: a slow return's tail seen late, at
    25 Hz, once overlapped the next pull by 0.48 s), and a rep's phases add up to its span."""
    for s in report.sets:
        for before, after in zip(s.reps, s.reps[1:], strict=False):
            assert after.start_s >= before.end_s - 1e-9, (s.index, after.index, before.end_s, after.start_s)
        for r in s.reps:
            turn = r.pause_bottom_s if s.pattern == "top-start" else r.pause_top_s
            assert r.eccentric_s + turn + r.concentric_s == pytest.approx(r.end_s - r.start_s, abs=1e-6)


@pytest.fixture(scope="module")
def sixty_sessions():
    return _score(SEEDS)


def test_reps_are_found(sixty_sessions):
    score, _ = sixty_sessions
    assert score.truth > 1000
    assert score.f1 >= 0.98
    assert score.sets_exact / score.sets >= 0.95
    assert np.mean(score.ious) >= 0.95  # (0.967: reported times take off the smoothing's 0.08 s delay)


def test_tempo_phases(sixty_sessions):
    score, _ = sixty_sessions
    assert np.mean(np.abs(score.ecc_err_s)) <= 0.15
    assert np.mean(np.abs(score.con_err_s)) <= 0.15


def test_trunk_flexion(sixty_sessions):
    score, rmses = sixty_sessions
    assert np.mean(np.abs(score.peak_err_deg)) <= 1.0
    assert np.mean(rmses) <= 1.5
    assert np.percentile(rmses, 90) <= 1.5


@pytest.mark.parametrize("kind", ["rounding", "momentum"])
def test_flags(sixty_sessions, kind):
    score, _ = sixty_sessions
    assert score.flag_tp.get(kind, 0) >= 20  # enough labelled faults for the figures to mean something
    assert score.precision(kind) >= 0.9
    assert score.recall(kind) >= 0.9


def test_guessing_the_exercise():
    """Without --exercise (seeds 0-59, measured: rep F1 0.997, exact sets 97.3 %, named right 89.2 %:
    deadlift 96 %, squat, rows and pulldowns 100 %; RDL and good morning 72-73 %, as the simulator's depth
    ranges overlap (55-80° and 65-90°) and nothing else a lower-back sensor sees tells them apart)."""
    by_exercise: dict[str, Score] = {}
    score, _ = _score(SEEDS, guessing=True, by_exercise=by_exercise)
    assert score.f1 >= 0.99 and score.sets_exact / score.sets >= 0.95
    assert score.sets_named >= 0.95 * score.sets and score.sets_named_right / score.sets_named >= 0.85
    for exercise in ("deadlift", "squat", "bent-over-row", "lat-pulldown"):
        named = by_exercise[exercise]
        assert named.sets_named_right / named.sets_named >= 0.9, exercise


@pytest.fixture(scope="module")
def sixty_sessions_accelerometer_only():
    return _score(SEEDS, accelerometer_only=True)


def test_accelerometer_only_reps(sixty_sessions_accelerometer_only):
    score, _ = sixty_sessions_accelerometer_only
    assert score.f1 >= 0.95  # (0.993)
    # reported times take off the smoothing's delay (0.34 s without a gyroscope): mean overlap with the true
    # rep 0.835 -> 0.917; and phases narrowed by its spread (0.2 s at either end): 0.936, eccentric and
    # concentric errors 0.39 / 0.35 -> 0.24 / 0.20 s
    assert np.mean(score.ious) >= 0.925
    assert np.mean(np.abs(score.ecc_err_s)) <= 0.3 and np.mean(np.abs(score.con_err_s)) <= 0.3


def test_accelerometer_only_guessing():
    """Without --exercise or a gyroscope (seeds 0-59): a deadlift's set-up hold, seen short by the smoothing's
    spread at either end (0.2 s), is widened back before the set-up rule compares it: deadlifts named right
    54 -> 100 %, rep F1 0.968 -> 0.990, named right 83.7 -> 90.8 %."""
    by_exercise: dict[str, Score] = {}
    score, _ = _score(SEEDS, accelerometer_only=True, guessing=True, by_exercise=by_exercise)
    assert score.f1 >= 0.98 and score.sets_named_right / score.sets_named >= 0.85
    assert by_exercise["deadlift"].sets_named_right / by_exercise["deadlift"].sets_named >= 0.9


def test_accelerometer_only_flags(sixty_sessions_accelerometer_only):
    """Without a gyroscope a bounce's concentric keeps the smoothing's spread at its turn (no pause to
    narrow), so it is judged against momentum_max_concentric_accelerometer_only_s (0.8 s) instead of 0.7 s:
    recall 0.84, precision 0.88 on seeds 0-59 (60-119: 0.92, 0.90). A bounce's rebound
    reads 3.3 +- 2.9 deg deeper (up to 10.5), so a bounced rep rounds only 8 deg further
    (rounding_bounce_extra_accelerometer_only_deg): rounding precision 0.81 -> 1.00 (60-119: 0.78 -> 0.97,
    120-179: 0.81 -> 0.94). A deadlift's peak is read from the smoothing's delay (0.34 s) before the
    trip's smoothed start, where the back rounds as the bar leaves the floor: recall 0.86 -> 0.97
    (60-119: 0.82 -> 0.97, 120-179: 0.94 -> 0.97), precision 0.97. The issue asks no flag figures of
    accelerometer-only recordings; these floors keep what was reached."""
    summary = sixty_sessions_accelerometer_only[0].summary()
    assert summary["momentum_recall"] >= 0.75 and summary["momentum_precision"] >= 0.8
    assert summary["rounding_precision"] >= 0.9 and summary["rounding_recall"] >= 0.9


def test_sessions_begun_without_standing_still():
    """Deadlifts and rows of seeds 0-59 with no standing before the first set (start_still_s=0: the lifter
    walks up and sets up at once; the first stillness is the set-up or the row's hold). The first neutral is
    then bent over and gives way to the first stillness that can be standing (analysis.orientation, item 3):
    every later set is measured from standing. Measured: F1 0.969, later sets 1.000 (39 of 39 exact);
    before, 0.783 and 0.806 (20 of 39: the whole session was measured from the set-up, mirrored)."""
    total, later = Score(), Score()
    for seed in [s for s in SEEDS if EXERCISES[s % 6] in ("deadlift", "bent-over-row")]:
        exercise = EXERCISES[seed % 6]
        rec, truth = simulate_session(random_session_spec(seed, exercise=exercise, start_still_s=0.0))
        analyzer = Analyzer(exercise=exercise, events=False)
        analyzer.push(rec.samples)
        report = analyzer.finish()
        total.merge(score_sets(report, truth.sets))
        after_first = replace(report, sets=tuple(s for s in report.sets if s.start_s > truth.sets[0].end_s + 1.0))
        later.merge(score_sets(after_first, truth.sets[1:]))
    assert later.f1 >= 0.98 and later.sets_exact >= 0.95 * later.sets
    assert total.f1 >= 0.95


@pytest.mark.skipif(not SQUAT5.exists(), reason="../shared/data/squat5_lowback is not beside the project")
@pytest.mark.parametrize(("exercise", "min_ten_reps", "min_good_fraction", "min_named_squat"), [
    ("squat", 29, 0.95, 30),  # the target is 28 / 30; measured 29 / 30, 299 / 300
    (None, 28, 0.98, 28),  # guessed from the movement: floors under the measured 29 / 30, 298 / 300, 30 / 30
])
def test_real_squats_match_the_hand_marked_reps(exercise, min_ten_reps, min_good_fraction, min_named_squat):
    labels = pd.read_csv(SQUAT5 / "reps.csv")
    ten_reps, good, total, named_squat, bounced, overlap_sum = 0, 0, 0, 0, 0, 0.0
    for name, marked in labels.groupby("recording"):
        analyzer = Analyzer(exercise=exercise)
        analyzer.push(load(SQUAT5 / name).samples)
        sets = analyzer.finish().sets
        found = [(r.start_s, r.end_s) for s in sets for r in s.reps]
        truth = list(zip(marked.start_s, marked.end_s, strict=True))
        ten_reps += len(found) == 10
        overlaps = [overlap for _, _, overlap in match_reps(found, truth, min_iou=0.0)]
        good += sum(1 for overlap in overlaps if overlap >= 0.5)
        overlap_sum += sum(overlaps)
        total += len(truth)
        named_squat += bool(sets) and max(sets, key=lambda s: len(s.reps)).exercise == "squat"
        bounced += sum(1 for s in sets for r in s.reps if any(f.kind == "momentum" for f in r.flags))
    assert labels.recording.nunique() == 30
    assert ten_reps >= min_ten_reps
    assert good / total >= min_good_fraction
    assert named_squat >= min_named_squat
    # none of the five techniques asked for a bounce (reps follow each other without a pause, not off a
    # stretch): the hips turn at a median 1.7 m/s², at most 3.2; measured 1 of 299 reps flagged
    assert bounced <= 3
    # the trunk's start inside the hips' rep: mean overlap 0.781 -> 0.824 (both ways of running)
    assert overlap_sum / total >= 0.8


@pytest.mark.skipif(not SQUAT5.exists(), reason="../shared/data/squat5_lowback is not beside the project")
def test_real_butt_winks_are_flagged_and_correct_squats_are_not():
    """The butt-wink sets, where the pelvis tucks under at the bottom, against the correct ones: the sensor
    tips back 12-28° at the bottom for subject 1 and 4-12° for subject 2 (3 hardly winks: at most 6°),
    where correct squats dip at most 2.9° (analysis.squats.pelvis_tuck_deg). Measured with --exercise
    squat: 20 / 20 and 13 / 20 of the butt-wink reps flagged, 0 / 60 correct reps (subject 1's knee-valgus
    sets wink too: 11 / 19)."""
    labels = pd.read_csv(SQUAT5 / "reps.csv")
    tucked: dict[tuple[str, int], list[bool]] = {}
    for name, marked in labels.groupby("recording"):
        technique, subject = marked.technique.iloc[0], int(marked.subject.iloc[0])
        if technique not in ("butt_wink", "correct"):
            continue
        analyzer = Analyzer(exercise="squat")
        analyzer.push(load(SQUAT5 / name).samples)
        reps = [r for s in analyzer.finish().sets for r in s.reps]
        tucked.setdefault((technique, subject), []).extend(
            any(f.kind == "rounding" and f.message.startswith("Butt wink") for f in r.flags) for r in reps)
    winks = tucked[("butt_wink", 1)] + tucked[("butt_wink", 2)]
    assert sum(winks) >= 0.7 * len(winks)
    correct = [x for subject in (1, 2, 3) for x in tucked[("correct", subject)]]
    assert len(correct) >= 57 and sum(correct) == 0


def test_a_slow_rep_that_rounds_at_the_bottom_is_timed_from_home():
    """Tempo RDLs (seed 300 at twice the simulator's durations: a 5 s descent): the last rep's back rounds
    in a burst at the bottom, faster than the descent itself, so the onset of its fastest pulse was the
    burst's, 4.6 s late, and the rep was dropped as unlike the set. Timed from home (segmentation
    .home_fraction), it is found whole and flagged."""
    rec, truth = simulate_session(random_session_spec(300, exercise="rdl", tempo_scale=2.0))
    analyzer = Analyzer(exercise="rdl")
    analyzer.push(rec.samples)
    last_set = analyzer.finish().sets[-1]
    rounded = [r for s in truth.sets for r in s.reps if "rounding" in r.labels]
    assert len(rounded) == 1 and len(last_set.reps) == 9
    rep = last_set.reps[-1]
    assert abs(rep.start_s - rounded[0].start_s) < 0.15 and abs(rep.end_s - rounded[0].end_s) < 0.15
    assert [f.kind for f in rep.flags] == ["rounding"]


@pytest.mark.parametrize(("seed", "set_index"), [(3, 3), (27, 1)])
def test_a_slow_squat_set_found_by_the_trunk_keeps_its_shallower_reps(seed, set_index):
    """Guessing, squats at 1.5 times the simulator's durations: the hips' leaky height shows a slow descent's travel
    as 0.19-0.23 m, and the trunk's tracker took the set's first reps (travel 0.2 m and more). A next rep leaning as
    far, 0.19 m of travel, passed for sitting down (a small lean for the hips' travel: measure's sitting rule), so
    the set ended there (seed 3's third set: 2 of 5 reps, the rest read as deadlifts half a rep off). A lifter sits
    down once, not rep after rep: a trip continuing an open set of two reps or more, leaning as far, is its rep."""
    rec, truth = simulate_session(random_session_spec(seed, exercise="squat", tempo_scale=1.5))
    analyzer = Analyzer()
    analyzer.push(rec.samples)
    sets = analyzer.finish().sets
    true_reps = truth.sets[set_index - 1].reps
    found = [s for s in sets if s.start_s < true_reps[-1].end_s and s.end_s > true_reps[0].start_s]
    assert len(found) == 1 and found[0].exercise == "squat"
    assert len(found[0].reps) == len(true_reps)
    for rep, true_rep in zip(found[0].reps, true_reps, strict=True):  # (within the tempo tests' 0.15 s and more)
        assert abs(rep.start_s - true_rep.start_s) < 0.5 and abs(rep.end_s - true_rep.end_s) < 0.5


@pytest.mark.parametrize("seed", [24, 48])
def test_deadlifts_held_long_at_lockout_are_reps(seed):
    """Slow deadlifts (twice the simulator's durations) hold lockout up to 4 s, as lifters breathe at the top
    between reps; past `max_turn_dwell_s` (3 s) those reps were dropped and their sets split. A floor-start
    turn may be held `lockout_max_hold_s` (6 s): deadlifts of seeds 0-59 at 2x exact sets 82 -> 100 %."""
    rec, truth = simulate_session(random_session_spec(seed, exercise="deadlift", tempo_scale=2.0))
    analyzer = Analyzer(exercise="deadlift")
    analyzer.push(rec.samples)
    score = score_sets(analyzer.finish(), truth.sets)
    assert score.sets_exact == score.sets and score.f1 == 1.0


def _with_a_long_pause(seed: int, pause: str, pause_s: float, exercise: str = "deadlift",
                       every_rep: bool = False) -> Score:
    """A session (no faults) whose 4th rep of every set (or every rep) pauses `pause` for pause_s ("pause_top_s":
    a deadlift's lockout, standing at the top of a squat or hinge; "pause_bottom_s": at the floor before the next
    pull, at the bottom of a squat or hinge), scored against its truth."""
    spec = random_session_spec(seed, exercise=exercise, faults=())
    spec = replace(spec, sets=tuple(
        replace(s, reps=tuple(replace(r, **{pause: pause_s}) if k == 3 or every_rep else r
                              for k, r in enumerate(s.reps)))
        for s in spec.sets))
    rec, truth = simulate_session(spec)
    analyzer = Analyzer(exercise=exercise)
    analyzer.push(rec.samples)
    return score_sets(analyzer.finish(), truth.sets)


def test_one_long_breath_at_lockout_keeps_the_set():
    """A lifter takes a 5 s breath at the top of the 4th deadlift in every set (seeds 300-304): that rep
    lasted over twice the set's median (`max_duration_ratio`), and the set ended while it was held, so sets
    split (25 of 59 over seeds 300-319). A floor-start rep's hold counts up to `max_turn_dwell_s` for the
    set's rules, and the set waits `lockout_max_hold_s` longer for a trip under way: 59 of 59."""
    for seed in range(300, 305):
        score = _with_a_long_pause(seed, "pause_top_s", 5.0)
        assert score.sets_exact == score.sets and score.f1 == 1.0, seed


def test_a_rest_at_the_bar_keeps_the_deadlift_set():
    """A dead-stop reset: 7 s at the bar, on the floor, before the 5th pull of every set (seeds 300-304).
    Past `set_gap_s` (5 s) the set had ended (a 5 s rest split 29 of 59 sets over seeds 300-319, 7 s 52);
    while the flexion stays within a rep's home band of where the last rep ended it stays open up to
    `floor_rest_max_s`, and a lifter leaving the bar after `floor_rest_min_s` there is given a rep's time:
    59 of 59 at 5, 6, 7 and 9 s."""
    for seed in range(300, 305):
        score = _with_a_long_pause(seed, "pause_bottom_s", 7.0)
        assert score.sets_exact == score.sets and score.f1 == 1.0, seed


@pytest.mark.parametrize("exercise", ["squat", "rdl", "good-morning"])
def test_breaths_at_the_top_keep_the_set(exercise):
    """Breaths standing at the top between heavy reps: 8 s after the 4th rep of every set (seeds 300-309). Past
    `set_gap_s` (5 s) the set had ended: 2 of 32 sets exact for each exercise. While the lifter takes no step
    (`rest_max_activity_mps2`) it stays open up to `top_rest_max_s`, and one going down again is given a rep's
    time; a rep after such a rest must be like the set's (not a plate picked up after it); a squat's hips' leaky
    height, drifting on after the last rep and then still, was timed as the next rep's way down and a hold at its
    bottom (3 of 32 squat sets lost that rep): that trip starts where the drift ended. Now 32 of 32 each."""
    total = Score()
    for seed in range(300, 310):
        total.merge(_with_a_long_pause(seed, "pause_top_s", 8.0, exercise))
    assert total.sets_exact == total.sets and total.f1 == 1.0


def test_pause_squats_are_timed_by_the_trunk():
    """Pause squats, every rep held 3 s at the bottom (seeds 300-309): the hips' leaky height decays through the
    pause, so their reps came out bottom to bottom (9 of 32 sets exact, F1 0.80). A squat held
    `squat_paused_min_s` at the bottom is the trunk's to time (20 of 32, 0.89), and the hips' set, in half reps,
    waits while the trunk is still out on a trip it began with that set (`Analyzer._slow_squat_pending`): 32 of 32,
    F1 1.0 (2 s: 32 of 32; 4 s: 32 of 32, 0.996)."""
    total = Score()
    for seed in range(300, 310):
        total.merge(_with_a_long_pause(seed, "pause_bottom_s", 3.0, "squat", every_rep=True))
    assert total.sets_exact == total.sets and total.f1 >= 0.99


@pytest.mark.parametrize("exercise", ["rdl", "good-morning"])
def test_paused_hinges_are_reps(exercise):
    """Paused RDLs and good mornings, every rep held 4 s at the bottom (seeds 300-309): a turn held over
    `max_turn_dwell_s` (3 s) was no rep: 2 of 32 sets, F1 0.09. The exercise given, a hinge's or squat's bottom
    may be held `bottom_max_hold_s`: RDLs 28 of 32, F1 0.992; good mornings 27 of 32, 0.990."""
    total = Score()
    for seed in range(300, 310):
        total.merge(_with_a_long_pause(seed, "pause_bottom_s", 4.0, exercise, every_rep=True))
    assert total.sets_exact >= 0.8 * total.sets and total.f1 >= 0.98


def test_rushed_reps_are_told_against_the_prescribed_tempo():
    """--tempo 2.5-X-X-X (tolerance 0.5 s): a rep is flagged when its true eccentric was under 2 s. Reps
    within 0.2 s of that line may go either way (the eccentric's mean error is ~0.09 s); seeds 0-4 (one
    session of each hinge, squat and row) judge 87 others, all right."""
    judged = wrong = 0
    for seed, exercise in enumerate(("deadlift", "rdl", "good-morning", "squat", "bent-over-row")):
        rec, truth = simulate_session(random_session_spec(seed, exercise=exercise))
        analyzer = Analyzer(AnalyzerSettings(flags=FlagSettings(tempo_eccentric_s=2.5)), exercise=exercise)
        analyzer.push(rec.samples)
        found = [r for s in analyzer.finish().sets for r in s.reps]
        true_reps = [r for s in truth.sets for r in s.reps]
        for i, j, _ in match_reps([(r.start_s, r.end_s) for r in found], [(r.start_s, r.end_s) for r in true_reps]):
            if abs(true_reps[j].eccentric_s - 2.0) >= 0.2:
                judged += 1
                wrong += any(f.kind == "tempo" for f in found[i].flags) != (true_reps[j].eccentric_s < 2.0)
    assert judged >= 80 and wrong == 0


def test_a_pause_at_home_cut_short_is_told_when_the_set_ends():
    """The pause at the top of a top-start rep is known only when the next rep starts, so a prescribed one
    (3 s; the simulator's are 0.5-2 s) is judged as the set ends: every rep but the last is flagged, and the
    flags are raised with the set's end."""
    rec, _ = simulate_session(random_session_spec(1, exercise="rdl"))
    analyzer = Analyzer(AnalyzerSettings(flags=FlagSettings(tempo_pause_top_s=3.0)), exercise="rdl")
    events = analyzer.push(rec.samples)
    report = analyzer.finish()
    for s in report.sets:
        assert [any(f.kind == "tempo" for f in r.flags) for r in s.reps] == [True] * (len(s.reps) - 1) + [False]
    ended = {e.set_report.index: e.t_s for e in events if isinstance(e, SetEnded)}
    raised = [e for e in events if isinstance(e, FlagRaised) and e.flag.kind == "tempo"]
    assert len(ended) >= 2 and len(raised) == sum(len(s.reps) - 1 for s in report.sets if s.index in ended)
    assert all(e.t_s == ended[e.set_index] for e in raised)  # (the last set ends in finish, with no events)


def test_squat_phases_take_the_trunks_turn():
    """The ten squat sessions of seeds 0-59: the hips' leaky height starts and turns early (eccentric /
    concentric 0.36 / 0.54 s off before), so a brisk squat reports the trunk's start and turn inside the
    hips' rep (0.11 / 0.20 s off; the rules keep the hips' timing), less the trunk's smoothing delay, 0.08 s
    (concentric 0.20 -> 0.15 s off; real squats' mean overlap with the hand-marked reps 0.823 -> 0.841).
    Tolerance: 0.2 / 0.17 s (0.103 / 0.152 measured; 0.188 before the delay was taken off)."""
    score, _ = _score(range(3, 60, 6))
    assert len(score.ecc_err_s) > 200
    assert np.mean(np.abs(score.ecc_err_s)) <= 0.2
    assert np.mean(np.abs(score.con_err_s)) <= 0.17


def test_squat_bounces_are_told_by_the_hips():
    """The 20 squat sessions of seeds 0-119: a bounce turns the hips up out of the bottom at 3.2-5 m/s²
    (1st percentile 3.15), a controlled squat at most 1.2 m/s² (the threshold is 3). Before, squats used the
    trunk's pause and concentric times, which the hips' leaky height cannot give: precision / recall 0.57 / 0.44."""
    score, _ = _score(range(3, 120, 6))
    assert score.flag_tp.get("momentum", 0) >= 8
    assert score.precision("momentum") >= 0.9
    assert score.recall("momentum") >= 0.9


@pytest.mark.parametrize(("tempo_scale", "min_f1", "min_exact"), [(1.5, 0.98, 0.9), (2.0, 0.98, 0.9)])
def test_slow_tempo_squats_are_found_by_the_trunk(tempo_scale, min_f1, min_exact):
    """Tempo squats (seeds 300-311, the simulator's durations x1.5 and x2: descents of 2-4 s): the hips' leaky
    height (time constant 1 s) cannot follow such a descent, so its reps came apart (rep F1 0.88 and 0.70,
    exact sets 47 and 14 %). The trunk's tracker finds a squat whose descent took twice that time constant and
    whose hips moved slowly, swept once (a butt wink sweeps twice: those stay with the hips), and then any rep
    of its set; while it holds one, the hips' set is not confirmed: F1 1.00 and 1.00, every set exact, bounces
    and rounding all told."""
    score = Score()
    for seed in range(300, 312):
        rec, truth = simulate_session(random_session_spec(seed, exercise="squat", tempo_scale=tempo_scale))
        analyzer = Analyzer(exercise="squat", events=False)
        analyzer.push(rec.samples)
        score.merge(score_sets(analyzer.finish(), truth.sets))
    assert score.f1 >= min_f1
    assert score.sets_exact >= min_exact * score.sets
    assert score.recall("momentum") >= 0.9 and score.precision("momentum") >= 0.9


@pytest.mark.parametrize("seed", [300, 309])
def test_a_live_view_of_slow_squats_ends_with_the_report(seed):
    """Slow squats have two trackers' sets in play: the hips' one-rep set, announced at its rep, is discarded
    when the trunk's set is confirmed, and one still open when the recording ends is discarded by `finish`, so
    the sets a live view shows (started, less those discarded, with their reps) are the report's."""
    rec, _ = simulate_session(random_session_spec(seed, exercise="squat", tempo_scale=2.0))
    analyzer = Analyzer(exercise="squat")
    events = [e for i in range(0, len(rec.samples), 50) for e in analyzer.push(rec.samples[i : i + 50])]
    report = analyzer.finish()
    shown: dict[int, int] = {}
    for event in [*events, *analyzer.final_events]:
        if isinstance(event, SetStarted):
            shown[event.set_index] = 0
        elif isinstance(event, SetDiscarded):
            del shown[event.set_index]
        elif isinstance(event, RepCompleted):
            shown[event.set_index] += 1
    assert shown == {s.index: len(s.reps) for s in report.sets}


@pytest.mark.parametrize(("seed", "set_index", "rep_index"), [(320, 3, 5), (337, 1, 3)])
def test_a_bounce_in_a_slow_squat_set_is_told_against_the_set(seed, set_index, rep_index):
    """A bounce whose hips turned up at 2.3-3 m/s², under the 3 m/s² that flags any squat, in a set whose
    controlled reps turn at ~0.3 m/s²: 7-10 times theirs. A reversal 3 times the set's earlier reps and at
    least 1.5 m/s² is a bounce too (real unbounced bodyweight squats: at most 1.8 times their set's)."""
    found, true_set = _set_as_found(seed, "squat", set_index)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)
    assert "momentum" in true_set.reps[rep_index - 1].labels
    flagged = [r.index for r in found[0].reps if any(f.kind == "momentum" for f in r.flags)]
    assert flagged == [rep_index]


def test_first_rep_after_a_long_rest_is_found():
    """Seed 105: 27 s of standing, then a set of four squats; the hips' last turning point dates from the
    set before (a regression: the first rep was lost)."""
    rec, truth = simulate_session(random_session_spec(105, exercise="squat"))
    analyzer = Analyzer(exercise="squat")
    analyzer.push(rec.samples)
    found = analyzer.finish().sets
    after_rest = [s for s in truth.sets if any(a < s.start_s <= b + 2.0 and b - a > 20.0 and n == "stand"
                                              for a, b, n in truth.rests)]
    assert after_rest
    for true_set in after_rest:
        match = [s for s in found if abs(s.start_s - true_set.start_s) < 1.0]
        assert len(match) == 1 and len(match[0].reps) == len(true_set.reps)


@pytest.mark.parametrize(("seed", "exercise"), [(5, "lat-pulldown"), (47, "lat-pulldown"), (52, "bent-over-row")])
def test_turning_around_while_walking_is_not_a_rep(seed, exercise):
    """Walks between sets that turn back 180 deg: the trunk's small pitch sway over a turn made two "reps" of a
    trunk-still lift, a set of two, in each of these sessions (before trips were cut at the last turn)."""
    rec, truth = simulate_session(random_session_spec(seed, exercise=exercise))
    analyzer = Analyzer(exercise=exercise)
    analyzer.push(rec.samples)
    found = [(r.start_s, r.end_s) for s in analyzer.finish().sets for r in s.reps]
    true_reps = [(r.start_s, r.end_s) for s in truth.sets for r in s.reps]
    assert len(match_reps(found, true_reps)) == len(found)  # every rep found is a true one


def _set_as_found(seed: int, exercise: str, set_index: int, guessed: bool = False):
    """The sets found within 1 s of a simulated session's true set `set_index` (1-based), and that set;
    guessed: the exercise not given to the analyzer."""
    rec, truth = simulate_session(random_session_spec(seed, exercise=exercise))
    analyzer = Analyzer(exercise=None if guessed else exercise)
    analyzer.push(rec.samples)
    true_set = truth.sets[set_index - 1]
    return [s for s in analyzer.finish().sets if abs(s.start_s - true_set.start_s) < 1.0], true_set


@pytest.mark.parametrize(("seed", "set_index"), [(309, 3), (335, 1), (338, 1)])
def test_a_deadlift_that_moves_like_a_squat_is_named_by_its_set_up(seed, set_index):
    """Guessing: a deadlift with little lean for its hips' travel (squat_like) was a squat, its reps running
    lockout to lockout, half a rep off. Its first pull follows a hold at the bar (the set-up) longer than a
    squat's pause at the bottom (`floor_set_up_min_s`), so the floor-start tracker keeps such a set.
    Deadlift-only sessions 300-339 guessed: named right 95.7 -> 99.1 %, rep F1 0.966 -> 0.987."""
    found, true_set = _set_as_found(seed, "deadlift", set_index, guessed=True)
    assert len(found) == 1 and found[0].exercise == "deadlift"
    reps = [(r.start_s, r.end_s) for r in found[0].reps]
    assert len(match_reps(reps, [(r.start_s, r.end_s) for r in true_set.reps])) == len(true_set.reps) == len(reps)


@pytest.mark.parametrize(("seed", "set_index"), [(317, 3), (333, 2)])
def test_a_squat_set_is_not_a_deadlift_seen_from_the_bottom(seed, set_index):
    """Guessing: the floor-start tracker sees a squat's bottom as the floor and its rise as a pull; without
    the set-up rule (`floor_set_up_min_s` 0) these sets were named deadlift, half a rep off."""
    found, true_set = _set_as_found(seed, "squat", set_index, guessed=True)
    assert len(found) == 1 and found[0].exercise == "squat" and len(found[0].reps) == len(true_set.reps)


@pytest.mark.parametrize(("seed", "set_index"), [(21, 1), (27, 2)])
def test_sitting_down_right_after_a_squat_set_is_not_a_rep(seed, set_index):
    """The hips sink onto the seat 0.5-1 s after the last squat; their leaky height comes back while
    seated, so the trip looked like one more (shallower) squat. The seat stops the hips: they rise at
    0.43-0.53 of their sinking speed, where squats rise at 0.63 and more."""
    found, true_set = _set_as_found(seed, "squat", set_index)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)


def test_sitting_down_and_getting_up_between_squat_sets_are_not_reps():
    """Seed 0 as a squat session sits down twice between sets 1 and 2 (hips 0.45 m down, trunk leaning
    18-28 deg and back): the hips' leaky height shows each move as a dip, and six such "squats" had formed
    a set that set 2's squats joined, its rounding baseline taken from the leans (5 false flags). Inside
    those "reps" the hips' leaky height travelled 0.06-0.09 m; real squats travel 0.22 m and more, simulated
    ones 0.11 m and more (min_squat_travel_m 0.10)."""
    rec, truth = simulate_session(random_session_spec(0, exercise="squat"))
    analyzer = Analyzer(exercise="squat")
    analyzer.push(rec.samples)
    found = analyzer.finish().sets
    sits = [(a, b) for a, b, name in truth.rests if name == "sit"]
    assert not [r for s in found for r in s.reps if any(a < 0.5 * (r.start_s + r.end_s) < b for a, b in sits)]
    assert [len(s.reps) for s in found] == [len(s.reps) for s in truth.sets]
    assert not [f for s in found for r in s.reps for f in r.flags if f.kind == "rounding"]


@pytest.mark.parametrize(("seed", "set_index"), [(139, 1), (157, 2)])
def test_a_plate_picked_up_right_after_an_rdl_set_is_not_a_rounded_last_rep(seed, set_index):
    """A plate picked up 0.9-1.1 s after the set's last rep, at the set's pace, 15-21 deg deeper: it was
    counted as one more rep and flagged rounding. It held at the bottom (gripping the plate) 1.15-3 times
    as long as the set's reps; a rounded rep reaches its depth in a burst and turns (simulated: 0.2-0.96
    of the set's hold), so a last rep past the rounding threshold held that long is an unloaded bend."""
    found, true_set = _set_as_found(seed, "rdl", set_index)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)
    assert not [f for r in found[0].reps for f in r.flags if f.kind == "rounding"]


@pytest.mark.parametrize(("seed", "set_index"), [(300, 1), (315, 1)])
def test_a_plate_held_at_the_bottom_after_a_good_morning_set_is_not_a_rep(seed, set_index):
    """A plate picked up right after the set, no deeper than its reps: held at the bottom 2.8-7.5 times as
    long as the set's reps (gripping it). Simulated true last reps hold at most ~1.3 times (99th
    percentile), so a last rep held `unloaded_last_hold_ratio` (2) times as long is an unloaded bend."""
    found, true_set = _set_as_found(seed, "good-morning", set_index)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)


@pytest.mark.parametrize(("seed", "set_index"), [(323, 1), (350, 1)])
def test_standing_up_after_a_deadlift_set_then_bending_for_a_plate_is_not_a_rep(seed, set_index):
    """After the last deadlift the lifter stands up and at once bends for a plate 8-11 deg deeper than the
    bar's floor position: a "pull" and a "set-down" with no hold at the top, counted and flagged rounding.
    The set's reps put the bar down within 2.5 deg of where they lift it (99 % of simulated reps); a jerked
    rep that does not stop at lockout is rushed (under half the set's duration), so it stays."""
    found, true_set = _set_as_found(seed, "deadlift", set_index)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)
    assert not [f for r in found[0].reps for f in r.flags if f.kind == "rounding"]


@pytest.mark.parametrize(("seed", "set_index"), [(16, 1), (49, 1)])
def test_a_plate_picked_up_right_after_a_squat_set_is_not_a_rep(seed, set_index):
    """A plate picked up ~1 s after the last squat: the trunk bends to 71 deg (the set's squats lean ~48)
    with the hips' leaky height travelling ~0.2 m, so it was counted and flagged rounding. Rounded squats
    lean as far past their set's reps but travel with their hips: at most 268 deg per metre (simulated),
    so a trip 10 deg past the set leaning over 350 deg/m is a bend."""
    found, true_set = _set_as_found(seed, "squat", set_index)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)
    assert not [f for r in found[0].reps for f in r.flags if f.kind == "rounding"]


def test_a_pull_seen_late_after_a_missed_partial_keeps_its_set():
    """Seed 300 as a row session: the third pull sways 0.7 deg (a partial, below what the trackers see),
    so 4.4 s pass between reps; the next pull (1.1 deg, slow) showed its turning point only after the set
    had closed for lack of a next rep, which split the set in two. A trunk-still or floor-start rep's turn
    shows by the end of a rep of median length: the set stays open that long past `set_gap_s`."""
    rec, truth = simulate_session(random_session_spec(300, exercise="bent-over-row"))
    analyzer = Analyzer(exercise="bent-over-row")
    analyzer.push(rec.samples)
    true_set = truth.sets[0]
    inside = [s for s in analyzer.finish().sets if s.start_s < true_set.end_s and s.end_s > true_set.start_s]
    assert len(inside) == 1
    assert abs(inside[0].start_s - true_set.start_s) < 0.5 and abs(inside[0].end_s - true_set.end_s) < 0.5


def test_sitting_down_to_the_pulldown_is_not_its_first_rep():
    """Seed 306 as a pulldown session: sitting down on the machine leans the trunk 17 deg and back 4 s
    before the first pull (2.7 deg): once the set stayed open long enough to see that pull, the lean was
    its first rep, flagged momentum. A first trunk-still "rep" swaying over `still_first_max_ratio` (3)
    times the second is dropped (a partial second pull sways 0.4-0.6 of a full one)."""
    found, true_set = _set_as_found(306, "lat-pulldown", 1)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)


@pytest.mark.parametrize(("seed", "set_index"), [(183, 2), (195, 1)])
def test_standing_tall_after_a_squat_set_is_not_a_rep(seed, set_index):
    """After the last squat the hips' leaky height overshoots the top and sinks back while the lifter
    straightens up: a "rep" leaning 11-16 deg against the set's 33-50 that began 0.5-0.6 s before the last
    one ended. A squat does not begin that early with under half the set's lean."""
    found, true_set = _set_as_found(seed, "squat", set_index)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)
    assert found[0].end_s <= true_set.end_s + 1.0


@pytest.mark.parametrize(("seed", "set_index"), [(123, 1), (141, 1)])
def test_a_squat_after_a_bounced_one_is_timed_from_its_own_start(seed, set_index):
    """A slow squat right after a bounced one: the trunk's timing window opens 1 s before the hips' trip
    and took in the bounced rep's fast descent as this rep's way down, so the rep ran 2 s long and ended
    the set (its last rep was lost). The window now opens at the trunk's lowest point before the turn.
    Tolerance: the hips time a squat to ~0.4 s (sweep), so a start within 1 s is this rep's own."""
    found, true_set = _set_as_found(seed, "squat", set_index)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)
    after_bounce = [i for i in range(1, len(true_set.reps)) if "momentum" in true_set.reps[i - 1].labels]
    assert after_bounce
    for i in after_bounce:
        assert abs(found[0].reps[i].start_s - true_set.reps[i].start_s) < 1.0


def test_a_squat_after_a_bounce_is_timed_from_the_trunks_low_point_after_the_bounce():
    """Seed 303 as a squat session, set 1: rep 4 follows a bounced rep 3. The trunk's timing window opened
    1 s before the hips' trip and took its lowest point in it, which was the standing before the bounce
    (0.5 deg, against 1 deg between the two reps): the rep was timed from the bounce's start, held "3.5 s"
    at the bottom and was dropped. The low point is now sought after the trunk's last turn before this
    rep's. Tolerance: the rep's start within 1 s of the true one (the hips time a squat to ~0.4 s)."""
    found, true_set = _set_as_found(303, "squat", 1)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)
    assert "momentum" in true_set.reps[2].labels
    assert abs(found[0].reps[3].start_s - true_set.reps[3].start_s) < 1.0


def test_guessing_keeps_a_squat_sets_first_reps():
    """Seed 21, the first set of six squats, exercise not given: the hips' leaky height held the first
    rep's bottom 1.3 s and the second's not at all, so the set was taken for a deadlift's set-up and
    dropped, and only the last four reps were found. A set-up is a trunk's bend: the hips' tracker no
    longer judges it."""
    found, true_set = _set_as_found(21, "squat", 1, guessed=True)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps) == 6
    assert found[0].exercise == "squat"


def test_guessing_keeps_a_partial_squat_in_its_set():
    """Seed 213, the first set of eight squats, exercise not given: rep 7 is a partial (21 deg) whose hips
    travelled under the 0.2 m a squat needed inside a squat set, so neither tracker took it, 6.4 s passed
    between reps and the set ended with rep 6. Partial squats' hips travel 0.14-0.27 m at a squat's lean
    per metre; inside a squat set the travel need only pass min_squat_travel_m (0.1 m)."""
    found, true_set = _set_as_found(213, "squat", 1, guessed=True)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps) == 8
    assert found[0].exercise == "squat"


@pytest.mark.parametrize(("seed", "set_index"), [(0, 1), (162, 2)])
def test_guessing_tells_a_deadlifts_set_up_from_a_hinge(seed, set_index):
    """Exercise not given: the bend down to the bar and the hold to set up (0.9-1.2 s at the turn) made
    the first trip of the top-start tracker, whose set (lockout to floor to lockout, half a rep off) was
    confirmed before the floor-start tracker's. A first turn held 1.5 times the second's (was 2) is a
    set-up: simulated RDLs and good mornings hold their first turn at most 1.38 times the second's."""
    found, true_set = _set_as_found(seed, "deadlift", set_index, guessed=True)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)
    assert found[0].exercise == "deadlift"


def test_guessing_gives_a_squat_set_its_first_rep_claimed_as_a_hinge():
    """Seed 9, the first set of four squats, exercise not given: the first squat's hips travelled 0.249 m
    (squat-like from 0.25 m), so the trunk's tracker claimed it and the hips' set began with rep 2. A
    one-rep "set" of the other top-start tracker that ended just before a set's first rep and is like it
    (squat-like with a squat set's leaning) becomes its first rep."""
    found, true_set = _set_as_found(9, "squat", 1, guessed=True)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps) == 4
    assert found[0].exercise == "squat"


@pytest.mark.parametrize(("seed", "set_index"), [(37, 2), (349, 1)])
def test_guessing_sitting_down_after_an_rdl_set_is_not_its_last_rep(seed, set_index):
    """Exercise not given: sitting down right after the set leans the trunk 20-25 deg while the hips drop,
    and joined the set as a partial last rep. The rule that a top-start trunk trip leaning under 40 deg and
    under 300 deg per metre of the hips' travel is sitting down or standing up held only with --exercise;
    guessing, it holds too, for hips that travelled under 0.2 m (a squat's first rep, which the trunk's
    tracker holds until the hips' set claims it, travels more)."""
    found, true_set = _set_as_found(seed, "rdl", set_index, guessed=True)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps)


def test_guessing_standing_up_and_sitting_down_to_the_pulldown_are_not_a_set():
    """Seed 5 as pulldowns, exercise not given: between sets 2 and 3 the lifter gets up from a seat
    (leaning 24 deg) and sits down at the pulldown (16 deg), with dropouts of 0.5 and 1.1 s; the two made a
    two-rep "squat" set."""
    rec, truth = simulate_session(random_session_spec(5, exercise="lat-pulldown"))
    analyzer = Analyzer()
    analyzer.push(rec.samples)
    found = analyzer.finish().sets
    assert [s.exercise for s in found] == ["lat-pulldown"] * len(truth.sets)
    assert [len(s.reps) for s in found] == [len(s.reps) for s in truth.sets]


def test_a_rep_whose_return_fell_in_a_dropout_counts():
    """Seed 218, set 2 of good mornings at 25 Hz: a 1.2 s dropout swallowed rep 3's way up, so the trunk
    was back home with no return speed seen; the trip was abandoned, and the set split in two."""
    found, true_set = _set_as_found(218, "good-morning", 2)
    assert len(found) == 1 and len(found[0].reps) == len(true_set.reps) == 4


def test_a_first_pull_swaying_less_than_the_second_stays_in_the_set():
    """Seed 5, the first set of pulldowns: the first rep sways the trunk 2.3 deg, the second 3.4 deg. Rows
    and pulldowns vary that much from rep to rep; the first rep was dropped as a fidget (under 0.7 of the
    second) before trunk-still sets got their own fraction (0.5)."""
    rec, truth = simulate_session(random_session_spec(5, exercise="lat-pulldown"))
    analyzer = Analyzer(exercise="lat-pulldown")
    analyzer.push(rec.samples)
    first = analyzer.finish().sets[0]
    assert len(first.reps) == len(truth.sets[0].reps) == 10
    assert abs(first.reps[0].start_s - truth.sets[0].reps[0].start_s) < 0.5
