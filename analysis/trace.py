"""The per-sample trunk trace of an analysis (what `trace.csv` holds and the plots draw)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

WRITE_ROWS = 50_000  # rows formatted at a time by `Trace.write_csv`

@dataclass(frozen=True, eq=False)
class Trace:
    """Per-sample trunk angles; all arrays (n,), float64 except set_index (int, 0 = not in a set)."""

    t_s: np.ndarray
    flexion_deg: np.ndarray  # signed: forward +, leaning back -
    lateral_deg: np.ndarray
    flexion_rate_dps: np.ndarray
    twist_rate_dps: np.ndarray  # NaN for accelerometer-only recordings
    set_index: np.ndarray

    COLUMNS = ("t_s", "flexion_deg", "lateral_deg", "flexion_rate_dps", "twist_rate_dps", "set_index")

    def write_csv(self, path: str | os.PathLike) -> None:
        data = np.column_stack([getattr(self, c) for c in self.COLUMNS])
        row = "%.4f,%.3f,%.3f,%.2f,%.2f,%d\n"  # one format for a block of rows: twice np.savetxt's speed
        with open(path, "w", encoding="utf-8") as f:
            f.write(",".join(self.COLUMNS) + "\n")
            for block in np.array_split(data, range(WRITE_ROWS, len(data), WRITE_ROWS)):  # (memory: a block's text)
                f.write((row * len(block)) % tuple(block.ravel().tolist()))

    @staticmethod
    def read_csv(path: str | os.PathLike) -> Trace:
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        cols = {c: data[:, i] for i, c in enumerate(Trace.COLUMNS)}
        cols["set_index"] = cols["set_index"].astype(np.int64)
        return Trace(**cols)

    def __len__(self) -> int:
        return int(self.t_s.size)

