"""Sustained OTLP log ingest of `ccmon serve`, end to end, against the bare protobuf parse rate.

    python bench/ingest.py [--seconds 30] [--grpc-clients 1] [--http-clients 1] [--concurrency 64] [--json out.json]

What it does, in one run (docs/performance.md has the figures and how to read them):

1. Builds a pool of Claude Code-shaped `ExportLogsServiceRequest`s, 100 log records each. Every record is a copy of a
   real Claude Code 2.1.330 record from `tests/fixtures/` (same attribute keys, same AnyValue types: `duration_ms` a
   string on tool_result and an int on api_request, and so on), re-stamped with fresh timestamps, sequences, prompt
   ids, trace ids, tool ids and token counts, in the order a session emits them (user_prompt, then api_request /
   tool_decision / tool_result loops, then assistant_response). Each request is one session's export.
2. Times `ExportLogsServiceRequest.FromString` over the pool (the bare parse rate, one core), and what ccmon's
   receiver does with the same bytes in Python before queueing them (`LOGS.decode`: validate, count records and
   repaired times, digest; the engine builds the rows at commit), with nothing else running: before the server
   starts and again after it stops, keeping the better figure.
3. Starts `ccmon serve` as a subprocess on a fresh data folder and free ports.
4. Runs load-generator processes, gRPC and HTTP/protobuf at the same time, for `--warmup` + `--seconds`. Each keeps
   `--concurrency` requests in flight in a closed loop, each on its own connection (one exporter per slot, as separate
   Claude Code processes are). Before each send the request's session id is replaced by a fresh one of the same
   length (a byte replacement, so the pool stays pre-serialized), so no row duplicates another and the writer's
   dedup drops nothing. Each request's acknowledgement latency is measured; only OK answers count as events.
5. Checks that the store holds exactly the acknowledged events: through `/metrics`
   (`ccmon_stored_rows_total{table="events"}`) while the server runs, then by counting the `events` table with
   `ccmon.store.facade.Store` after the server has stopped. Exits 1 on a mismatch.

The load generators run on the same machine as the server and share its cores; their CPU time is measured and
reported next to the server's (by thread) and the whole machine's.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "claude-code-2.1.330"
GRPC_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
HOST = "127.0.0.1"

# ---------------------------------------------------------------------------------------------------------------------
# Payloads
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class Templates:
    """The real records of the fixtures, by event name, and the resources they came under."""

    records: dict[str, list[Any]]
    resources: list[Any]
    scope: Any


def load_templates() -> Templates:
    records: dict[str, list[Any]] = {}
    resources: list[Any] = []
    scope: Any = None
    for path in sorted(FIXTURES.glob("*/*-logs.*")):
        data = path.read_bytes()
        request: Any = ExportLogsServiceRequest()
        if path.suffix == ".pb":
            request.ParseFromString(data)
        else:
            json_format.Parse(data, request)
        for resource_logs in request.resource_logs:
            resources.append(resource_logs.resource)
            for scope_logs in resource_logs.scope_logs:
                scope = scope_logs.scope
                for record in scope_logs.log_records:
                    name = record.body.string_value.removeprefix("claude_code.")
                    records.setdefault(name, []).append(record)
    if not records:
        raise SystemExit(f"no log fixtures under {FIXTURES}")
    return Templates(records, resources, scope)


def session_script(rng: random.Random, startup: bool) -> Iterator[str]:
    """Event names in the order one Claude Code session emits them."""
    if startup:
        yield "managed_settings_resolved"
        yield from ["plugin_loaded"] * 4
    while True:
        yield "user_prompt"
        for _ in range(rng.randint(0, 4)):
            if rng.random() < 0.03:
                yield "api_error"
            yield "api_request"
            yield "tool_decision"
            yield "tool_result"
        yield "api_request"
        yield "assistant_response"


def _set(record: Any, key: str, value: object) -> None:
    """Set an attribute that the template has, keeping the template's AnyValue type."""
    for kv in record.attributes:
        if kv.key == key:
            kind = kv.value.WhichOneof("value")
            if kind == "string_value":
                kv.value.string_value = str(value)
            elif kind == "int_value":
                kv.value.int_value = int(str(value))
            elif kind == "double_value":
                kv.value.double_value = float(str(value))
            return


