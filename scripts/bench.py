"""Speed of backcheck's kernels against the libraries a user would otherwise pick, on the same data.

    .venv/bin/python scripts/bench.py

One core, warm kernels (compiled and run once before timing), best of N wall-clock runs. Prints a
table of samples/s and ratios. Results and the machine go into BENCHMARKS.md by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from analysis.orientation import TrunkOrientation
from analysis.samples import Samples
from sensor.simulator import random_session_spec, simulate_session

RATE_HZ = 100.0


def bench_data(duration_s: float = 600.0) -> Samples:
    """A simulated deadlift session at 100 Hz, repeated end to end to `duration_s`."""
    rec, _ = simulate_session(random_session_spec(3, "deadlift", rate_hz=RATE_HZ, dropouts=False))
    one = rec.samples
    period_s = one.t[-1] + 1.0 / RATE_HZ
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


def bench_orientation(samples: Samples) -> list[tuple[str, int, float]]:
    """(name, samples, seconds): our kernel, imufusion per sample, ahrs Madgwick in batch."""
    import ahrs
    import imufusion

    rows = []
    TrunkOrientation().process(samples[:100])  # warm (load or compile the kernel)
    seconds = best_of(lambda: TrunkOrientation().process(samples), 7)
    rows.append(("backcheck TrunkOrientation", len(samples), seconds))

    million = Samples(
        np.arange(1_000_000) / RATE_HZ,
        np.resize(samples.acc, (1_000_000, 3)),
        np.resize(samples.gyro, (1_000_000, 3)),
    )
    seconds = best_of(lambda: TrunkOrientation().process(million), 5)
    rows.append(("backcheck TrunkOrientation (1 M)", len(million), seconds))

    block = samples[:10]
    orientation = TrunkOrientation()
    t = [0.0]

    def ten_sample_blocks() -> None:  # per-call overhead: 1000 calls of a 10-sample block
        for _ in range(1000):
            t[0] += 1.0
            orientation.process(Samples(block.t + t[0], block.acc, block.gyro))

    rows.append(("backcheck 10-sample blocks (x1000, incl. Samples)", 10_000, best_of(ten_sample_blocks, 5)))

    gyro_dps = np.degrees(samples.gyro)
    acc_g = samples.acc / 9.80665

    def fusion() -> None:  # imufusion 1.3: fixed sample period, one update per call
        filt = imufusion.Ahrs()
        filt.set_sample_period(1.0 / RATE_HZ)
        for i in range(len(samples)):
            filt.update_no_magnetometer(gyro_dps[i], acc_g[i])
            filt.get_quaternion()  # read the result, as a user would

    rows.append(("imufusion Ahrs, per sample from Python", len(samples), best_of(fusion, 3)))

    short = slice(0, 60_000 // 10)  # ahrs is slow: time a tenth of the data
    gyr, acc = samples.gyro[short], samples.acc[short]
    seconds = best_of(lambda: ahrs.filters.Madgwick(gyr=gyr, acc=acc, frequency=RATE_HZ), 3)
    rows.append(("ahrs Madgwick, batch", short.stop, seconds))
    return rows


def main() -> None:
    samples = bench_data()
    rows = bench_orientation(samples)
    ours = rows[0][1] / rows[0][2]
    header = ("what", "samples", "seconds", "samples/s", "ns/sample", "ours is x")
    print("{:52s} {:>9s} {:>9s} {:>12s} {:>10s} {:>9s}".format(*header))
    for name, n, seconds in rows:
        rate = n / seconds
        print(f"{name:52s} {n:9d} {seconds:9.4f} {rate:12.3g} {1e9 / rate:10.1f} {ours / rate:9.1f}")


if __name__ == "__main__":
    main()
