"""Forward every committed export request to the configured OTLP/HTTP endpoints (docs/interop.md#forwarding).

The receivers call `submit` once the writer has committed a request: it appends to an in-memory inbox and returns,
so ingest never waits on a disk or a network. A pump thread takes the inbox, skips requests whose digest it saw in
the dedup window (an exporter's retry, which the writer stored once and answered OK twice), re-encodes JSON as
protobuf, converts delta sums to cumulative when asked, and appends each request to every endpoint's spool on disk
(`<data_dir>/forward/<endpoint hash>/`, which also keeps that endpoint's cumulative totals and recent digests).
One sender thread per endpoint drains its spool (`ccmon.forward.sender`).

What is forwarded is always protobuf: a request that arrived as OTLP/JSON is re-encoded. Logs and traces take the
receivers' own conversion (`ccmon.otlp.json`, which ccmon stores from), so they are forwarded as ccmon read them: an
array or key-value-list attribute value becomes its JSON text. Metrics JSON goes through protobuf's JSON parser after
the OTLP/JSON differences are undone: trace and span ids in exemplars are hex in OTLP/JSON and base64 in protobuf's
JSON mapping.

Guarantees: what the writer committed reaches each endpoint at least once, in order, unless its spool overflowed
(oldest dropped, counted) or the endpoint refused it for good (counted). The inbox lives in memory: a crash (not a
graceful stop, which flushes it) loses the requests committed in the last moments before it from forwarding only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from prometheus_client import CollectorRegistry

from ccmon.forward.cumulative import DeltaToCumulative
from ccmon.forward.private import private_folder, replace_private
from ccmon.forward.sender import Backoff, ForwardStats, Sender, endpoint_label
from ccmon.forward.spool import Spool
from ccmon.otlp import json as otlp_json
from ccmon.settings import Config, ConfigError, default

log = logging.getLogger(__name__)

MIB = 1024 * 1024
INBOX_MAX_BYTES = 64 * MIB
"""What may wait in memory for the pump (a disk slower than ingest); beyond it the oldest are dropped, counted."""


_ID_KEYS = frozenset({"traceId", "spanId", "trace_id", "span_id"})


class Unencodable(ValueError):
    """A JSON request that cannot be turned into protobuf (ccmon's reader took it; protobuf's parser does not)."""


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: base64.b64encode(bytes.fromhex(value)).decode()
            if key in _ID_KEYS and isinstance(value, str)
            else _hex_ids_to_base64(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def metrics_request(data: bytes) -> bytes:
    document = _hex_ids_to_base64(orjson.loads(data))
    message = ExportMetricsServiceRequest()
    json_format.ParseDict(document, message, ignore_unknown_fields=True)
    return message.SerializeToString()


_CONVERTERS = {"logs": otlp_json.logs_request, "traces": otlp_json.traces_request, "metrics": metrics_request}


def to_protobuf(signal: str, data: bytes) -> bytes:
    """The protobuf Export*ServiceRequest an OTLP/JSON request of `signal` stands for; raises Unencodable."""
    try:
        return _CONVERTERS[signal](data)
    except Exception as exc:  # each parser raises its own kind; all mean the same here
        raise Unencodable(f"{signal} JSON request not re-encodable as protobuf: {type(exc).__name__}: {exc}") from exc


DIGESTS_MAX_KEYS = 200_000


class RecentDigests:
    """The digests of the requests forwarded recently, so an exporter's retry is forwarded once.

    The writer recognises a retry by its digest (xxh3 of the signal and the decompressed body) and stores it once,
    but answers both the request and its retry OK, so the receivers hand both to the forwarder. The same digest
    within the writer's dedup window (`dedup_window_s`) is skipped here. The digests are saved at a graceful stop
    and loaded at start, as the writer reloads its own from the store."""

    def __init__(self, path: Path, window_s: float, max_keys: int = DIGESTS_MAX_KEYS) -> None:
        self.path = path
        self.window_s = window_s
        self.max_keys = max_keys
        self._seen: OrderedDict[int, float] = OrderedDict()

    def is_repeat(self, digest: int, now: float) -> bool:
        """Whether `digest` was seen within the window; records it otherwise. 0 (no digest) is never a repeat."""
        seen = self._seen
        horizon = now - self.window_s
        while seen and (next(iter(seen.values())) < horizon or len(seen) >= self.max_keys):
            seen.popitem(last=False)
        if not digest:
            return False
        if digest in seen:
            return True
        seen[digest] = now
        return False

    def load(self) -> None:
        try:
            pairs = json.loads(self.path.read_text())
            self._seen = OrderedDict((int(d), float(t)) for d, t in pairs)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError) as exc:
            log.warning(
                "%s unreadable (%s): a retry sent just before the restart may be forwarded twice", self.path, exc
            )

    def save(self) -> None:
        replace_private(self.path, json.dumps(list(self._seen.items())).encode())


@dataclass(frozen=True)
class ForwardSettings:
    endpoints: tuple[str, ...]
    headers: tuple[tuple[str, str], ...] = ()
    cumulative: bool = False
    queue_max_bytes: int = default("forward_queue_max_mb") * MIB
    dedup_window_s: float = default("dedup_window_s")

    @classmethod
    def from_config(cls, config: Config) -> ForwardSettings:
        return cls(
            endpoints=config.forward_endpoints,
            headers=parse_headers(config.forward_headers),
            cumulative=config.forward_temporality == "cumulative",
            queue_max_bytes=config.forward_queue_max_mb * MIB,
            dedup_window_s=config.dedup_window_s,
        )


def parse_headers(items: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    headers = []
    for number, item in enumerate(items, 1):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or any(c in item for c in "\r\n"):
            # Not the item itself: it may hold the secret (`Authorization: Basic ...` written with a colon).
            raise ConfigError(f"forward_headers: item {number} is not `name=value` (e.g. `x-honeycomb-team=KEY`)")
        headers.append((name.strip(), value.strip()))
    return tuple(headers)


def forward_directory(data_dir: Path) -> Path:
    return data_dir / "forward"


def spool_directory(data_dir: Path, endpoint: str) -> Path:
    """One folder per endpoint, named by a hash of its full URL: a changed URL starts a new queue."""
    return forward_directory(data_dir) / hashlib.sha256(endpoint.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Arrival:
    signal: str
    json: bool
    data: bytes
    digest: int
    received_ns: int


class Target:
    """One endpoint and what is kept for it in its folder: the spool, the cumulative totals (with
    `forward_temporality = cumulative`) and the recent digests; and the thread that sends."""

    def __init__(
        self,
        url: str,
        directory: Path,
        settings: ForwardSettings,
        stats: ForwardStats,
        *,
        backoff: Backoff | None,
        timeout_s: float,
    ) -> None:
        self.label = endpoint_label(url)
        self.stats = stats
        self.spool = Spool(directory, settings.queue_max_bytes)
        headers = dict(settings.headers)
        self.sender = Sender(url, self.label, self.spool, stats, headers, backoff=backoff, timeout_s=timeout_s)
        self.cumulative = DeltaToCumulative(directory / "cumulative.json") if settings.cumulative else None
        self.digests = RecentDigests(directory / "digests.json", settings.dedup_window_s)
        self.started = False

    def start(self) -> None:
        damaged = self.spool.open()
        self.started = True
        if damaged:
            self.stats.dropped.labels(self.label, "damaged").inc(damaged)
        if self.cumulative is not None:
            self.cumulative.load()
        self.digests.load()
        self.stats.watch(self.label, self.spool)
        if self.spool.queued:
            log.info("forwarding to %s: %d requests queued from before", self.label, self.spool.queued)
        self.sender.start()

    def queue(self, signal: str, payload: bytes, digest: int, received_ns: int, now: float) -> None:
        if self.digests.is_repeat(digest, now):
            return
        if signal == "metrics" and self.cumulative is not None:
            payload = self.cumulative.convert(payload, now)
            self.cumulative.save(now)
        dropped = self.spool.append(signal, payload, received_ns)
        if dropped:
            self.stats.dropped.labels(self.label, "queue_full").inc(dropped)
        self.sender.wake()

    def stop(self, writers_done: bool = True) -> None:
        """Stop sending and save the state; `writers_done` False: the pump may still be appending to this target
        (it outlived the close's wait), so the digests, totals and queue are left to it as they are on disk."""
        if not self.started:
            return
        stopped = self.sender.stop()
        if not writers_done:
            return  # saving now would race the pump's own writes; what it journaled is loaded at the next start
        self.digests.save()
        if self.cumulative is not None:
            self.cumulative.compact(time.time())
        if stopped:  # else the sender may still remove files: the lock is kept (until exit) so no one else writes
            self.spool.close()


class Forwarder:
    def __init__(
        self,
        settings: ForwardSettings,
        data_dir: Path,
        registry: CollectorRegistry,
        *,
        backoff: Backoff | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.stats = ForwardStats(registry)
        self.directory = forward_directory(data_dir)
        self.targets = [
            Target(url, spool_directory(data_dir, url), settings, self.stats, backoff=backoff, timeout_s=timeout_s)
            for url in settings.endpoints
        ]
        self._inbox: deque[_Arrival] = deque()
        self._inbox_bytes = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._pump = threading.Thread(target=self._run, name="ccmon-forward-pump", daemon=True)

    def start(self) -> None:
        """Load what an earlier run left (spools, totals, recent digests), then start the pump and the senders."""
        private_folder(self.directory)  # before the endpoints' folders: `mkdir(parents=True)` gives parents 0755
        for target in self.targets:
            target.start()
        self._pump.start()
        log.info("forwarding to %s", ", ".join(target.label for target in self.targets))

    def submit(self, signal: str, is_json: bool, data: bytes, digest: int) -> None:
        """The receivers' hook, after the writer committed a request: queue it in memory and return at once. It
        never raises: the request is stored, and failing it now would only make the exporter send it again."""
        try:
            arrival = _Arrival(signal, is_json, data, digest, time.time_ns())
            dropped = 0
            with self._lock:
                self._inbox.append(arrival)
                self._inbox_bytes += len(data)
                while self._inbox_bytes > INBOX_MAX_BYTES and len(self._inbox) > 1:
                    self._inbox_bytes -= len(self._inbox.popleft().data)
                    dropped += 1
            if dropped:
                for target in self.targets:
                    self.stats.dropped.labels(target.label, "queue_full").inc(dropped)
            self._wake.set()
        except Exception:
            log.exception("could not hand a %s request to the forwarder", signal)

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what waits in memory to the spools, stop the senders, save the digests (graceful shutdown: call
        after the writer has committed its queue, so every committed request has been submitted)."""
        self._closing = True
        self._wake.set()
        if self._pump.is_alive():
            self._pump.join(timeout_s)
        pump_done = not self._pump.is_alive()
        if not pump_done:
            log.error("forwarding: %d requests not written to disk within %.0f s", len(self._inbox), timeout_s)
        for target in self.targets:
            target.stop(writers_done=pump_done)

    def _run(self) -> None:
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            closing = self._closing  # read before draining: whatever was submitted before close() is drained
            while True:
                with self._lock:
                    if not self._inbox:
                        break
                    arrival = self._inbox.popleft()
                    self._inbox_bytes -= len(arrival.data)
                try:
                    self._spool(arrival)
                except Exception:  # a full disk, a bug: forwarding suffers, ingest must not
                    log.exception("could not queue a %s request for forwarding", arrival.signal)
            if closing:
                return

    def _spool(self, arrival: _Arrival) -> None:
        payload = arrival.data
        if arrival.json:
            try:
                payload = to_protobuf(arrival.signal, payload)
            except Unencodable as exc:
                log.warning("%s", exc)
                for target in self.targets:
                    self.stats.dropped.labels(target.label, "unencodable").inc()
                return
        now = time.time()
        for target in self.targets:
            target.queue(arrival.signal, payload, arrival.digest, arrival.received_ns, now)


def open_forwarder(config: Config, registry: CollectorRegistry) -> Forwarder | None:
    """The forwarder the settings ask for, started; None when `forward_endpoints` is empty."""
    if not config.forward_endpoints:
        return None
    forwarder = Forwarder(ForwardSettings.from_config(config), Path(config.data_dir), registry)
    try:
        forwarder.start()
    except BaseException:
        forwarder.close()  # the endpoints that did start
        raise
    return forwarder
