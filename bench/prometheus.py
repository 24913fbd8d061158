"""What a Prometheus scrape of `/metrics/claude-code` costs as the store grows, against the summary as a baseline.

    python bench/prometheus.py [--shapes 30x30,100x30] [--data-dir DIR] [--repeats 10] [--points 200] [--json out]

For each shape (developers x days of `bench/synthetic.py`'s organisation: 200 events and 120 metric points per
session, 5 sessions per developer per day), loaded into its own embedded store as `bench/analytics.py` loads it
(`prepare`: through ccmon's migrations and materialized views, then merged), it starts `ccmon serve` twice, session
labels off (the default: the totals come from the hourly metrics rollup) and on (`CCMON_PROMETHEUS_SESSION_LABELS`:
from the raw points), and measures, in the same run:

- cold: the first scrape of a fresh server, page cache evicted: the totals are built from everything stored
  (`analytics.prom_cache`);
- steady: `--repeats` scrapes, each after `--points` new data points were sent over OTLP/HTTP (25 developers'
  minute of cost, tokens and active time, in new sessions: new series with session labels) and a second's pause
  (as between two scrapes: the watermark moves), p50 and max;
- idle: `--repeats` scrapes with nothing new in between;
- the whole-range `/api/v1/summary`, p50 over `--repeats` calls: the cheapest whole-range dashboard read.

It reports series exposed and dropped and the response size. The scrapes' bodies are checked against the totals
sent: the steady scrapes must grow the cost by exactly what was sent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import httpx

sys.path.insert(0, str(Path(__file__).parent.parent))
from bench.analytics import Server, evict_page_cache, prepare
from bench.synthetic import Shape

COST = "claude_code_cost_usage_USD_total"


@dataclass(frozen=True)
class Figures:
    shape: str
    metric_points: int
    hourly_rollup_rows: int
    session_labels: bool
    series: int
    dropped: int
    response_kib: float
    scrape_cold_ms: float
    scrape_steady_p50_ms: float
    scrape_steady_max_ms: float
    scrape_idle_p50_ms: float
    summary_p50_ms: float


def timed(server: Server, path: str, params: dict[str, str] | None = None) -> tuple[float, str]:
    began = time.perf_counter()
    response = server.http.get(path, params=params)
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code}: {response.text[:500]}")
    return elapsed, response.text


def new_points(count: int, usd: float) -> bytes:
    """`count` delta points (cost, then tokens and active time) of 25 developers of the synthetic organisation, each
    in a new session, as Claude Code sends them over OTLP/JSON; each cost point is `usd`."""
    now = time.time_ns()
    kinds = [
        ("claude_code.cost.usage", {}),
        ("claude_code.token.usage", {"type": "input"}),
        ("claude_code.token.usage", {"type": "output"}),
        ("claude_code.active_time.total", {"type": "cli"}),
    ]
    metrics = []
    for index in range(count):
        name, extra = kinds[index % len(kinds)]
        developer = index // len(kinds) % 25
        attributes = {
            "user.email": f"dev{developer:04d}@example.com",
            "session.id": f"bench-{uuid.uuid4().hex[:12]}",
            "model": "claude-sonnet-4-5",
            **extra,
        }
        value = usd if name == "claude_code.cost.usage" else float(index % 7 + 1)
        point = {
            "asDouble": value,
            "startTimeUnixNano": str(now - 60_000_000_000),
            "timeUnixNano": str(now + index),
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
        }
        metrics.append({"name": name, "sum": {"aggregationTemporality": 1, "isMonotonic": True, "dataPoints": [point]}})
    return json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": metrics}]}]}).encode()


def cost_total(text: str) -> float:
    return sum(float(line.rpartition(" ")[2]) for line in text.splitlines() if line.startswith(COST))


def measure(
    data_dir: Path, shape: Shape, hourly_rows: int, session_labels: bool, *, repeats: int, points: int
) -> Figures:
    os.environ["CCMON_PROMETHEUS_SESSION_LABELS"] = "true" if session_labels else "false"
    evict_page_cache(data_dir)
    server = Server(data_dir)
    args = cast("list[str]", server.process.args)  # (the command line holds the OTLP port it chose)
    otlp = f"http://127.0.0.1:{args[args.index('--otlp-http-port') + 1]}/v1/metrics"
    whole = {"from": shape.start.strftime("%Y-%m-%dT%H:%M:%SZ"), "to": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    steady: list[float] = []
    try:
        cold, text = timed(server, "/metrics/claude-code")
        for _ in range(repeats):
            before = cost_total(text)
            sent = httpx.post(otlp, content=new_points(points, 0.125), headers={"content-type": "application/json"})
            sent.raise_for_status()
            time.sleep(1.0)
            elapsed, text = timed(server, "/metrics/claude-code")
            steady.append(elapsed)
            grown, expected = cost_total(text) - before, 0.125 * len(range(0, points, 4))
            if not session_labels and abs(grown - expected) > 1e-6 * max(1.0, before):  # (the guard may cut: off)
                raise SystemExit(f"the scrape grew by {grown}, {expected} was sent")
        idle = sorted(timed(server, "/metrics/claude-code")[0] for _ in range(repeats))
        timed(server, "/api/v1/summary", whole)
        summary = sorted(timed(server, "/api/v1/summary", whole)[0] for _ in range(repeats))
    finally:
        server.stop()
    steady.sort()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    dropped = next(int(line.split()[1]) for line in samples if line.startswith("ccmon_prometheus_series_dropped"))
    return Figures(
        f"{shape.developers}x{shape.days}",
        shape.points,
        hourly_rows,
        session_labels,
        len(samples) - 1,
        dropped,
        round(len(text.encode()) / 1024, 1),
        round(cold, 1),
        round(statistics.median(steady), 1),
        round(steady[-1], 1),
        round(statistics.median(idle), 1),
        round(statistics.median(summary), 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default="30x30,100x30", help="developers x days, comma-separated")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/ccmon-bench-prometheus"))
    parser.add_argument("--reload", action="store_true", help="load fresh stores even if they are there")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--points", type=int, default=200, help="data points sent before each steady scrape")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    results: list[Figures] = []
    shapes: dict[str, tuple[Shape, int]] = {}
    for text in args.shapes.split(","):  # every store loaded first: a load running beside a scrape would slow it
        developers, days = (int(part) for part in text.split("x"))
        shape = Shape(developers=developers, days=days)
        figures = prepare(args.data_dir / text, shape, args.reload)
        shapes[text] = shape, figures["tables"]["metrics_by_hour"]["rows"]
        print(f"{text}: loaded in {figures.get('load_s', '(earlier)')} s", flush=True)
    print(
        f"{'shape':>8} {'points':>10} {'session':>8} {'series':>7} {'dropped':>8} {'KiB':>7} "
        f"{'cold ms':>8} {'steady p50':>10} {'steady max':>10} {'idle p50':>8} {'summary p50':>11}"
    )
    for text, (shape, hourly_rows) in shapes.items():
        for session_labels in (False, True):
            one = measure(
                args.data_dir / text, shape, hourly_rows, session_labels, repeats=args.repeats, points=args.points
            )
            results.append(one)
            print(
                f"{one.shape:>8} {one.metric_points:>10,} {'on' if session_labels else 'off':>8} {one.series:>7,} "
                f"{one.dropped:>8,} {one.response_kib:>7} {one.scrape_cold_ms:>8} {one.scrape_steady_p50_ms:>10} "
                f"{one.scrape_steady_max_ms:>10} {one.scrape_idle_p50_ms:>8} {one.summary_p50_ms:>11}",
                flush=True,
            )
    if args.json:
        machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "load_average": os.getloadavg()}
        args.json.write_text(json.dumps({"machine": machine, "figures": [asdict(r) for r in results]}, indent=2))


if __name__ == "__main__":
    main()
