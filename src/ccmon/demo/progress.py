"""How far a demo load has got: events and data points acknowledged, out of how many, across worker processes.

Each shard (one worker process, or the caller's) reports its total once it has generated its data, then each
acknowledged export. Workers report through a multiprocessing queue that one thread of the caller drains, so the
caller's callback runs in the caller's process, never in a worker, and sees the counts in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import Literal

Progress = Callable[[int, int | None], None]
"""`progress(done, total)`: events and data points acknowledged so far, and the number to send (None until every
shard has generated its data)."""

Message = tuple[Literal["total", "done"], int]


class Tally:
    """Adds the shards' reports up and passes the sum to a `Progress` callback."""

    def __init__(self, shards: int, progress: Progress) -> None:
        self._shards = shards
        self._progress = progress
        self._totals: list[int] = []
        self._done = 0
        self._lock = threading.Lock()

    def report(self, kind: Literal["total", "done"], count: int) -> None:
        # Under the lock, so the callback sees counts in order when shards report from several threads.
        with self._lock:
            if kind == "total":
                self._totals.append(count)
            else:
                self._done += count
            total = sum(self._totals) if len(self._totals) == self._shards else None
            self._progress(self._done, total)


class QueueDrain:
    """A thread passing the workers' messages from a queue to a `Tally` until `close`."""

    def __init__(self, queue: Queue[Message | None], tally: Tally) -> None:
        self._queue = queue
        self._tally = tally
        self._thread = threading.Thread(target=self._run, name="ccmon-demo-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (message := self._queue.get()) is not None:
            self._tally.report(*message)

    def close(self) -> None:
        """Pass what is left in the queue, then stop (the workers have ended: nothing more arrives)."""
        self._queue.put(None)
        self._thread.join()
