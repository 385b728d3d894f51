"""The one data type that flows through backcheck: a block of IMU samples.

Units are fixed at the boundary (importers, decoders, the simulator) and never change after:
time in seconds, acceleration in m/s² with gravity included, angular rate in rad/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STANDARD_GRAVITY_MPS2 = 9.80665


class SamplesError(ValueError):
    """A block of samples breaks one of the invariants of `Samples`."""


@dataclass(frozen=True, eq=False)
class Samples:
    """An immutable block of IMU samples (struct of arrays).

    t:    (n,) float64, seconds, strictly increasing (a gap is simply a long step in t).
    acc:  (n, 3) float64, m/s², specific force in the sensor frame, gravity included
          (a sensor lying still and face up reads about +9.81 on its up axis).
    gyro: (n, 3) float64, rad/s, or None for an accelerometer-only recording.

    Validated once at construction; the arrays are made read-only.
    """

    t: np.ndarray
    acc: np.ndarray
    gyro: np.ndarray | None = None

    def __post_init__(self) -> None:
        t = np.ascontiguousarray(self.t, dtype=np.float64)
        acc = np.ascontiguousarray(self.acc, dtype=np.float64)
        if t.ndim != 1:
            raise SamplesError(f"t must be one-dimensional, got shape {t.shape}")
        if acc.shape != (t.size, 3):
            raise SamplesError(f"acc must have shape ({t.size}, 3), got {acc.shape}")
        gyro = None
        if self.gyro is not None:
            gyro = np.ascontiguousarray(self.gyro, dtype=np.float64)
            if gyro.shape != (t.size, 3):
                raise SamplesError(f"gyro must have shape ({t.size}, 3), got {gyro.shape}")
            if not np.isfinite(gyro).all():
                raise SamplesError(f"gyro has a non-finite value at sample {_first_bad(gyro)}")
        if not np.isfinite(t).all():
            raise SamplesError(f"t has a non-finite value at sample {_first_bad(t)}")
        if not np.isfinite(acc).all():
            raise SamplesError(f"acc has a non-finite value at sample {_first_bad(acc)}")
        if t.size > 1:
            steps = np.diff(t)
            if (steps <= 0).any():
                i = int(np.argmax(steps <= 0)) + 1
                raise SamplesError(
                    f"t must be strictly increasing; sample {i} at {t[i]!r} s follows {t[i - 1]!r} s"
                )
        for name, arr in (("t", t), ("acc", acc), ("gyro", gyro)):
            if arr is not None:
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)

    @property
    def has_gyro(self) -> bool:
        return self.gyro is not None

    def __len__(self) -> int:
        return int(self.t.size)

    def __getitem__(self, index: slice) -> Samples:
        """A sub-block; only slices (with step 1) keep the time order guaranteed."""
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("Samples can only be sliced with a contiguous slice, e.g. s[10:20]")
        # a contiguous slice of a valid block is valid: no second validation (it costs µs per live block)
        part = object.__new__(Samples)
        object.__setattr__(part, "t", self.t[index])
        object.__setattr__(part, "acc", self.acc[index])
        object.__setattr__(part, "gyro", None if self.gyro is None else self.gyro[index])
        return part

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0]) if len(self) else 0.0

    def median_rate_hz(self) -> float:
        """Median sample rate in Hz (NaN with fewer than two samples); robust to gaps."""
        if len(self) < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.t)))

    def between(self, start_s: float, end_s: float) -> Samples:
        """Samples with start_s <= t < end_s."""
        i0, i1 = np.searchsorted(self.t, [start_s, end_s], side="left")
        return self[int(i0) : int(i1)]

    @staticmethod
    def empty(has_gyro: bool = True) -> Samples:
        return Samples(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)) if has_gyro else None)

    @staticmethod
    def concat(blocks: list[Samples]) -> Samples:
        """Join blocks in time order; all blocks must agree on having a gyroscope."""
        blocks = [b for b in blocks if len(b)]
        if not blocks:
            return Samples.empty()
        if len({b.has_gyro for b in blocks}) != 1:
            raise SamplesError("cannot join blocks with and without gyroscope")
        gyro = np.concatenate([b.gyro for b in blocks]) if blocks[0].has_gyro else None
        return Samples(
            np.concatenate([b.t for b in blocks]), np.concatenate([b.acc for b in blocks]), gyro
        )


def _first_bad(arr: np.ndarray) -> int:
    bad = ~np.isfinite(arr)
    if bad.ndim > 1:
        bad = bad.any(axis=1)
    return int(np.argmax(bad))
