"""What both transports share: authentication, rate limits, decoding, handing rows to the writer, and the outcome."""

from __future__ import annotations

import asyncio
import hmac
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from ccmon.ingest.attribution import Attribution
from ccmon.ingest.rows import IngestBatch
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.tokens import OPEN, STATIC, Grant
from ccmon.otlp.signals import Encoding, Signal
from ccmon.settings import default

# Bodies above this size are decoded in a worker thread so one large export does not stall the event loop.
_DECODE_INLINE_BYTES = 256 * 1024
RETRY_AFTER_S = 1


class Writer(Protocol):
    def submit(self, batch: IngestBatch) -> Future[None]: ...


class TokenRegistry(Protocol):
    """The ingest tokens kept in the store (`ccmon.ingest.tokens.IngestTokens`)."""

    def required(self) -> bool: ...

    def authorize(self, presented: str) -> Grant | None: ...


Committed = Callable[[str, bool, bytes, int], None]
"""Called with (signal, whether the body is JSON, the decompressed body, its digest) once the writer has committed
a request (the forwarder's hand-off, wired by `server.py`). It must return at once: ingest waits for it."""


class RateLimited(Exception):
    """The token's rate limit is spent: HTTP 429 / gRPC RESOURCE_EXHAUSTED, retry after `retry_after_s`."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("this ingest token's rate limit is exceeded; retry later")
        self.retry_after_s = max(1, math.ceil(retry_after_s))


@dataclass(frozen=True)
class ExportOutcome:
    """A successful export; `rejected` items (and why) go into the response's partial_success."""

    accepted: int
    rejected: int
    message: str


class Receiver:
    """Decode an export request and return once its rows are committed (exceptions say why not)."""

    def __init__(
        self,
        writer: Writer,
        stats: IngestStats,
        *,
        tokens: Sequence[str] = (),
        registry: TokenRegistry | None = None,
        max_request_bytes: int = default("max_request_bytes"),
        max_value_length: int = default("max_attribute_length"),
        attribution: Attribution | None = None,
        on_committed: Committed | None = None,
    ) -> None:
        self.writer = writer
        self.on_committed = on_committed
        self.stats = stats
        self.tokens = tuple(t.encode() for t in tokens)
        self.registry = registry
        self.max_request_bytes = max_request_bytes
        self.max_value_length = max_value_length
        self.attribution = attribution or Attribution()

    def authorize(self, authorization: str | None) -> Grant | None:
        """The grant of the `Bearer` credential, or None when it is missing or wrong.

        A token is asked for when static tokens are configured or any token kept in the store is live; otherwise
        (loopback, nothing configured) every request gets the open grant."""
        registry_required = self.registry is not None and self.registry.required()
        if not self.tokens and not registry_required:
            return OPEN
        if not authorization:
            return None
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        presented = credential.strip()
        if self.registry is not None and (grant := self.registry.authorize(presented)) is not None:
            return grant
        encoded = presented.encode("utf-8", "surrogatepass")
        # Compare against every token, without stopping early, so timing tells nothing about which one matched.
        matches = [hmac.compare_digest(encoded, token) for token in self.tokens]
        return STATIC if any(matches) else None

    def authorized(self, authorization: str | None) -> bool:
        return self.authorize(authorization) is not None

    async def export(
        self, signal: Signal, encoding: Encoding, data: bytes, transport: str, grant: Grant = OPEN
    ) -> ExportOutcome:
        """Decode, then store with the grant's pins; raises RateLimited (before anything is queued) past its limit."""
        limiter = grant.limiter
        if limiter is not None and (wait := limiter.retry_after()) > 0:
            raise RateLimited(wait)  # refused before the work of decoding
        if len(data) > _DECODE_INLINE_BYTES:
            batch = await asyncio.to_thread(signal.decode, data, encoding, self.max_value_length, self.attribution)
        else:
            batch = signal.decode(data, encoding, self.max_value_length, self.attribution)
        if limiter is not None and (wait := limiter.take(batch.rows + batch.rejected)) > 0:
            raise RateLimited(wait)
        batch.pins = grant.pins
        self.stats.received.labels(transport, signal.name).inc(batch.rows + batch.rejected)
        if batch.rejected:
            self.stats.rejected.labels(signal.name).inc(batch.rejected)
        if batch.truncated_values:
            self.stats.truncated.inc(batch.truncated_values)
        if batch.repaired_times:
            self.stats.repaired_times.inc(batch.repaired_times)
        committed = self.writer.submit(batch)
        if self.on_committed is not None:
            # Told by the commit itself (in the writer's thread), not by this handler after its await: a handler
            # cancelled meanwhile (a gRPC deadline, shutdown) must not keep committed rows from the hook. A retry the
            # writer dropped as a repeat comes here too, with the same digest: the hook tells it.
            hook, name, is_json, digest = self.on_committed, signal.name, encoding is Encoding.JSON, batch.digest
            committed.add_done_callback(
                lambda done: None if done.cancelled() or done.exception() else hook(name, is_json, data, digest)
            )
        # Shielded: once queued, the rows are committed whatever becomes of this request. Cancelling the await (a gRPC
        # deadline, a client gone, shutdown) must not cancel the writer's future, or its set_result would raise.
        await asyncio.shield(asyncio.wrap_future(committed))
        return ExportOutcome(batch.rows, batch.rejected, "; ".join(batch.errors))
