"""`ccmon demo`: a synthetic organisation's Claude Code telemetry, sent as OTLP like the real thing.

A made-up company (by default 40 developers in 6 teams, 30 days) uses Claude Code: working hours in each team's time
zone, quiet weekends, a model mix (Sonnet, Opus, Haiku subagents), tools with accepts and rejections, API errors with
status codes and an incident now and then, edits, commits and pull requests, a few heavy users, and a quarter of the
developers exporting cumulative counters instead of deltas. It goes to ccmon through the official OpenTelemetry Python
SDK exporters over OTLP/gRPC or OTLP/HTTP (protobuf), so demo data takes the same path as real data.

This package only speaks OTLP to an endpoint; it never imports ccmon's store, ingest, analytics or web layers.

    >>> from ccmon import demo
    >>> totals = demo.run("http://127.0.0.1:4317", "grpc", seed=1)      # blocks until ccmon acknowledged it all
    >>> totals.summary()                                                  # what /api/v1/summary should now show

Determinism: the organisation comes from `random.Random(seed)`, each developer's day from a `random.Random` seeded
with the seed, the developer and the date. The same seed, sizes and UTC date of `now` give identical data, so sending
it twice is recognised by ccmon's dedup keys (within its `dedup_window_s`). The window is the `days` UTC dates up to
`now`'s, and ends at `now`: nothing is sent that Claude Code would only have exported later.

Speed: the SDK's encoders cost ~100 µs per log record and ~60 µs per data point of pure Python, so `run` spreads the
developers over a few worker processes (each generates and sends its share), which also keeps that work off the
caller's GIL (e.g. a server sending the demo to itself).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from typing import Literal

from ccmon.demo.org import DOMAIN, Organisation, build_organisation
from ccmon.demo.progress import Message, Progress, QueueDrain, Tally
from ccmon.demo.send import DEFAULT_ENDPOINTS, PROTOCOLS, DemoError, check_endpoint, send_telemetry
from ccmon.demo.sessions import Session, generate_sessions, window
from ccmon.demo.telemetry import SessionTelemetry, session_telemetry
from ccmon.demo.totals import DemoTotals, expected_totals

MAX_PROCESSES = 4


@dataclass(frozen=True)
class Demo:
    """The generated data: who, which sessions, and what Claude Code would send for them."""

    organisation: Organisation
    start: datetime
    end: datetime
    sessions: list[Session]
    telemetry: list[SessionTelemetry]

    def totals(self) -> DemoTotals:
        """What ccmon's summary over [start, end) must show once all of this is stored."""
        return expected_totals(self.sessions, self.telemetry)


def generate(
    *,
    seed: int = 1,
    developers: int = 40,
    teams: int = 6,
    days: int = 30,
    now: datetime | None = None,
    shard: tuple[int, int] = (0, 1),
) -> Demo:
    """Build the demo data without sending it. `now` (timezone-aware) defaults to the current time.

    `shard=(k, n)` keeps only the developers whose index is k modulo n (the whole organisation is still built, so
    every shard sees the same people): the n shards together are exactly the unsharded data.
    """
    now = now or datetime.now(UTC)
    organisation = build_organisation(seed, developers, teams)
    start, end = window(days, now)
    index, count = shard
    sessions = generate_sessions(organisation, days, now, people=organisation.people[index::count])
    telemetry = [session_telemetry(session, organisation.organization_id) for session in sessions]
    return Demo(organisation, start, end, sessions, telemetry)


def run(
    endpoint: str,
    protocol: str = "grpc",
    *,
    seed: int = 1,
    developers: int = 40,
    teams: int = 6,
    days: int = 30,
    token: str | None = None,
    now: datetime | None = None,
    processes: int | None = None,
    progress: Progress | None = None,
) -> DemoTotals:
    """Generate the demo and send it to an OTLP endpoint; returns what was sent.

    `endpoint` is a URL: for `grpc` the receiver's address (`http://127.0.0.1:4317`), for `http/protobuf` its base
    URL (`http://127.0.0.1:4318`; `/v1/metrics` and `/v1/logs` are appended). `token` is sent as
    `Authorization: Bearer <token>`. Blocks until every export is acknowledged (ccmon acknowledges after commit).
    `processes`: worker processes, default min(4, CPUs); 1 sends from this process. The workers are spawned, so a
    script calling `run` needs the usual `if __name__ == "__main__":` guard. Raises `DemoError` if the endpoint
    cannot be reached or an export fails, `ValueError` for impossible sizes. `progress(done, total)` is called, from
    one thread of this process, as exports are acknowledged (events and data points; `total` is None until known).
    """
    build_organisation(seed, developers, teams)  # validates the sizes before any process starts
    now = now or datetime.now(UTC)
    start, end = window(days, now)
    check_endpoint(endpoint, protocol)
    count = processes or min(MAX_PROCESSES, os.cpu_count() or 1, developers)
    started = time.monotonic()
    job = _Job(endpoint, protocol, seed, developers, teams, days, token, now, count)
    tally = Tally(count, progress) if progress else None
    if count <= 1:
        parts = [_send_shard(job, 0, tally.report if tally else None)]
    else:
        context = multiprocessing.get_context("spawn")
        queue: Queue[Message | None] | None = context.Queue() if tally else None
        drain = QueueDrain(queue, tally) if queue and tally else None
        try:
            with ProcessPoolExecutor(count, mp_context=context, initializer=_worker, initargs=(queue,)) as pool:
                parts = list(pool.map(_send_shard, [job] * count, range(count)))
        finally:
            if drain:
                drain.close()
    totals = DemoTotals.merge(parts)
    totals.start, totals.end = start, end
    totals.seconds = round(time.monotonic() - started, 3)
    return totals


@dataclass(frozen=True)
class _Job:
    endpoint: str
    protocol: str
    seed: int
    developers: int
    teams: int
    days: int
    token: str | None
    now: datetime
    shards: int


_REPORTS: Queue[Message | None] | None = None
"""In a worker process: where its progress goes (set by `_worker`)."""


def _worker(reports: Queue[Message | None] | None) -> None:
    global _REPORTS  # noqa: PLW0603 -- a process pool passes per-process state through an initializer only
    _REPORTS = reports


def _send_shard(
    job: _Job, index: int, report: Callable[[Literal["total", "done"], int], None] | None = None
) -> DemoTotals:
    queue = _REPORTS
    if report is None and queue is not None:

        def report(kind: Literal["total", "done"], count: int) -> None:
            queue.put((kind, count))

    demo = generate(
        seed=job.seed,
        developers=job.developers,
        teams=job.teams,
        days=job.days,
        now=job.now,
        shard=(index, job.shards),
    )
    totals = demo.totals()
    acknowledged = None
    if report is not None:
        report("total", totals.events + totals.metric_points)
        acknowledged = functools.partial(report, "done")
    totals.requests = send_telemetry(
        demo.telemetry, job.endpoint, job.protocol, token=job.token, acknowledged=acknowledged
    )
    return totals


__all__ = [
    "DEFAULT_ENDPOINTS",
    "DOMAIN",
    "PROTOCOLS",
    "Demo",
    "DemoError",
    "DemoTotals",
    "Progress",
    "expected_totals",
    "generate",
    "run",
]