_TOOLS = ("Write", "Read", "Edit", "Bash", "Grep", "Glob")
_MODELS = ("claude-opus-5-5", "claude-sonnet-5-1", "claude-haiku-5-0")


class SessionFactory:
    """Builds requests of `records` records, each a slice of one made-up session."""

    def __init__(self, templates: Templates, seed: int) -> None:
        self.templates = templates
        self.rng = random.Random(seed)
        self.users = [hashlib.sha256(f"user-{i}".encode()).hexdigest() for i in range(50)]

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def request(self, records: int, now_ns: int) -> tuple[bytes, bytes]:
        """One serialized request, and the session id to replace before each send."""
        rng, templates = self.rng, self.templates
        session = self._uuid()
        user = rng.choice(self.users)
        model = rng.choice(_MODELS)
        sequence = rng.randrange(0, 2000)
        t_ns = now_ns - rng.randrange(60, 600) * 10**9
        prompt_id = trace_id = span_id = ""
        tool_use = tool = ""
        request: Any = ExportLogsServiceRequest()
        resource_logs = request.resource_logs.add()
        resource_logs.resource.CopyFrom(rng.choice(templates.resources))
        scope_logs = resource_logs.scope_logs.add()
        scope_logs.scope.CopyFrom(templates.scope)
        for name in itertools.islice(session_script(rng, startup=rng.random() < 0.25), records):
            record = scope_logs.log_records.add()
            record.CopyFrom(rng.choice(templates.records[name]))
            t_ns += rng.randrange(2, 400) * 10**6
            record.time_unix_nano = record.observed_time_unix_nano = t_ns
            stamp = datetime.fromtimestamp(t_ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            if name == "user_prompt":
                prompt_id, trace_id, span_id = self._uuid(), rng.randbytes(16).hex(), rng.randbytes(8).hex()
                _set(record, "prompt_length", rng.randrange(5, 4000))
            if name == "tool_decision":
                tool_use, tool = f"toolu_{rng.getrandbits(64):016x}", rng.choice(_TOOLS)
            if record.trace_id:
                record.trace_id = bytes.fromhex(trace_id)
                record.span_id = rng.randbytes(8) if name.startswith("tool") else bytes.fromhex(span_id)
            for key, value in (
                ("session.id", session),
                ("user.id", user),
                ("event.sequence", sequence),
                ("event.timestamp", stamp),
                ("prompt.id", prompt_id),
                ("message.uuid", self._uuid()),
                ("model", model),
                ("tool_name", tool),
                ("tool_use_id", tool_use),
            ):
                _set(record, key, value)
            sequence += 1
            if name == "api_request":
                tokens = {
                    "input_tokens": rng.randrange(1, 20_000),
                    "output_tokens": rng.randrange(1, 4_000),
                    "cache_read_tokens": rng.randrange(0, 200_000),
                    "cache_creation_tokens": rng.randrange(0, 20_000),
                }
                cost = (tokens["input_tokens"] * 3 + tokens["output_tokens"] * 15) / 1e6
                cost += (tokens["cache_read_tokens"] * 0.3 + tokens["cache_creation_tokens"] * 3.75) / 1e6
                for key, count in tokens.items():
                    _set(record, key, count)
                _set(record, "cost_usd", round(cost, 6))
                _set(record, "cost_usd_micros", round(cost * 1e6))
                _set(record, "duration_ms", rng.randrange(300, 60_000))
                _set(record, "ttft_ms", rng.randrange(100, 3_000))
            elif name == "tool_result":
                _set(record, "duration_ms", rng.randrange(1, 30_000))
                _set(record, "success", "true" if rng.random() < 0.95 else "false")
                _set(record, "tool_input_size_bytes", rng.randrange(10, 50_000))
                _set(record, "tool_result_size_bytes", rng.randrange(10, 200_000))
            elif name == "assistant_response":
                _set(record, "response_length", rng.randrange(1, 8_000))
        data: bytes = request.SerializeToString()
        placeholder = session.encode()
        if data.count(placeholder) != records:
            raise AssertionError("the session id must appear once per record and nowhere else")
        return data, placeholder


def session_id(nonce: int, worker: int, counter: int) -> bytes:
    """A unique session id of the same length as the placeholder it replaces."""
    return str(uuid.UUID(int=(nonce << 64) | (worker << 40) | counter)).encode()


# ---------------------------------------------------------------------------------------------------------------------
# Load generators (separate processes)
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class WorkerSpec:
    kind: str  # "grpc" or "http"
    worker: int
    port: int
    payloads: list[bytes]
    placeholders: list[bytes]
    concurrency: int
    nonce: int
    records: int


@dataclass
class WorkerResult:
    kind: str
    worker: int
    sent_at: array[float] = field(default_factory=lambda: array("d"))
    acked_at: array[float] = field(default_factory=lambda: array("d"))
    failures: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0
    patch_s: float = 0.0
    wall_s: float = 0.0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Payloads:
    """Round-robin over the pool, each payload with a fresh session id."""

    def __init__(self, spec: WorkerSpec, result: WorkerResult) -> None:
        self.spec, self.result = spec, result
        self.counter = 0

    def next(self) -> bytes:
        started = time.perf_counter()
        index = self.counter % len(self.spec.payloads)
        self.counter += 1
        fresh = session_id(self.spec.nonce, self.spec.worker, self.counter)
        data = self.spec.payloads[index].replace(self.spec.placeholders[index], fresh)
        self.result.patch_s += time.perf_counter() - started
        return data


async def _closed_loop(
    spec: WorkerSpec, result: WorkerResult, end_at: float, send: Callable[[bytes, int], Any]
) -> None:
    payloads = _Payloads(spec, result)

    async def client(slot: int) -> None:
        while time.monotonic() < end_at:
            data = payloads.next()
            sent = time.monotonic()
            failure = await send(data, slot)
            if failure is None:
                result.sent_at.append(sent)
                result.acked_at.append(time.monotonic())
            else:
                result.failures[failure] += 1

    await asyncio.gather(*(client(slot) for slot in range(spec.concurrency)))


async def _grpc_run(spec: WorkerSpec, result: WorkerResult, conn: Connection) -> None:
    """Each slot is one exporter with its own channel and TCP connection, as separate Claude Code processes are."""
    import grpc

    options = [
        ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ("grpc.use_local_subchannel_pool", 1),  # otherwise channels to one target share a connection
    ]
    channels = [grpc.aio.insecure_channel(f"{HOST}:{spec.port}", options=options) for _ in range(spec.concurrency)]
    exports = [channel.unary_unary(GRPC_METHOD) for channel in channels]  # no serializers: bytes in and out
    await asyncio.wait_for(asyncio.gather(*(channel.channel_ready() for channel in channels)), 60)

    async def send(data: bytes, slot: int) -> str | None:
        try:
            await exports[slot](data, timeout=120)
        except grpc.aio.AioRpcError as exc:
            return f"grpc {exc.code().name}"
        return None

    start_at, end_at = await _handshake(conn)
    await _run_timed(spec, result, start_at, end_at, send)
    await asyncio.gather(*(channel.close() for channel in channels))


async def _http_run(spec: WorkerSpec, result: WorkerResult, conn: Connection) -> None:
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = [None] * spec.concurrency
    length_re = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)

    async def send(data: bytes, slot: int) -> str | None:
        stream = connections[slot]
        try:
            if stream is None:
                stream = connections[slot] = await asyncio.open_connection(HOST, spec.port)
            reader, writer = stream
            writer.write(
                b"POST /v1/logs HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/x-protobuf\r\n"
                b"Content-Length: %d\r\n\r\n" % (HOST.encode(), spec.port, len(data))
            )
            writer.write(data)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            match = length_re.search(head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            status = int(head.split(b" ", 2)[1])
            if b"connection: close" in head.lower():
                writer.close()
                connections[slot] = None
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            connections[slot] = None
            return f"http {type(exc).__name__}"
        return None if status == 200 else f"http {status}"

    for slot in range(spec.concurrency):
        connections[slot] = await asyncio.open_connection(HOST, spec.port)
    start_at, end_at = await _handshake(conn)
    await _run_timed(spec, result, start_at, end_at, send)
    for stream in connections:
        if stream is not None:
            stream[1].close()


async def _handshake(conn: Connection) -> tuple[float, float]:
    """Tell the parent this worker is connected; it answers with the start and end times (monotonic clock)."""
    conn.send("ready")
    start_at, end_at = await asyncio.to_thread(conn.recv)
    return float(start_at), float(end_at)


async def _run_timed(
    spec: WorkerSpec, result: WorkerResult, start_at: float, end_at: float, send: Callable[[bytes, int], Any]
) -> None:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    cpu, wall = _cpu_seconds(), time.monotonic()
    await _closed_loop(spec, result, end_at, send)
    result.cpu_s, result.wall_s = _cpu_seconds() - cpu, time.monotonic() - wall


def worker_main(spec: WorkerSpec, conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    result = WorkerResult(spec.kind, spec.worker)
    if spec.kind == "grpc":
        asyncio.run(_grpc_run(spec, result, conn))
    else:
        try:
            import uvloop

            runner: Callable[[Any], None] = uvloop.run
        except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
            runner = asyncio.run
        runner(_http_run(spec, result, conn))
    conn.send(result)
    conn.close()


# ---------------------------------------------------------------------------------------------------------------------
# The server under test
# ---------------------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerUnderTest:
    process: subprocess.Popen[bytes]
    data_dir: Path
    api_port: int
    grpc_port: int
    http_port: int
    log: Path

    def get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://{HOST}:{self.api_port}{path}", timeout=10) as response:
            body: bytes = response.read()
            return body.decode()

    def metrics(self) -> dict[str, float]:
        """ccmon's own Prometheus metrics, by sample name with labels."""
        values = {}
        for line in self.get("/metrics").splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values


def start_server(data_dir: Path, extra: list[str]) -> ServerUnderTest:
    api, grpc_port, http_port = free_port(), free_port(), free_port()
    log = data_dir.parent / "server.log"
    command = [
        sys.executable,
        "-m",
        "ccmon",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(api),
        "--otlp-grpc-port",
        str(grpc_port),
        "--otlp-http-port",
        str(http_port),
        "--log-level",
        "warning",
        *extra,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = ServerUnderTest(process, data_dir, api, grpc_port, http_port, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"ccmon serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if '"ready"' in server.get("/readyz"):
                return server
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("ccmon serve did not become ready within 120 s")


def stop_server(server: ServerUnderTest) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


# ---------------------------------------------------------------------------------------------------------------------
# CPU accounting
# ---------------------------------------------------------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_cpu(stat: str) -> float:
    """User + system seconds from a /proc `stat` line (the fields after the command name)."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def process_cpu(pid: int) -> float:
    """CPU seconds of the whole process, threads that have ended included."""
    return _stat_cpu(Path(f"/proc/{pid}/stat").read_text())


def threads_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of the live threads of `pid`, summed by thread name (digits stripped: a pool is one name)."""
    totals: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        name = re.sub(r"[\d_-]+$", "", name) or name
        totals[name] = totals.get(name, 0.0) + _stat_cpu(stat)
    return totals


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / _CLOCK_TICKS


@dataclass
class Snapshot:
    """What is sampled at the start and at the end of the measured window."""

    server_cpu: float
    server_threads: dict[str, float]
    machine: float
    bench: float
    metrics: dict[str, float]

    @classmethod
    def take(cls, server: ServerUnderTest) -> Snapshot:
        pid = server.process.pid
        return cls(process_cpu(pid), threads_cpu(pid), machine_busy(), _cpu_seconds(), server.metrics())


def count_stored(data_dir: Path) -> tuple[int, int]:
    """(rows, distinct keys) of the `events` table, read with the server stopped."""
    from ccmon.store.facade import Store

    store = Store.open(data_dir=str(data_dir))
    try:
        rows = store.query("SELECT count(), uniqExact(dedup_key) FROM events")
        return int(rows[0][0]), int(rows[0][1])
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------------------------------
# Bare parse rate
# ---------------------------------------------------------------------------------------------------------------------


def rate(seconds: float, payloads: list[bytes], records: int, parse: Callable[[bytes], object]) -> float:
    """Records per second of `parse` over the payloads on this one core: the best of 5 rounds of `seconds` / 5."""
    best = 0.0
    for _ in range(5):
        done = 0
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds / 5 or done == 0:
            for data in payloads:
                parse(data)
            done += len(payloads)
        best = max(best, done * records / elapsed)
    return best


@dataclass(frozen=True)
class Rates:
    """Records per second on one core: the bare protobuf parse, and ccmon's per-request work in Python."""

    parse: float
    decode: float

    @classmethod
    def measure(cls, seconds: float, payloads: list[bytes], records: int) -> Rates:
        from ccmon.otlp.signals import LOGS, Encoding

        return cls(
            rate(seconds, payloads, records, ExportLogsServiceRequest.FromString),
            rate(seconds, payloads, records, lambda data: LOGS.decode(data, Encoding.PROTOBUF, 65536)),
        )

    def best(self, other: Rates) -> Rates:
        return Rates(max(self.parse, other.parse), max(self.decode, other.decode))


# ---------------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Sustained OTLP log ingest of `ccmon serve` (gRPC and HTTP at once) against the bare parse rate."
    )
    parser.add_argument("--seconds", type=float, default=30, help="measured duration, after the warm-up (30)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before measuring (5)")
    parser.add_argument("--grpc-clients", type=int, default=1, help="gRPC load-generator processes (1)")
    parser.add_argument("--http-clients", type=int, default=1, help="HTTP/protobuf load-generator processes (1)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="requests in flight per load generator (64: with 2 generators, 12,800 records, over twice the writer's "
        "default 5,000-row batch, so that decoding overlaps committing)",
    )
    parser.add_argument("--records", type=int, default=100, help="log records per request (100)")
    parser.add_argument("--pool", type=int, default=64, help="distinct pre-serialized requests (64)")
    parser.add_argument("--parse-seconds", type=float, default=3, help="duration of each parse-rate measurement (3)")
    parser.add_argument("--seed", type=int, default=21330, help="seed of the made-up sessions")
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="extra `ccmon serve` argument, e.g. --server-arg=--batch-max-rows=20000",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folder and the server's log")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    factory = SessionFactory(load_templates(), args.seed)
    now_ns = time.time_ns()
    pool = [factory.request(args.records, now_ns) for _ in range(args.pool)]
    payloads = [data for data, _ in pool]
    request_bytes = sum(len(p) for p in payloads) / len(payloads)
    print(f"pool: {len(pool)} requests x {args.records} records, {request_bytes / 1024:.1f} KiB each", file=sys.stderr)
    parse = Rates.measure(args.parse_seconds, payloads, args.records)
    print(f"bare parse {parse.parse:,.0f} records/s; ccmon decode {parse.decode:,.0f} records/s", file=sys.stderr)

    workdir = Path(tempfile.mkdtemp(prefix="ccmon-bench-"))
    server = start_server(workdir / "data", args.server_arg)
    context = multiprocessing.get_context("spawn")
    nonce = random.Random(args.seed).getrandbits(64) ^ time.time_ns()
    workers = []
    try:
        for number, kind in enumerate(["grpc"] * args.grpc_clients + ["http"] * args.http_clients):
            parent, child = context.Pipe()
            port = server.grpc_port if kind == "grpc" else server.http_port
            placeholders = [placeholder for _, placeholder in pool]
            spec = WorkerSpec(kind, number, port, payloads, placeholders, args.concurrency, nonce, args.records)
            process = context.Process(target=worker_main, args=(spec, child), name=f"load-{kind}-{number}")
            process.start()
            workers.append((process, parent))
        for process, conn in workers:
            if not conn.poll(120) or conn.recv() != "ready":
                raise SystemExit(f"{process.name} did not start")
        start_at = time.monotonic() + 0.5
        measure_from = start_at + args.warmup
        end_at = measure_from + args.seconds
        for _, conn in workers:
            conn.send((start_at, end_at))
        print(f"load for {args.warmup + args.seconds:g} s...", file=sys.stderr)
        time.sleep(max(0.0, measure_from - time.monotonic()))
        before = Snapshot.take(server)
        time.sleep(max(0.0, end_at - time.monotonic()))
        after = Snapshot.take(server)
        results: list[WorkerResult] = []
        for process, conn in workers:
            if not conn.poll(300):
                raise SystemExit(f"{process.name} did not report")
            results.append(conn.recv())
            process.join(30)
        stored_metric = int(server.metrics().get('ccmon_stored_rows_total{table="events"}', 0))
    finally:
        for process, _ in workers:
            if process.is_alive():
                process.terminate()
        stop_server(server)
    stored_rows, stored_keys = count_stored(server.data_dir)
    # Measured again with the server stopped, so that a noisy moment on the machine cannot skew the ratio.
    parse = parse.best(Rates.measure(args.parse_seconds, payloads, args.records))
    acknowledged = sum(len(r.acked_at) for r in results) * args.records

    report = summarize(args, results, (before, after), (measure_from, end_at))
    report["request_bytes"] = round(request_bytes)
    report["parse"] = {"bare_records_per_s": round(parse.parse), "ccmon_decode_records_per_s": round(parse.decode)}
    total = report["transports"][-1]
    report["ratio_end_to_end_to_parse"] = round(total["events_per_s"] / parse.parse, 4)
    report["verification"] = {
        "acknowledged_events": acknowledged,
        "metrics_stored_events": stored_metric,
        "store_rows": stored_rows,
        "store_distinct_keys": stored_keys,
        "ok": acknowledged == stored_metric == stored_rows == stored_keys,
    }
    print(markdown(report))
    if report["cpu"]["other_cores"] > 0.15:
        print(
            f"warning: {report['cpu']['other_cores']} cores were busy outside the server and the load generators "
            "during the measurement; the figures understate what the server can do alone",
            file=sys.stderr,
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.keep:
        print(f"data folder and server log kept in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if report["verification"]["ok"] else 1


def summarize(
    args: argparse.Namespace,
    results: list[WorkerResult],
    snapshots: tuple[Snapshot, Snapshot],
    window: tuple[float, float],
) -> dict[str, Any]:
    """Throughput and latency by transport over the measured window, and where the CPU went."""
    before, after = snapshots
    measure_from, end_at = window
    duration = end_at - measure_from
    transports: list[dict[str, Any]] = []
    for label, selected in (
        ("gRPC", [r for r in results if r.kind == "grpc"]),
        ("HTTP/protobuf", [r for r in results if r.kind == "http"]),
        ("total", results),
    ):
        if not selected:
            continue
        latencies = sorted(
            ack - sent
            for r in selected
            for sent, ack in zip(r.sent_at, r.acked_at, strict=True)
            if measure_from <= ack <= end_at
        )
        failures = sum((r.failures for r in selected), Counter[str]())
        transports.append(
            {
                "transport": label,
                "events_per_s": round(len(latencies) * args.records / duration),
                "requests_measured": len(latencies),
                "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
                "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
                "not_ok": sum(failures.values()),
                "not_ok_by_reason": dict(failures),
                "load_generator_cpu_cores": round(sum(r.cpu_s / r.wall_s for r in selected), 2),
            }
        )
    events_per_s = transports[-1]["events_per_s"]

    def delta(name: str) -> float:
        return after.metrics.get(name, 0.0) - before.metrics.get(name, 0.0)

    server_cores = (after.server_cpu - before.server_cpu) / duration
    machine_cores = (after.machine - before.machine) / duration
    bench_cores = (after.bench - before.bench) / duration
    by_thread = {
        name: round((seconds - before.server_threads.get(name, 0.0)) / duration, 2)
        for name, seconds in after.server_threads.items()
    }
    commits = delta("ccmon_batch_rows_count")
    return {
        "machine": machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "transports": transports,
        "cpu": {
            "server_cores": round(server_cores, 2),
            "server_us_per_event": round(server_cores * 1e6 / events_per_s, 1) if events_per_s else None,
            "server_threads_cores": dict(
                sorted(((k, v) for k, v in by_thread.items() if v >= 0.01), key=lambda kv: -kv[1])
            ),
            "load_generators_cores": transports[-1]["load_generator_cpu_cores"],
            "machine_busy_cores": round(machine_cores, 2),
            # Whatever else ran on the machine meanwhile (kernel work not charged to a process, other programs).
            "other_cores": round(
                machine_cores - server_cores - transports[-1]["load_generator_cpu_cores"] - bench_cores, 2
            ),
        },
        "writer": {
            "commits": int(commits),
            "mean_batch_rows": round(delta("ccmon_batch_rows_sum") / commits) if commits else None,
            "mean_commit_ms": round(delta("ccmon_batch_commit_seconds_sum") * 1000 / commits, 1) if commits else None,
        },
    }


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model.group(1) if model else "unknown",
        "memory_gib": round(int(memory.group(1)) / 2**20, 1) if memory else None,
        "python": sys.version.split()[0],
    }


def markdown(report: dict[str, Any]) -> str:
    m, s, cpu, writer = report["machine"], report["settings"], report["cpu"], report["writer"]
    total, verification = report["transports"][-1], report["verification"]
    lines = [
        f"{m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}; "
        f"{s['grpc_clients']} gRPC + {s['http_clients']} HTTP/protobuf load-generator processes, "
        f"{s['concurrency']} requests in flight each, {s['records']} records "
        f"({report['request_bytes'] / 1024:.1f} KiB) per request; "
        f"{s['seconds']:g} s measured after {s['warmup']:g} s of warm-up.",
        "",
        "| transport | events/s (acknowledged) | p50 ack | p99 ack | max | not OK | load-generator CPU |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['transport']} | {r['events_per_s']:,} | {r['p50_ms']} ms | {r['p99_ms']} ms | {r['max_ms']} ms | "
        f"{r['not_ok']} | {r['load_generator_cpu_cores']} cores |"
        for r in report["transports"]
    ]
    threads = ", ".join(f"{name} {cores}" for name, cores in cpu["server_threads_cores"].items())
    lines += [
        "",
        "| measure | value |",
        "|---|---:|",
        f"| bare `ExportLogsServiceRequest.FromString`, one core | "
        f"{report['parse']['bare_records_per_s']:,} records/s |",
        f"| ccmon's receiver in Python (`LOGS.decode`: validate, count, digest), one core | "
        f"{report['parse']['ccmon_decode_records_per_s']:,} records/s |",
        f"| end to end, acknowledged after commit | {total['events_per_s']:,} events/s |",
        f"| ratio end-to-end / bare parse | {report['ratio_end_to_end_to_parse']:.3f} |",
        f"| server CPU | {cpu['server_cores']} cores ({cpu['server_us_per_event']} µs per event) |",
        f"| server CPU by thread | {threads} |",
        f"| load generators' CPU | {cpu['load_generators_cores']} cores |",
        f"| whole machine busy | {cpu['machine_busy_cores']} of {m['cpus']} cores "
        f"({cpu['other_cores']} outside the server and the load generators) |",
        f"| writer commits | {writer['commits']}, of {writer['mean_batch_rows']} rows "
        f"and {writer['mean_commit_ms']} ms on average |",
        f"| acknowledged = /metrics stored = rows in store | {verification['acknowledged_events']:,} = "
        f"{verification['metrics_stored_events']:,} = {verification['store_rows']:,} "
        f"({'OK' if verification['ok'] else 'MISMATCH'}) |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
