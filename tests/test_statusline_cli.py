"""`ccmon statusline` as Claude Code runs it: a child process given the status JSON on stdin (recorded in the
documented shape: the real CLI does not draw a status line in `-p` mode), whose first stdout line is shown.

Against a real server (`ccmon serve` in this process, asking for an ingest token; usage sent as OTLP; a per-person
budget made through the API), a closed port, and a counting server too slow to answer. The contract: one line, at
once, exit status 0 and nothing on stderr whatever happens; the server's figures arrive through the background
refresh at the next redraw; the usage limits the input holds show up in `GET /api/v1/people/limits`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccmon import statusline_cli
from ccmon.onboarding.statusline import Limit, figures_of
from ccmon.onboarding.statusline_cache import (
    CACHE_FILE,
    LOCK_FILE,
    Cache,
    RefreshJob,
    cache_key,
    read_cache,
    write_cache,
)
from ccmon.store.records import utc_now
from tests.alerts.telemetry import Usage, logs_body, metrics_body
from tests.support import free_port, http_server, in_process_server, make_config

ANN, BOB = "ann@example.com", "bob@example.com"
TOKEN = "cc-statusline-token"
FOREGROUND_BOUND_S = 3.0
"""A generous bound for one foreground run (a whole interpreter start on a loaded test machine); the 100 ms figure is
measured apart (docs: "The status line")."""


@dataclass
class Server:
    url: str
    http: httpx.Client


@pytest.fixture(scope="module")
def server(chdb_path: Path) -> Iterator[Server]:
    """Ann has spent $81.20 this month (today), against a personal monthly budget of $200."""
    config = make_config(chdb_path, database=f"test_{uuid.uuid4().hex[:12]}", ingest_tokens=(TOKEN,))
    with in_process_server(config) as running:
        usages = [Usage(person=ANN, at=utc_now() - timedelta(seconds=5), cost=81.2, session="s-ann")]
        auth = {"authorization": f"Bearer {TOKEN}"}
        for signal, payload in (("metrics", metrics_body(usages)), ("logs", logs_body(usages))):
            assert running.post(signal, payload, "application/json", **auth).status_code == 200
        budget = {
            "id": "dev-cap",
            "name": "Developer cap",
            "scope": "organization",
            "period": "monthly",
            "amount": 200,
            "per_person": True,
            "enforce": "warn",
        }
        created = running.http.post(f"{running.api_url}/api/v1/budgets", json=budget)
        assert created.status_code == 201, created.text
        yield Server(running.api_url, running.http)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_STATE_HOME": str(home / "state"), **extra}


def _status(session: str = "s-ann", **extra: Any) -> bytes:
    now = int(time.time())
    status = {
        "hook_event_name": "Status",
        "session_id": session,
        "transcript_path": "",
        "cwd": "/tmp",
        "model": {"id": "claude-opus-4-1-20250805", "display_name": "Opus 4.1"},
        "workspace": {"current_dir": "/tmp", "project_dir": "/tmp"},
        "version": "2.1.330",
        "cost": {"total_cost_usd": 0.42, "total_duration_ms": 45000, "total_lines_added": 3, "total_lines_removed": 1},
        "rate_limits": {
            "five_hour": {"used_percentage": 23.4, "resets_at": now + 3600},
            "seven_day": {"used_percentage": 61.2, "resets_at": now + 4 * 86400},
        },
        **extra,
    }
    return json.dumps(status).encode()


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str
    seconds: float


def _run(argv: list[str], stdin: bytes, env: dict[str, str]) -> Run:
    """`ccmon statusline ARGV` as a child process (through the CLI's fast path), timed."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ccmon", "statusline", *argv],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode(), time.perf_counter() - started)


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the background refresh did not happen")
        time.sleep(0.05)


def _state(home: Path) -> Path:
    return home / "state" / "ccmon"


def _refreshed(home: Path) -> Callable[[], bool]:
    """Whether a refresh finished (it removes the lock once the cache is written)."""

    def done() -> bool:
        return (_state(home) / CACHE_FILE).exists() and not (_state(home) / LOCK_FILE).exists()

    return done


def test_the_server_figures_arrive_at_the_next_redraw_and_the_limits_in_the_api(server: Server, home: Path) -> None:
    (home / ".claude.json").write_text(json.dumps({"oauthAccount": {"emailAddress": ANN}}))
    env = _env(home, CCMON_URL=server.url, CCMON_TOKEN=TOKEN)
    first = _run([], _status("s-new"), env)
    assert first == Run(0, "Opus 4.1 · session $0.42 · 5h 23% · 7d 61%\n", "", first.seconds)
    assert first.seconds < FOREGROUND_BOUND_S
    _wait_for(_refreshed(home))
    cache = read_cache(_state(home))
    assert cache is not None and cache.error == "" and cache.figures is not None
    second = _run([], _status("s-new"), env)
    assert second == Run(
        0,
        "Opus 4.1 · session $0.42 · today $81.20 · month $81.20 / $200 (41%) · 5h 23% · 7d 61%\n",
        "",
        second.seconds,
    )
    # The limits: recorded for Ann (named by the login in ~/.claude.json), with this session and model.
    rows = server.http.get(f"{server.url}/api/v1/people/limits").json()["rows"]
    mine = {(r["window"], r["used_pct"], r["session_id"], r["model"]) for r in rows if r["person"] == ANN}
    assert mine == {
        ("five_hour", 23.4, "s-new", "claude-opus-4-1-20250805"),
        ("seven_day", 61.2, "s-new", "claude-opus-4-1-20250805"),
    }


def test_without_a_server_the_local_part_is_printed_at_once(home: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    run = _run(["--url", closed], _status(), _env(home))
    assert run == Run(0, "Opus 4.1 · session $0.42 · 5h 23% · 7d 61%\n", "", run.seconds)
    assert run.seconds < FOREGROUND_BOUND_S
    _wait_for(_refreshed(home))
    cache = read_cache(_state(home))
    assert cache is not None and "connection refused" in cache.error and cache.figures is None
    # Within --cache-seconds the next redraws do not try again.
    attempted = cache.attempted_at
    assert _run(["--url", closed], _status(), _env(home)).status == 0
    time.sleep(0.5)
    assert read_cache(_state(home)).attempted_at == attempted  # type: ignore[union-attr]


class _Counting(BaseHTTPRequestHandler):
    """A server that takes 5 s to answer (longer than the refresh waits), counting the requests."""

    requests = 0
    lock = threading.Lock()

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        with self.lock:
            type(self).requests += 1
        time.sleep(5)
        with contextlib.suppress(OSError):  # the refresh gave up waiting: nobody reads the answer
            self.send_response(200)
            self.end_headers()


@pytest.fixture
def slow() -> Iterator[tuple[str, type[_Counting]]]:
    handler = type("Counting", (_Counting,), {"requests": 0})
    with http_server(handler) as url:
        yield url, handler


def test_a_slow_server_never_delays_the_line_and_a_burst_of_redraws_asks_once(
    slow: tuple[str, type[_Counting]], home: Path
) -> None:
    url, handler = slow
    env = _env(home)
    with ThreadPoolExecutor(4) as pool:  # redraws at once, all while the first refresh waits for the server
        runs = list(pool.map(lambda _: _run(["--url", url, "--cache-seconds", "0"], _status(), env), range(4)))
    assert [r.stdout for r in runs] == ["Opus 4.1 · session $0.42 · 5h 23% · 7d 61%\n"] * 4
    assert all(r.status == 0 and r.stderr == "" and r.seconds < FOREGROUND_BOUND_S for r in runs)
    _wait_for(_refreshed(home), timeout=20)
    assert handler.requests == 1  # one refresh held the lock while the server made it wait
    cache = read_cache(_state(home))
    assert cache is not None and "did not answer within 3 s" in cache.error


@pytest.mark.parametrize(
    "stdin",
    [b"", b"garbage", b"[]", b'{"model": 5, "cost": "x", "rate_limits": [1]}', b"{" * 200_000, b"x" * (3 << 20)],
    ids=["empty", "text", "array", "wrong-types", "deep", "huge"],
)
def test_bad_input_still_draws_a_line(stdin: bytes, home: Path) -> None:
    run = _run(["--url", f"http://127.0.0.1:{free_port()}"], stdin, _env(home))
    assert run == Run(0, "ccmon\n", "", run.seconds)


@pytest.mark.parametrize(
    "argv",
    [["--cache-seconds", "soon"], ["--no-such-flag"], ["--cache-seconds", "nan"], ["--url", "ftp://x"], ["--url"]],
)
def test_a_mistyped_command_still_draws_the_line(argv: list[str], home: Path) -> None:
    run = _run(argv, _status(), _env(home))
    assert run == Run(0, "Opus 4.1 · session $0.42 · 5h 23% · 7d 61%\n", "", run.seconds)


def test_the_token_comes_from_claude_codes_settings(server: Server, home: Path) -> None:
    env = _env(home, CCMON_URL=server.url, CCMON_PERSON=ANN)
    _run([], _status(), env)
    _wait_for(_refreshed(home))
    cache = read_cache(_state(home))
    assert cache is not None and "401" in cache.error and cache.figures is None
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    headers = f"Authorization=Bearer%20{TOKEN}"
    settings.write_text(json.dumps({"env": {"OTEL_EXPORTER_OTLP_HEADERS": headers}}))
    _run(["--cache-seconds", "0"], _status(), env)
    _wait_for(lambda: (c := read_cache(_state(home))) is not None and c.figures is not None)
    assert "month $81.20 / $200 (41%)" in _run([], _status(), env).stdout


def test_the_detached_process_refresh_used_where_there_is_no_fork(server: Server, home: Path) -> None:
    """`spawn_process` (Windows' way) works on any system: a new interpreter, the job on its stdin."""
    state = _state(home)
    job = RefreshJob(
        url=server.url,
        token=TOKEN,
        person=BOB,
        session_id="s-bob-detached",
        model="claude-sonnet-4-5",
        limits={"five_hour": Limit(88.0, int(time.time()) + 600)},
        directory=str(state),
    )
    statusline_cli.spawn_process(job)
    _wait_for(lambda: (c := read_cache(state)) is not None and c.figures is not None)
    cache = read_cache(state)
    assert cache is not None and cache.figures is not None and cache.figures.month_usd == 0.0
    rows = server.http.get(f"{server.url}/api/v1/people/limits", params={"person": BOB}).json()["rows"]
    assert [(r["window"], r["used_pct"], r["session_id"]) for r in rows] == [("five_hour", 88.0, "s-bob-detached")]


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    statusline_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["statusline", *argv])


def test_in_process_the_line_and_the_refresh_decision(home: Path) -> None:
    """`run` with its seams: the cache of this server and person is shown and refreshed only once old; figures of
    another person are not shown, and are replaced at once."""
    env = _env(home)
    url, now = "http://ccmon.internal:3000", time.time()
    answer = {"today_usd": 3.1, "month_usd": 81.2, "budgets": []}
    write_cache(_state(home), Cache(cache_key(url, ANN), now - 5, figures_of(answer, now - 5)))
    started: list[RefreshJob] = []

    def run(argv: list[str]) -> str:
        out = io.StringIO()
        status = statusline_cli.run(
            _args(argv), stdin=io.BytesIO(_status()), stdout=out, environ=env, spawn=started.append, now=now
        )
        assert status == 0
        return out.getvalue()

    assert run(["--url", url, "--person", ANN]) == (
        "Opus 4.1 · session $0.42 · today $3.10 · month $81.20 · 5h 23% · 7d 61%\n"
    )
    assert started == []  # 5 s old: fresh enough
    assert run(["--url", url, "--person", ANN, "--cache-seconds", "2"]).startswith("Opus 4.1 · session $0.42 · today")
    [job] = started
    assert (job.url, job.person, job.session_id, job.model) == (url, ANN, "s-ann", "claude-opus-4-1-20250805")
    assert job.limits["five_hour"].used_pct == 23.4
    assert run(["--url", url, "--person", ANN, "--cache-seconds", "2"]).startswith("Opus")
    assert len(started) == 1  # the first refresh still holds the lock
    (_state(home) / LOCK_FILE).unlink()
    assert run(["--url", url, "--person", BOB]) == "Opus 4.1 · session $0.42 · 5h 23% · 7d 61%\n"
    assert [j.person for j in started] == [ANN, BOB]

    def broken(job: RefreshJob) -> None:
        raise OSError("no fork today")

    (_state(home) / LOCK_FILE).unlink()
    out = io.StringIO()
    assert (
        statusline_cli.run(_args(["--url", url]), stdin=io.BytesIO(b"{}"), stdout=out, environ=env, spawn=broken) == 0
    )
    assert out.getvalue() == "ccmon\n"
    assert not (_state(home) / LOCK_FILE).exists()  # released when the refresh could not start
