"""A token bucket counting telemetry records, one per ingest token and per process.

The bucket holds up to `burst` records and refills at `rate` records per second. A request is let in whenever the
bucket is not in debt, and then takes all its records, possibly driving the bucket below zero: an exporter's batch
may be larger than the burst, and refusing it forever would only make the exporter retry it forever. The debt is
what delays the next request, so over time no more than `rate` records per second get in.

The state lives in this process: with N ccmon processes behind a load balancer a token's effective limit is N times
its configured rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a positive number, not {rate!r}")
        self.rate = rate
        self.burst = max(burst, 1.0) if math.isfinite(burst) else rate
        self._clock = clock
        self._level = self.burst
        self._at = clock()
        self._lock = threading.Lock()  # the gRPC and the HTTP receiver run on threads of their own

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.burst, self._level + (now - self._at) * self.rate)
        self._at = now

    def retry_after(self) -> float:
        """Seconds until a request would be let in; 0 when it would be now."""
        with self._lock:
            self._refill()
            return 0.0 if self._level > 0 else (-self._level) / self.rate + 1 / self.rate

    def take(self, records: int) -> float:
        """Let `records` in and return 0, or return the seconds to wait (taking nothing) when the bucket is in debt."""
        with self._lock:
            self._refill()
            if self._level <= 0:
                return (-self._level) / self.rate + 1 / self.rate
            self._level -= records
            return 0.0
