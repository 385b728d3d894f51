"""Speed of backcheck against the libraries a user would otherwise pick, on the same data, in one run.

    .venv/bin/python scripts/bench.py [--skip-cli] [--skip-peers]

One core, warm kernels (compiled or loaded from the cache and run once before timing), best of N
wall-clock runs unless stated; the whole-recording pipeline rows take turns, eight rounds of five runs
each, so a slow spell of a shared machine does not fall on one row alone. Prints four tables: the
orientation step against imufusion and ahrs, the whole `Analyzer` pipeline, the cost of one live
10-sample block, and a cold `backcheck analyze`.
Results and the machine go into BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from analysis.analyzer import Analyzer, AnalyzerSettings
from analysis.orientation import TrunkOrientation
from analysis.samples import Samples
from sensor.simulator import random_session_spec, simulate_session

RATE_HZ = 100.0
EXERCISE = "deadlift"
PIPELINE_TARGET_SPS = 10e6  # issue #3: whole pipeline >= 10 M samples/s
LIVE_BLOCK_TARGET_US = 50.0  # issue #4: analyzer work per 10-sample block < 50 µs
CLI_TARGET_S = 2.0  # issue #3: `backcheck analyze` of 10 min at 100 Hz, cold process, < 2 s


def bench_data(duration_s: float = 600.0, rate_hz: float = RATE_HZ) -> Samples:
    """A simulated deadlift session (ten sets with rests), cut or repeated to `duration_s`."""
    spec = random_session_spec(3, EXERCISE, sets=10, rate_hz=rate_hz, dropouts=False)
    one = simulate_session(spec)[0].samples
    period_s = one.t[-1] + 1.0 / rate_hz
    copies = int(np.ceil(duration_s / period_s))
    t = np.concatenate([one.t + i * period_s for i in range(copies)])
    keep = t < duration_s
    return Samples(t[keep], np.tile(one.acc, (copies, 1))[keep], np.tile(one.gyro, (copies, 1))[keep])


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Smallest wall-clock time of `repeat` calls, s."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def best_interleaved(fns: list[Callable[[], object]], rounds: int, per_round: int) -> list[float]:
    """Smallest wall-clock time of each function over `rounds` rounds of `per_round` calls each, the
    functions taking turns within a round (a shared machine's slow spells fall on all of them alike)."""
    best = [math.inf] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            best[k] = min(best[k], best_of(fn, per_round))
    return best


def blocks_of(samples: Samples, block_n: int) -> list[Samples]:
    return [samples[i : i + block_n] for i in range(0, len(samples) - block_n + 1, block_n)]


def bench_orientation(samples: Samples, million: Samples, peers: bool) -> list[tuple[str, int, float]]:
    """(name, samples, seconds): our kernel, imufusion per sample, ahrs Madgwick in batch."""
    rows = []
    TrunkOrientation().process(samples[:100])  # warm (load or compile the kernel)
    rows.append(("backcheck TrunkOrientation (10 min)", len(samples),
                 best_of(lambda: TrunkOrientation().process(samples), 15)))
    rows.append(("backcheck TrunkOrientation (1 M)", len(million),
                 best_of(lambda: TrunkOrientation().process(million), 5)))
    blocks = blocks_of(samples, 10)[:2000]

    def ten_sample_blocks() -> None:  # per-call cost: 2000 calls on ready-made 10-sample blocks
        orientation = TrunkOrientation()
        for block in blocks:
            orientation.process(block)

    rows.append(("backcheck 10-sample blocks (2000 process calls)", 20_000, best_of(ten_sample_blocks, 7)))
    if not peers:
        return rows
    import ahrs
    import imufusion

    gyro_dps = np.degrees(samples.gyro)
    acc_g = samples.acc / 9.80665

    def fusion() -> None:  # imufusion 1.3: fixed sample period, one update per call
        filt = imufusion.Ahrs()
        filt.set_sample_period(1.0 / RATE_HZ)
        for i in range(len(samples)):
            filt.update_no_magnetometer(gyro_dps[i], acc_g[i])
            filt.get_quaternion()  # read the result, as a user would

    rows.append(("imufusion Ahrs, per sample from Python", len(samples), best_of(fusion, 3)))
    short = slice(0, 6000)  # ahrs is slow: time a tenth of the data
    gyr, acc = samples.gyro[short], samples.acc[short]
    seconds = best_of(lambda: ahrs.filters.Madgwick(gyr=gyr, acc=acc, frequency=RATE_HZ), 3)
    rows.append(("ahrs Madgwick, batch", short.stop, seconds))
    return rows


def analyze(samples: Samples, posture_update_hz: float = 10.0, events: bool = True) -> None:
    """The whole pipeline without the trace in one push, then finish (`backcheck analyze` sets
    posture_update_hz=0 and events=False: batch analysis has no live view and reads only the report)."""
    analyzer = Analyzer(AnalyzerSettings(keep_trace=False, posture_update_hz=posture_update_hz), exercise=EXERCISE,
                        events=events)
    analyzer.push(samples)
    analyzer.finish()


def bench_pipeline(samples: Samples, million: Samples, faster: list[Samples]) -> list[tuple[str, int, float]]:
    """(name, samples, seconds): Analyzer.push over whole recordings and over 1 s blocks, then finish;
    `faster`: the same session sampled faster (per-rep work is per rep, so it weighs less per sample)."""
    analyze(samples[:6000])  # warm every kernel
    blocks = blocks_of(samples, 100)

    def one_second_blocks() -> None:
        analyzer = Analyzer(AnalyzerSettings(keep_trace=False), exercise=EXERCISE)
        for block in blocks:
            analyzer.push(block)
        analyzer.finish()

    rows = [("Analyzer.push + finish (10 min, one block)", len(samples), lambda: analyze(samples)),
            ("Analyzer.push + finish (10 min, no posture events)", len(samples),
             lambda: analyze(samples, posture_update_hz=0.0)),
            ("Analyzer.push + finish (10 min, as backcheck analyze)", len(samples),
             lambda: analyze(samples, posture_update_hz=0.0, events=False))]
    rows += [(f"Analyzer.push + finish ({len(x) / 600:.0f} Hz, as backcheck analyze)", len(x),
              lambda x=x: analyze(x, posture_update_hz=0.0, events=False)) for x in faster]
    seconds = best_interleaved([fn for _, _, fn in rows], rounds=8, per_round=5)
    return [(name, n, s) for (name, n, _), s in zip(rows, seconds, strict=True)] + [
        ("Analyzer.push + finish (1 M, one block)", len(million), best_of(lambda: analyze(million), 3)),
        ("Analyzer.push + finish (10 min, 1 s blocks)", len(blocks) * 100, best_of(one_second_blocks, 5)),
    ]


def bench_live_block(samples: Samples, block_n: int = 10) -> dict[str, float]:
    """µs per `block_n`-sample block pushed through a live Analyzer: mean, p99, max (and Samples cost)."""
    blocks = blocks_of(samples, block_n)
    analyzer = Analyzer(AnalyzerSettings(keep_trace=False), exercise=EXERCISE)
    warm = len(blocks) // 10  # the first minute warms the kernels and the set/rep machinery
    for block in blocks[:warm]:
        analyzer.push(block)
    times_ns = np.empty(len(blocks) - warm)
    for j, block in enumerate(blocks[warm:]):
        start = time.perf_counter_ns()
        analyzer.push(block)
        times_ns[j] = time.perf_counter_ns() - start
    times_us = times_ns / 1e3
    first = blocks[warm]
    make = best_of(lambda: [Samples(first.t, first.acc, first.gyro) for _ in range(1000)], 5) / 1000
    return {"blocks": float(times_us.size), "mean_us": float(times_us.mean()),
            "median_us": float(np.median(times_us)), "p99_us": float(np.percentile(times_us, 99)),
            "max_us": float(times_us.max()), "samples_us": make * 1e6}


def bench_analyze_cli(samples: Samples, repeat: int = 3) -> dict[str, float]:
    """Wall time of `backcheck analyze REC --no-plots --no-history --quiet` in a fresh process (s).

    The recording is the 10-minute session written in the project's own format; one run first makes
    sure the Numba cache exists, then `repeat` cold processes are timed (best and median).
    """
    from sensor.recording import Recording, RecordingMeta, write_recording

    exe = shutil.which("backcheck", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "sensor.cli"]
    with tempfile.TemporaryDirectory(prefix="backcheck-bench-") as tmp:
        path = Path(tmp) / "session.csv"
        meta = RecordingMeta(format="backcheck", device="simulator", sample_rate_hz=RATE_HZ,
                             notes={"exercise": EXERCISE})
        write_recording(path, Recording(samples, meta))
        args = [*command, "analyze", str(path), "--no-plots", "--no-history", "--quiet",
                "--out", str(Path(tmp) / "out"), "--force"]
        subprocess.run(args, check=True)  # the kernel cache exists from here on
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(args, check=True)
            times.append(time.perf_counter() - start)
    return {"best_s": min(times), "median_s": float(np.median(times))}


def machine() -> str:
    """One line on the machine and the load while the benchmark ran."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numba

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{model}, {os.cpu_count()} CPUs, load average {load}; Python {platform.python_version()}, "
            f"numba {numba.__version__}, numpy {np.__version__}; {time.strftime('%Y-%m-%d %H:%M')}")


def print_rows(title: str, rows: list[tuple[str, int, float]], ratio: str, ratio_of: Callable[[float], float]) -> None:
    """A table of (name, samples, seconds) with samples/s, ns/sample and `ratio_of(samples/s)`."""
    print(f"\n{title}")
    header = ("what", "samples", "seconds", "samples/s", "ns/sample", ratio)
    print("{:52s} {:>9s} {:>9s} {:>10s} {:>10s} {:>12s}".format(*header))
    for name, n, seconds in rows:
        rate = n / seconds
        print(f"{name:52s} {n:9d} {seconds:9.4f} {rate:10.3g} {1e9 / rate:10.1f} {ratio_of(rate):12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cli", action="store_true", help="skip the cold `backcheck analyze` run")
    parser.add_argument("--skip-peers", action="store_true", help="skip imufusion and ahrs")
    args = parser.parse_args()
    print(machine())
    samples = bench_data()
    million = Samples(np.arange(1_000_000) / RATE_HZ, np.resize(samples.acc, (1_000_000, 3)),
                      np.resize(samples.gyro, (1_000_000, 3)))

    rows = bench_orientation(samples, million, peers=not args.skip_peers)
    ours_sps = rows[0][1] / rows[0][2]
    print_rows("Orientation step", rows, "backcheck is x", lambda rate: ours_sps / rate)
    rows = bench_pipeline(samples, million, [bench_data(rate_hz=200.0), bench_data(rate_hz=400.0)])
    print_rows(f"Whole pipeline (Analyzer, exercise {EXERCISE}, keep_trace=False)", rows,
               "x 10 M/s goal", lambda rate: rate / PIPELINE_TARGET_SPS)

    live = bench_live_block(samples)
    print(f"\nLive 10-sample blocks through Analyzer.push ({live['blocks']:.0f} blocks after a 1-minute warm-up)")
    print(f"  mean {live['mean_us']:.1f} µs, median {live['median_us']:.1f} µs, p99 {live['p99_us']:.1f} µs, "
          f"max {live['max_us']:.0f} µs; target < {LIVE_BLOCK_TARGET_US:.0f} µs "
          f"(mean / target = {live['mean_us'] / LIVE_BLOCK_TARGET_US:.2f})")
    print(f"  building the block's Samples (validation, done by the source) costs {live['samples_us']:.1f} µs more")

    if not args.skip_cli:
        cli = bench_analyze_cli(samples)
        print(f"\nCold `backcheck analyze` of the 10-minute recording ({len(samples)} samples), warm Numba cache")
        print(f"  best {cli['best_s']:.2f} s, median {cli['median_s']:.2f} s; target < {CLI_TARGET_S:.0f} s "
              f"(best / target = {cli['best_s'] / CLI_TARGET_S:.2f})")


if __name__ == "__main__":
    main()
