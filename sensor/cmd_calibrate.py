"""`backcheck calibrate`: a careful hinge sets the lifter's personal flexion limit for the rounding flag.

Method: stand still (the orientation's neutral standing pose), then hinge slowly as far as you can with
a flat back, three times. The blocks go through the one `Analyzer` (exercise hip-hinge, top-start reps;
trunk flexion from `TrunkOrientation`); every rep of more than `MIN_HINGE_DEG` range is a hinge. The
limit is the median of the hinges' peak flexion plus `--margin`. Refused when the lifter never stood
still before the first hinge, with fewer than 2 hinges, or when the hinges differ by more than
`MAX_SPREAD_DEG` (not careful and consistent). The profile (schema backcheck.profile/1) is read by
`backcheck analyze` and `backcheck live` from `profile_path()`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from analysis.analyzer import Analyzer, AnalyzerSettings
from analysis.events import CalibrationDone, Event, PostureUpdate, RepCompleted, SetDiscarded
from analysis.flags import FlagSettings
from analysis.report import Rep
from analysis.samples import Samples
from analysis.segmentation import SegmentationSettings
from sensor.cmd_analyze import PROFILE_ENV, profile_path
from sensor.errors import InputError, OverwriteError

SCHEMA = "backcheck.profile/1"
EXERCISE = "hip-hinge"
HINGES = 3  # a live calibration stops after this many hinges
MIN_HINGES = 2
MIN_HINGE_DEG = 20.0  # a hinge is a rep with a larger range of motion (deg)
MAX_SPREAD_DEG = 10.0  # hinges further apart than this (deg) were not careful and consistent
# a careful hinge may be slow and held at the bottom; a lone hinge after a long pause still counts
SETTINGS = AnalyzerSettings(
    segmentation=SegmentationSettings(min_reps_per_set=1, max_turn_dwell_s=10.0, max_trip_s=30.0),
    keep_trace=False,
)


class Guide:
    """Terminal prompts; on a terminal also the current trunk angle, redrawn in place."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty

    def say(self, text: str) -> None:
        self.stream.write(("\r\x1b[K" if self.tty else "") + text + "\n")
        self.stream.flush()

    def angle(self, flexion_deg: float) -> None:
        if self.tty:
            from sensor.live.display import angle_bar

            self.stream.write(f"\r\x1b[K  trunk {flexion_deg:+5.0f} deg {angle_bar(flexion_deg)}")
            self.stream.flush()


class HingeCalibration:
    """Feed blocks in time order (`start`, `feed`, `source_note`: the protocol of `sensor.live.session.run_source`);
    hinges are counted as they complete; `profile()` at the end gives the limit or refuses."""

    def __init__(self, origin: str, *, guide: Guide | None = None, duration_s: float | None = None) -> None:
        self.origin = origin  # the recording's path or the source spec, for messages and the profile
        self.guide = guide
        self.duration_s = duration_s
        self.analyzer: Analyzer | None = None
        self.neutral_t_s: float | None = None
        self.neutral_tilt_deg: float | None = None
        self.hinges: dict[tuple[int, int], Rep] = {}  # (set, rep) -> the hinge, as announced
        self._t0_s: float | None = None
        self.elapsed_s = 0.0

    def start(self, info: Any, first: Samples | None = None) -> None:
        acc_only = bool(getattr(info, "accelerometer_only", False))
        acc_only = acc_only or (first is not None and first.gyro is None)
        self.analyzer = Analyzer(SETTINGS, exercise=EXERCISE, accelerometer_only=acc_only)
        self._say("receiving data: stand still and tall for 3 s")

    def feed(self, block: Samples) -> list[Event]:
        if not len(block):
            return []
        if self.analyzer is None:
            self.start(None, block)
        if self._t0_s is None:
            self._t0_s = float(block.t[0])
        self.elapsed_s = float(block.t[-1]) - self._t0_s
        events = self.analyzer.push(block)
        for event in events:
            self._on_event(event)
        return events

    def _on_event(self, event: Event) -> None:
        if isinstance(event, CalibrationDone) and not event.refreshed:
            self.neutral_t_s, self.neutral_tilt_deg = event.t_s, event.neutral_tilt_deg
            self._say(f"standing pose captured (sensor {event.neutral_tilt_deg:.0f} deg from vertical); now "
                      f"slowly hinge as far as you can with a flat back, {HINGES} times")
        elif isinstance(event, RepCompleted) and event.rep.rom_deg > MIN_HINGE_DEG:
            self.hinges[(event.set_index, event.rep.index)] = event.rep
            self._say(f"hinge {len(self.hinges)}: {event.rep.peak_flexion_deg:.0f} deg")
        elif isinstance(event, SetDiscarded):  # the analyzer re-announces the reps it keeps
            kept = {k: v for k, v in self.hinges.items() if k[0] != event.set_index}
            if len(kept) < len(self.hinges):
                self._say("the hinge before did not count (unlike the next one); renumbering")
            self.hinges = kept
        elif isinstance(event, PostureUpdate) and self.guide:
            self.guide.angle(event.flexion_deg)

    def _say(self, text: str) -> None:
        if self.guide:
            self.guide.say(text)

    def source_note(self, text: str) -> None:
        """What the source says happened (a lost link, a reconnect, ...)."""
        self._say(f"source: {text}")

    @property
    def done(self) -> str | None:
        """Why a live capture should stop now, or None."""
        if self.hinges and (self.neutral_t_s is None
                            or self.neutral_t_s > min(r.start_s for r in self.hinges.values())):
            return "a hinge came before a standing stillness"
        if len(self.hinges) >= HINGES:
            return f"{HINGES} hinges recorded"
        if self.duration_s is not None and self.elapsed_s >= self.duration_s:
            return f"{self.duration_s:g} s of data recorded"
        return None

    def profile(self, margin_deg: float = 0.0) -> dict[str, Any]:
        """The profile from every hinge found; raises InputError (one sentence) when it cannot be trusted."""
        report = self.analyzer.finish() if self.analyzer is not None else None
        reps = [r for s in (report.sets if report else ()) for r in s.reps if r.rom_deg > MIN_HINGE_DEG]
        if self.neutral_t_s is None or (reps and self.neutral_t_s > reps[0].start_s):
            raise InputError(f"{self.origin}: no standing stillness before the first hinge; stand still and "
                             "tall for 3 s before hinging, then calibrate again")
        peaks = [r.peak_flexion_deg for r in reps]
        if len(peaks) < MIN_HINGES:
            raise InputError(f"{self.origin}: found {len(peaks)} hinge(s) deeper than {MIN_HINGE_DEG:g} deg, "
                             f"need at least {MIN_HINGES}; hinge slowly as far as you can with a flat back, "
                             f"{HINGES} times, standing tall in between")
        spread = max(peaks) - min(peaks)
        if spread > MAX_SPREAD_DEG:
            raise InputError(f"{self.origin}: your hinges reached {_degrees(peaks)} deg, "
                             f"{spread:.0f} deg apart (more than {MAX_SPREAD_DEG:g}), so they were not "
                             "careful and consistent; calibrate again, hinging slowly to the same depth "
                             "each time")
        return {
            "schema": SCHEMA,
            "flexion_limit_deg": round(float(np.median(peaks)) + margin_deg, 1),
            "hinges_deg": [round(p, 1) for p in peaks],
            "margin_deg": margin_deg,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": self.origin,
            "neutral_tilt_deg": round(self.neutral_tilt_deg, 1),
        }


