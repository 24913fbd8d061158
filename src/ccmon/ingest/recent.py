"""The keys of recently stored rows, so an exporter's retry of a request already stored is counted once."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable


class RecentKeys:
    """A set of 64-bit row keys that forgets keys older than `window_s`, or the oldest beyond `max_keys`."""

    def __init__(self, window_s: float, max_keys: int) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._keys: set[object] = set()
        self._generations: deque[tuple[float, list[object]]] = deque()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, keys: Iterable[object], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        generation = [k for k in keys if k not in self._keys]
        self._keys.update(generation)
        self._generations.append((now, generation))
        self._forget(now)

    def _forget(self, now: float) -> None:
        generations, keys = self._generations, self._keys
        while generations and (generations[0][0] < now - self.window_s or len(keys) > self.max_keys):
            keys.difference_update(generations.popleft()[1])
