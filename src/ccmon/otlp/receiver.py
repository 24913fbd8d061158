"""What both transports share: authentication, decoding, handing rows to the writer, and the outcome."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from ccmon.ingest.attribution import Attribution
from ccmon.ingest.rows import IngestBatch
from ccmon.ingest.stats import IngestStats
from ccmon.otlp.signals import Encoding, Signal
from ccmon.settings import default

# Bodies above this size are decoded in a worker thread so one large export does not stall the event loop.
_DECODE_INLINE_BYTES = 256 * 1024
RETRY_AFTER_S = 1


class Writer(Protocol):
    def submit(self, batch: IngestBatch) -> Future[None]: ...


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
        max_request_bytes: int = default("max_request_bytes"),
        max_value_length: int = default("max_attribute_length"),
        attribution: Attribution | None = None,
    ) -> None:
        self.writer = writer
        self.stats = stats
        self.tokens = tuple(t.encode() for t in tokens)
        self.max_request_bytes = max_request_bytes
        self.max_value_length = max_value_length
        self.attribution = attribution or Attribution()

    def authorized(self, authorization: str | None) -> bool:
        """True when no tokens are configured, or the `Bearer` credential matches one (in constant time)."""
        if not self.tokens:
            return True
        if not authorization:
            return False
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        presented = credential.strip().encode()
        # Compare against every token, without stopping early, so timing tells nothing about which one matched.
        matches = [hmac.compare_digest(presented, token) for token in self.tokens]
        return any(matches)

    async def export(self, signal: Signal, encoding: Encoding, data: bytes, transport: str) -> ExportOutcome:
        if len(data) > _DECODE_INLINE_BYTES:
            batch = await asyncio.to_thread(signal.decode, data, encoding, self.max_value_length, self.attribution)
        else:
            batch = signal.decode(data, encoding, self.max_value_length, self.attribution)
        self.stats.received.labels(transport, signal.name).inc(batch.rows + batch.rejected)
        if batch.rejected:
            self.stats.rejected.labels(signal.name).inc(batch.rejected)
        if batch.truncated_values:
            self.stats.truncated.inc(batch.truncated_values)
        if batch.repaired_times:
            self.stats.repaired_times.inc(batch.repaired_times)
        # Shielded: once queued, the rows are committed whatever becomes of this request. Cancelling the await (a gRPC
        # deadline, a client gone, shutdown) must not cancel the writer's future, or its set_result would raise.
        await asyncio.shield(asyncio.wrap_future(self.writer.submit(batch)))
        return ExportOutcome(batch.rows, batch.rejected, "; ".join(batch.errors))
