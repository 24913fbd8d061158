"""Ingest throughput of `ccmon serve` with OTLP forwarding off, to a dead target and to a live sink, in one run.

    python -m bench.forward [--seconds 15] [--rounds 1] [--concurrency 32] [--records 100] [--json out.json]

Forwarding promises that a slow or dead target never slows ingest (docs/interop.md#forwarding). This measures it:
the same load (one OTLP/HTTP load-generator process from `bench/ingest.py`, Claude Code-shaped log requests of
`--records` records with a fresh session id per send, `--concurrency` in flight) against three servers, each on a
fresh data folder, one after the other, `--rounds` times in turn (so a noisy moment on a shared machine hits every
case alike):

- `none`: no `forward_endpoints`;
- `dead`: one endpoint on a port nothing listens on (every attempt refused, the backlog grows on disk);
- `live`: one endpoint on a sink in this process that reads each request and answers 200.

For each it reports acknowledged events/s, and from the server's `/metrics` at the end: requests forwarded, queued,
failed attempts, dropped. The load generator runs on the same machine and shares its cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.ingest import (
    HOST,
    SessionFactory,
    WorkerResult,
    WorkerSpec,
    free_port,
    load_templates,
    machine,
    start_server,
    stop_server,
    worker_main,
)

CASES = ("none", "dead", "live")


class _Sink(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        with _Sink.lock:
            _Sink.received += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def sink() -> Iterator[str]:
    httpd = ThreadingHTTPServer((HOST, 0), _Sink)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _forward_total(metrics: dict[str, float], name: str) -> float:
    return sum(value for key, value in metrics.items() if key.startswith(name))


def run_case(case: str, args: argparse.Namespace, pool: list[tuple[bytes, bytes]], url: str) -> dict[str, Any]:
    extra = [] if case == "none" else ["--forward-endpoints", url if case == "live" else f"http://{HOST}:{free_port()}"]
    workdir = Path(tempfile.mkdtemp(prefix=f"ccmon-bench-forward-{case}-"))
    server = start_server(workdir / "data", extra)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    payloads, placeholders = [p for p, _ in pool], [h for _, h in pool]
    nonce = random.getrandbits(64) ^ time.time_ns()
    spec = WorkerSpec("http", 0, server.http_port, payloads, placeholders, args.concurrency, nonce, args.records)
    process = context.Process(target=worker_main, args=(spec, child), name=f"load-{case}")
    try:
        process.start()
        if not parent.poll(120) or parent.recv() != "ready":
            raise SystemExit("the load generator did not start")
        start_at = time.monotonic() + 0.5
        measure_from, end_at = start_at + args.warmup, start_at + args.warmup + args.seconds
        parent.send((start_at, end_at))
        if not parent.poll(args.warmup + args.seconds + 300):
            raise SystemExit("the load generator did not report")
        result: WorkerResult = parent.recv()
        process.join(30)
        metrics = server.metrics()
    finally:
        if process.is_alive():
            process.terminate()
        stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)
    acked = sum(1 for at in result.acked_at if measure_from <= at < end_at)
    return {
        "case": case,
        "events_per_s": round(acked * args.records / args.seconds),
        "requests_acknowledged": len(result.acked_at),
        "not_ok": sum(result.failures.values()),
        "forward_sent": _forward_total(metrics, "ccmon_forward_sent_total"),
        "forward_queued": _forward_total(metrics, "ccmon_forward_queued_requests"),
        "forward_failed": _forward_total(metrics, "ccmon_forward_failed_total"),
        "forward_dropped": _forward_total(metrics, "ccmon_forward_dropped_total"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per case (15)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before measuring (3)")
    parser.add_argument("--rounds", type=int, default=1, help="times each case runs, in turn (1)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (32)")
    parser.add_argument("--records", type=int, default=100, help="log records per request (100)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args()
    factory = SessionFactory(load_templates(), 21330)
    now_ns = time.time_ns()
    pool = [factory.request(args.records, now_ns) for _ in range(64)]
    runs: list[dict[str, Any]] = []
    with sink() as url:
        for round_number in range(args.rounds):
            for case in CASES:
                print(f"round {round_number + 1}: {case}...", file=sys.stderr)
                runs.append(run_case(case, args, pool, url))
                print(f"  {json.dumps(runs[-1])}", file=sys.stderr)  # a later failure leaves these figures
        sink_received = _Sink.received
    by_case = {case: [r for r in runs if r["case"] == case] for case in CASES}
    report: dict[str, Any] = {
        "machine": machine(),
        "settings": vars(args) | {"json": str(args.json) if args.json else None},
        "runs": runs,
        "median_events_per_s": {case: statistics.median(r["events_per_s"] for r in rs) for case, rs in by_case.items()},
        "sink_received": sink_received,
    }
    m = report["machine"]
    print(f"{m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}")
    print("| case | events/s | requests acked | not OK | forwarded | queued at end | failed attempts | dropped |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(
            f"| {r['case']} | {r['events_per_s']:,} | {r['requests_acknowledged']:,} | {r['not_ok']} | "
            f"{r['forward_sent']:,.0f} | {r['forward_queued']:,.0f} | {r['forward_failed']:,.0f} | "
            f"{r['forward_dropped']:,.0f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