def calibrate_recording(path: str | os.PathLike, margin_deg: float = 0.0) -> dict[str, Any]:
    """The profile from a recorded calibration in any supported format."""
    from sensor.importers import load

    recording = load(path)
    calibration = HingeCalibration(str(path))
    calibration.start(recording.meta, recording.samples)
    calibration.feed(recording.samples)
    return calibration.profile(margin_deg)


def calibrate_live(spec: str, guide: Guide, duration_s: float | None = None) -> HingeCalibration:
    """Guide a live calibration from `--source SPEC` until HINGES hinges, the duration, or Ctrl-C."""
    from sensor.live.session import run_source
    from sensor.live.sources import open_source, opened

    calibration = HingeCalibration(spec, guide=guide, duration_s=duration_s)

    async def main() -> str:
        return await run_source(await opened(open_source(spec)), calibration)

    guide.say(f"connecting to {spec} ...")
    guide.say(f"capture ended: {asyncio.run(main())}")
    return calibration


def write_profile(profile: dict[str, Any], path: Path, *, force: bool = False) -> None:
    """Write the profile as JSON (via a temporary file, so a reader never sees half of it)."""
    if path.exists() and not force:
        raise OverwriteError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(profile, indent=2) + "\n")
    tmp.replace(path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--source", metavar="SPEC", help="calibrate live from a source (as for backcheck live)")
    what.add_argument("--from-recording", metavar="PATH", type=Path, help="calibrate from a recorded file")
    what.add_argument("--show", action="store_true", help="print the current profile and exit")
    parser.add_argument("--profile", metavar="PATH", type=Path, default=None,
                        help=f"the profile (default: ${PROFILE_ENV}, else ~/.config/backcheck/profile.json)")
    parser.add_argument("--margin", metavar="DEG", type=float, default=0.0,
                        help="degrees added to your careful hinge (default 0: the limit is the hinge itself)")
    parser.add_argument("--duration", metavar="S", type=float, default=None,
                        help="live: stop after this many seconds of data (default: after 3 hinges or Ctrl-C)")
    parser.add_argument("--force", action="store_true", help="replace an existing profile")


def run(args: argparse.Namespace) -> int:
    path = args.profile if args.profile is not None else profile_path()
    if args.show:
        if not path.exists():
            raise InputError(f"{path}: no profile yet; run backcheck calibrate --source SPEC "
                             "or --from-recording PATH")
        print(f"{path}:\n{path.read_text().rstrip()}")
        return 0
    if path.exists() and not args.force:  # before the lifter does the work, not after
        raise OverwriteError(path)
    if args.from_recording is not None:
        profile = calibrate_recording(args.from_recording, args.margin)
    else:
        guide = Guide()
        guide.say(f"calibrating: stand still and tall for 3 s, then hinge slowly as far as you can with a "
                  f"flat back, {HINGES} times (Ctrl-C ends early)")
        profile = calibrate_live(args.source, guide, args.duration).profile(args.margin)
    write_profile(profile, path, force=args.force)
    print(_saved_text(profile, path))
    return 0


def _saved_text(profile: dict[str, Any], path: Path) -> str:
    limit, margin = profile["flexion_limit_deg"], profile["margin_deg"]
    plus = f" + margin {margin:g} deg" if margin else ""
    hinges = ", ".join(f"{h:.1f}" for h in profile["hinges_deg"])
    return (
        f"saved {path}:\n"
        f"  flexion limit {limit:.1f} deg = median of your hinges ({hinges} deg){plus}\n"
        f"  standing pose: sensor {profile['neutral_tilt_deg']:.0f} deg from vertical\n"
        f"backcheck analyze and backcheck live now flag rounding when a rep's peak flexion passes "
        f"{limit:.1f} deg "
        f"(or {FlagSettings().rounding_margin_deg:g} deg past the set's first reps, whichever is lower); "
        f"--flexion-limit DEG overrides it for one run, ${PROFILE_ENV} picks another profile file."
    )


def _degrees(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)

