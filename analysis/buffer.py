"""A bounded history of per-sample columns, addressed by global sample index."""

from __future__ import annotations

import numpy as np


class History:
    """Keeps the last `capacity` samples of `n_columns` float64 columns.

    Rows are addressed by their global index (0 = first sample ever pushed). Memory is bounded by
    the capacity, not by how long the session runs.
    """

    def __init__(self, n_columns: int, capacity: int) -> None:
        self._data = np.empty((n_columns, 2 * capacity))
        self._capacity = capacity
        self._len = 0  # rows held
        self.first_index = 0  # global index of row 0
        self.end_index = 0  # global index one past the newest row

    def extend(self, n: int) -> np.ndarray:
        """Room for the next n samples (n <= capacity): a (n_columns, n) view for the caller to fill."""
        if n > self._capacity:
            raise ValueError(f"cannot add {n} samples to a history of {self._capacity}")
        if self._len + n > self._data.shape[1]:  # drop the oldest, keeping capacity - n
            keep = self._capacity - n
            drop = self._len - keep
            self._data[:, :keep] = self._data[:, drop : self._len]
            self._len = keep
            self.first_index += drop
        view = self._data[:, self._len : self._len + n]
        self._len += n
        self.end_index += n
        return view

    def get(self, start_index: int, stop_index: int) -> np.ndarray:
        """Columns for global indices [start_index, stop_index), clipped to what is held (a view)."""
        a = max(start_index, self.first_index) - self.first_index
        b = min(stop_index, self.end_index) - self.first_index
        return self._data[:, a:max(a, b)]

    def held(self) -> tuple[np.ndarray, int]:
        """Every column held (a view) and the global index of its first."""
        return self._data[:, : self._len], self.first_index

    def value(self, row: int, index: int) -> float:
        """One column's value at a held global index."""
        return self._data.item(row, index - self.first_index)

    def clip(self, index: int) -> int:
        """The nearest held global index to `index`."""
        return min(max(index, self.first_index), self.end_index - 1)
