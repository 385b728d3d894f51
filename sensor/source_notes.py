"""What a live source says happened while it streams (a lost link, a reconnect, a paused or silent phone).

The notes are kept in order for the session's summary, and whoever shows them live can wait for the
next one (`wait_past`): a lost link is said when it is lost, not when the data comes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator


class SourceNotes:
    """An ordered list of plain sentences with a wake-up for the live view (on the source's event loop)."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._waiters: list[asyncio.Future[None]] = []

    def append(self, text: str) -> None:
        self._texts.append(text)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_past(self, seen: int) -> None:
        """Return once there are more than `seen` notes."""
        while len(self._texts) <= seen:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def __len__(self) -> int:
        return len(self._texts)

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._texts[index]

    def __repr__(self) -> str:
        return f"SourceNotes({self._texts!r})"
