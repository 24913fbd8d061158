"""One thread per forward endpoint: send the spool's oldest request, remove it once the endpoint took it.

What an answer means follows the OTLP/HTTP spec: 2xx is delivered (a `partial_success` is the endpoint's verdict on
the content, nothing a resend would change); 408, 429, any 5xx, a timeout or a refused connection are temporary
(retried with exponential backoff, or after the endpoint's `Retry-After`); any other answer (4xx: malformed, too
large, unauthorised) is permanent for that request: it is dropped and counted, and the queue moves on, so one bad
request cannot hold up the rest. A 5xx is retried even where the spec says not to (500, 501): a backend's fault
or an overloaded proxy passes, and dropping data for it would be the worse mistake. Requests go one at a time,
oldest first: a backend sees them in the order ccmon received them.

The forwarding's own metrics, on the server's registry (`GET /metrics`), labelled by endpoint.

The label is the endpoint's URL without credentials (user info, query string): a URL may carry a key, and the
metrics page is readable by whoever scrapes it.
"""

from __future__ import annotations

import gzip
import logging
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge

from ccmon.forward.spool import Spool
from ccmon.http_retry import retry_after_seconds

log = logging.getLogger(__name__)

RETRYABLE_4XX = frozenset({408, 429})
MAX_RETRY_AFTER_S = 600.0
"""A `Retry-After` beyond this is read as this: an endpoint's typo must not park the queue for a day."""
IDLE_POLL_S = 1.0


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number `attempt` (1-based): initial * 2^(attempt-1), capped, with ±20 % jitter so many ccmon
    processes behind one endpoint do not retry in step."""

    initial_s: float = 0.5
    max_s: float = 30.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = min(self.max_s, self.initial_s * 2.0 ** max(0, attempt - 1))
        return base * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True)
class Verdict:
    """What to do with a request after an answer: `sent`, `retry` (after `retry_after_s` if the endpoint said), or
    `drop`."""

    action: str
    retry_after_s: float | None = None
    reason: str = ""


def verdict(status: int, headers: Mapping[str, str]) -> Verdict:
    if 200 <= status < 300:
        return Verdict("sent")
    if status in RETRYABLE_4XX or status >= 500:
        wait = retry_after_seconds(headers.get("retry-after"), cap_s=MAX_RETRY_AFTER_S)
        return Verdict("retry", wait, f"HTTP {status}")
    if 300 <= status < 400:
        # Redirects are not followed (the request would carry its headers, a credential among them, elsewhere), but
        # a moved endpoint is a configuration to fix, not data to throw away: the queue keeps it meanwhile.
        return Verdict("retry", None, f"HTTP {status} to {headers.get('location', '?')[:200]}: fix the endpoint")
    return Verdict("drop")


def endpoint_label(url: str) -> str:
    """`scheme://host[:port]/path` of a forward endpoint: what identifies it, nothing that authenticates."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


class ForwardStats:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.queued_requests = Gauge(
            "ccmon_forward_queued_requests",
            "Export requests waiting on disk to be forwarded.",
            ["endpoint"],
            registry=registry,
        )
        self.queued_bytes = Gauge(
            "ccmon_forward_queued_bytes", "Bytes the forwarding queue takes on disk.", ["endpoint"], registry=registry
        )
        self.lag = Gauge(
            "ccmon_forward_lag_seconds",
            "Age of the oldest export request waiting to be forwarded (0 when none waits).",
            ["endpoint"],
            registry=registry,
        )
        self.sent = Counter(
            "ccmon_forward_sent", "Export requests the endpoint accepted.", ["endpoint", "signal"], registry=registry
        )
        self.failed = Counter(
            "ccmon_forward_failed",
            "Forward attempts that failed and will be retried (connection error, timeout, 408, 429, 5xx).",
            ["endpoint"],
            registry=registry,
        )
        self.dropped = Counter(
            "ccmon_forward_dropped",
            "Export requests given up: `queue_full` (the oldest, to make room), `rejected` (the endpoint answered "
            "a permanent 4xx), `damaged` (unreadable on disk), `unencodable` (JSON that could not become protobuf).",
            ["endpoint", "reason"],
            registry=registry,
        )

    def watch(self, label: str, spool: Spool) -> None:
        """Read the queue's gauges from the spool at each scrape: always current, nothing to keep in step."""
        self.queued_requests.labels(label).set_function(lambda: spool.queued)
        self.queued_bytes.labels(label).set_function(lambda: spool.bytes)

        def lag() -> float:
            oldest = spool.oldest_queued_ns()
            return max(0.0, time.time() - oldest / 1e9) if oldest is not None else 0.0

        self.lag.labels(label).set_function(lag)


