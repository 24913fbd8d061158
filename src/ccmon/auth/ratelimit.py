"""Slowing down password guessing: login failures counted per client address and per login.

After `max_failures` failures within `window_s`, further attempts from that address (or at that login) are refused
with HTTP 429 until a delay has passed since the last failure; the delay doubles with every further failure, up to
`max_delay_s`. A success clears the login's count (not the address's: one right password does not license an
address to keep guessing others).

The counts live in this process's memory: they are a brake, not a record (the audit log is the record). Several
processes sharing a store each brake on their own, which multiplies an attacker's rate by the number of processes,
a small factor; the state is bounded (`max_keys`, least recently failed forgotten first).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable


class LoginLimiter:
    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 900,
        base_delay_s: float = 30,
        max_delay_s: float = 900,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, keys: Iterable[str]) -> int:
        """Seconds to wait before another attempt may be made for any of `keys`; 0: go ahead."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                over = len(recent) - self.max_failures
                if over >= 0:
                    delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(over, 32))
                    wait = max(wait, recent[-1] + delay - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, keys: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                recent.append(now)
                # Only the last few matter for the delay; keep the list short.
                self._failures[key] = recent[-(self.max_failures + 40) :]
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> list[float]:
        return [t for t in self._failures.get(key, ()) if now - t < self.window_s]
