"""A replayed recording whose source says something of its own, for the tests of the live view's source notes."""

from __future__ import annotations

import asyncio

from sensor.live.sources import RecordingSource
from sensor.source_notes import SourceNotes


class NotingSource(RecordingSource):
    """Replays a recording (`RecordingSource`); after its first block it notes `first`, then, once `go_on` is set
    (at once without one), notes `then` and goes on with the rest."""

    def __init__(self, *args, first: tuple[str, ...], then: tuple[str, ...] = (), go_on: asyncio.Event | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.events = SourceNotes()
        self._first, self._then, self._go_on = first, then, go_on

    async def _emit(self):
        blocks = super()._emit()
        yield await blocks.__anext__()
        for text in self._first:
            self.events.append(text)
        if self._go_on is not None:
            await self._go_on.wait()
        for text in self._then:
            self.events.append(text)
        async for block in blocks:
            yield block