class Sender:
    """Drains one spool to one endpoint until stopped; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        label: str,
        spool: Spool,
        stats: ForwardStats,
        headers: Mapping[str, str],
        *,
        backoff: Backoff | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._base = urlsplit(base_url)
        self.label = label
        self.spool = spool
        self.stats = stats
        self.backoff = backoff or Backoff()
        self._headers = {
            **headers,
            "content-type": "application/x-protobuf",
            "content-encoding": "gzip",
            "user-agent": "ccmon-forwarder",
        }
        self._timeout_s = timeout_s
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ccmon-forward {label}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Something was queued: send it now rather than at the next idle poll (never cuts a backoff short)."""
        self._wake.set()

    def stop(self, join_s: float | None = None) -> bool:
        """Stop after the request in flight, if any; what is queued stays on disk for the next start.

        Waits up to `join_s` (default: the request timeout + 1 s, so a request in flight can end). False when the
        thread is still running after that: it may still use the client and remove a sent file from the spool, so
        the client stays open and the caller must keep the spool (and its lock) until the process exits."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(self._timeout_s + 1.0 if join_s is None else join_s)
            if self._thread.is_alive():
                log.error("forward endpoint %s: the sender did not stop; its queue stays locked until exit", self.label)
                return False
        self._client.close()
        return True

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            entry = self.spool.head()
            if entry is None:
                self._wake.wait(IDLE_POLL_S)
                self._wake.clear()
                continue
            payload = self.spool.read(entry)
            if payload is None:
                if self.spool.remove(entry):  # not merely dropped to make room meanwhile: damaged on disk
                    self.stats.dropped.labels(self.label, "damaged").inc()
                continue
            result = self._send(entry.signal, payload)
            if result.action == "retry":
                attempt += 1
                self.stats.failed.labels(self.label).inc()
                if attempt == 1:
                    reason = result.reason
                    log.warning("forward endpoint %s unavailable (%s); retrying, the queue waits", self.label, reason)
                # Retry-After may shorten the wait only down to the backoff's first step: a `Retry-After: 0` answer
                # repeated must not become a tight loop.
                backoff = self.backoff.delay(attempt)
                wait = backoff if result.retry_after_s is None else max(result.retry_after_s, self.backoff.delay(1))
                self._stop.wait(wait)
                continue
            if attempt:
                log.info("forward endpoint %s available again after %d failed attempts", self.label, attempt)
            attempt = 0
            if not self.spool.remove(entry):
                continue  # dropped meanwhile to make room, and counted then: not counted twice
            if result.action == "sent":
                self.stats.sent.labels(self.label, entry.signal).inc()
            else:
                self.stats.dropped.labels(self.label, "rejected").inc()

    def url(self, signal: str) -> str:
        """`<base>/v1/<signal>`, the base's query string (some gateways take a key there) kept after the path."""
        base = self._base
        return urlunsplit((base.scheme, base.netloc, f"{base.path.rstrip('/')}/v1/{signal}", base.query, ""))

    def _send(self, signal: str, payload: bytes) -> Verdict:
        try:
            response = self._client.post(self.url(signal), content=gzip.compress(payload, 5), headers=self._headers)
        except Exception as exc:  # connection refused, timeout, a client closed by stop(): all mean "later"
            return Verdict("retry", reason=type(exc).__name__)
        result = verdict(response.status_code, response.headers)
        if result.action == "drop":
            # The body may say why (a google.rpc.Status); its first bytes are enough for the log.
            log.warning(
                "forward endpoint %s refused a %s request for good (HTTP %d): %r",
                self.label,
                signal,
                response.status_code,
                response.content[:200],
            )
        return result
