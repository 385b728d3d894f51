"""Scoring an analysis against ground truth: rep matching, counts, timing, flexion, flags.

Used by the accuracy tests and by `scripts/sweep_analysis.py`. Truth reps are given as plain
(start_s, end_s) windows plus optional per-rep fields, so the same scoring serves the simulator's
truth files and hand-labelled real recordings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.report import Rep, SessionReport


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two time windows."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def match_reps(found: list[tuple[float, float]], truth: list[tuple[float, float]],
               min_iou: float = 0.3) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching by IoU (best pairs first); returns (found i, truth j, iou)."""
    pairs = sorted(((iou(f, t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth)), reverse=True)
    used_f: set[int] = set()
    used_t: set[int] = set()
    out = []
    for score, i, j in pairs:
        if score < min_iou:
            break
        if i in used_f or j in used_t:
            continue
        used_f.add(i)
        used_t.add(j)
        out.append((i, j, score))
    return out


@dataclass
class Score:
    """Totals over one or many sessions; `merge` adds another."""

    true_positives: int = 0
    found: int = 0
    truth: int = 0
    sets: int = 0
    sets_exact: int = 0
    sets_named: int = 0  # truth sets matched by one found set whose exercise was guessed (no --exercise)
    sets_named_right: int = 0  # ... and guessed right
    ecc_err_s: list[float] = field(default_factory=list)
    con_err_s: list[float] = field(default_factory=list)
    peak_err_deg: list[float] = field(default_factory=list)
    ious: list[float] = field(default_factory=list)
    flag_tp: dict[str, int] = field(default_factory=dict)
    flag_fp: dict[str, int] = field(default_factory=dict)
    flag_fn: dict[str, int] = field(default_factory=dict)

    def merge(self, other: Score) -> None:
        for name, value in vars(other).items():
            mine = getattr(self, name)
            if isinstance(value, list):
                mine.extend(value)
            elif isinstance(value, dict):
                for k, v in value.items():
                    mine[k] = mine.get(k, 0) + v
            else:
                setattr(self, name, mine + value)

    @property
    def f1(self) -> float:
        denom = self.found + self.truth
        return 2 * self.true_positives / denom if denom else 1.0

    def precision(self, kind: str) -> float:
        tp, fp = self.flag_tp.get(kind, 0), self.flag_fp.get(kind, 0)
        return tp / (tp + fp) if tp + fp else 1.0

    def recall(self, kind: str) -> float:
        tp, fn = self.flag_tp.get(kind, 0), self.flag_fn.get(kind, 0)
        return tp / (tp + fn) if tp + fn else 1.0

    def summary(self) -> dict:
        def mean(x: list[float]) -> float:
            return float(np.mean(np.abs(x))) if x else float("nan")

        out = {
            "rep_f1": round(self.f1, 4),
            "sets_exact_pct": round(100 * self.sets_exact / self.sets, 1) if self.sets else float("nan"),
            "exercise_guessed_right_pct": (round(100 * self.sets_named_right / self.sets_named, 1)
                                           if self.sets_named else float("nan")),
            "rep_iou_mean": round(float(np.mean(self.ious)), 3) if self.ious else float("nan"),
            "eccentric_mae_s": round(mean(self.ecc_err_s), 3),
            "concentric_mae_s": round(mean(self.con_err_s), 3),
            "peak_flexion_mae_deg": round(mean(self.peak_err_deg), 3),
        }
        for kind in sorted(set(self.flag_tp) | set(self.flag_fp) | set(self.flag_fn)):
            out[f"{kind}_precision"] = round(self.precision(kind), 3)
            out[f"{kind}_recall"] = round(self.recall(kind), 3)
        return out


def score_sets(report: SessionReport, truth_sets: list, flag_kinds: tuple[str, ...] = ("rounding", "momentum"),
               ) -> Score:
    """Score a report against truth sets (objects with .reps having start_s, end_s, and optionally
    eccentric_s, concentric_s, peak_flexion_deg, labels; optionally .exercise, to score guessed names)."""
    score = Score()
    found: list[Rep] = [r for s in report.sets for r in s.reps]
    truth = [r for s in truth_sets for r in s.reps]
    matches = match_reps([(r.start_s, r.end_s) for r in found], [(r.start_s, r.end_s) for r in truth])
    score.true_positives = len(matches)
    score.found = len(found)
    score.truth = len(truth)
    matched_found = {i for i, _, _ in matches}
    for i, j, overlap in matches:
        f, t = found[i], truth[j]
        score.ious.append(overlap)
        for name, errs in (("eccentric_s", score.ecc_err_s), ("concentric_s", score.con_err_s),
                           ("peak_flexion_deg", score.peak_err_deg)):
            fv, tv = getattr(f, name, None), getattr(t, name, None)
            if fv is not None and tv is not None:
                errs.append(fv - tv)
        kinds_f = {fl.kind for fl in f.flags}
        kinds_t = set(getattr(t, "labels", ()))
        for kind in flag_kinds:
            if kind in kinds_f and kind in kinds_t:
                score.flag_tp[kind] = score.flag_tp.get(kind, 0) + 1
            elif kind in kinds_f:
                score.flag_fp[kind] = score.flag_fp.get(kind, 0) + 1
            elif kind in kinds_t:
                score.flag_fn[kind] = score.flag_fn.get(kind, 0) + 1
    for i, f in enumerate(found):  # flags on reps that are not reps are false alarms
        if i not in matched_found:
            for kind in {fl.kind for fl in f.flags} & set(flag_kinds):
                score.flag_fp[kind] = score.flag_fp.get(kind, 0) + 1
    matched_t = {j for _, j, _ in matches}
    for j, t in enumerate(truth):
        if j not in matched_t:
            for kind in set(getattr(t, "labels", ())) & set(flag_kinds):
                score.flag_fn[kind] = score.flag_fn.get(kind, 0) + 1
    for ts in truth_sets:
        score.sets += 1
        inside = [s for s in report.sets if iou((s.start_s, s.end_s), (ts.start_s, ts.end_s)) > 0.5]
        if len(inside) == 1 and len(inside[0].reps) == len(ts.reps):
            score.sets_exact += 1
        if len(inside) == 1 and inside[0].exercise_guessed and getattr(ts, "exercise", None):
            score.sets_named += 1
            score.sets_named_right += inside[0].exercise == ts.exercise
    return score
