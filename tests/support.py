"""Helpers shared by the tests: fixture payloads, free ports, and ccmon servers in-process or as subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from ccmon.server import Server
from ccmon.settings import Config, load_config

FIXTURES = Path(__file__).parent / "fixtures" / "claude-code-2.1.330"
REPO = Path(__file__).parent.parent


@dataclass(frozen=True)
class Payload:
    """One captured export request."""

    path: Path
    transport: str  # "http" or "grpc"
    signal: str  # "logs", "metrics" or "traces"

    @property
    def is_json(self) -> bool:
        return self.path.suffix == ".json"

    @property
    def content_type(self) -> str:
        return "application/json" if self.is_json else "application/x-protobuf"

    def read(self) -> bytes:
        return self.path.read_bytes()


def fixture_runs() -> list[str]:
    return sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def payloads(run: str) -> list[Payload]:
    result = []
    for path in sorted((FIXTURES / run).iterdir()):
        if path.suffix in {".json", ".pb"} and path.stem[:4].isdigit():
            _, transport, signal_name = path.stem.split("-")
            result.append(Payload(path, transport, signal_name))
    return result


def claude_result(run: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((FIXTURES / run / "claude-result.json").read_text())
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_config(data_dir: Path, **overrides: Any) -> Config:
    """A config on free loopback ports, isolated from the environment of the test run."""
    base = load_config(environ={})
    values: dict[str, Any] = {
        "data_dir": str(data_dir),
        "port": free_port(),
        "otlp_grpc_port": free_port(),
        "otlp_http_port": free_port(),
        "log_format": "text",
        "batch_max_delay_ms": 20,
    }
    values.update(overrides)
    return base.replace(**values)


@dataclass
class RunningServer:
    config: Config
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    """One connection pool per server: a new client per call costs 30-50 ms."""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    @property
    def otlp_http_url(self) -> str:
        return f"http://127.0.0.1:{self.config.otlp_http_port}"

    @property
    def otlp_grpc_target(self) -> str:
        return f"127.0.0.1:{self.config.otlp_grpc_port}"

    def summary(self, **params: str) -> dict[str, Any]:
        params.setdefault("from", "2000-01-01T00:00:00Z")
        params.setdefault("to", "2100-01-01T00:00:00Z")
        response = self.http.get(f"{self.api_url}/api/v1/summary", params=params)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def post(self, signal_name: str, body: bytes, content_type: str, **headers: str) -> httpx.Response:
        return self.http.post(
            f"{self.otlp_http_url}/v1/{signal_name}", content=body, headers={"content-type": content_type, **headers}
        )


def wait_ready(api_url: str, timeout: float = 60, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"ccmon exited with {process.returncode} before it was ready")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"ccmon at {api_url} not ready within {timeout} s")


@contextlib.contextmanager
def in_process_server(config: Config) -> Iterator[RunningServer]:
    """`Server.run` on its own event loop in a thread (the test process's one chDB engine is shared)."""
    server = Server(config)
    loop = asyncio.new_event_loop()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(server.run())
            # Connections closed at shutdown finish closing on the loop's next turns: let them, before it closes.
            loop.run_until_complete(asyncio.sleep(0.05))
            loop.run_until_complete(loop.shutdown_asyncgens())
        except BaseException as exc:  # surfaced by the fixture below
            failure.append(exc)
        finally:
            loop.close()
            collect_stopped_server()

    thread = threading.Thread(target=run, name="ccmon-test-server", daemon=True)
    thread.start()
    running = RunningServer(config)
    try:
        deadline = time.monotonic() + 60
        while not server.ready:
            if failure or not thread.is_alive():
                raise RuntimeError(f"server failed to start: {failure}")
            if time.monotonic() > deadline:
                raise TimeoutError("server not ready")
            time.sleep(0.02)
        yield running
    finally:
        running.http.close()
        if not loop.is_closed():
            loop.call_soon_threadsafe(server.request_stop)
        thread.join(60)
        collect_stopped_server()
    if failure:
        raise failure[0]


def collect_stopped_server() -> None:
    """Collect what a server stopped in a thread leaves: a connection accepted while its loop was shutting down is
    closed by its finaliser, not by the closed loop. Left to a later, random garbage collection, its ResourceWarning
    (an error in this suite) would fail whichever unrelated test runs then; collected here, now, it is expected."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="unclosed <socket", category=ResourceWarning)
        warnings.filterwarnings("ignore", message="unclosed transport", category=ResourceWarning)
        gc.collect()


def ccmon_env() -> dict[str, str]:
    """This environment without the CCMON_* settings of whoever runs the tests."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CCMON_")}


def run_ccmon(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`ccmon ARGS` as a child process run to its end, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "ccmon", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ccmon_env(),
        check=False,
    )


@contextlib.contextmanager
def subprocess_server(
    config: Config, log_path: Path, *extra_args: str
) -> Iterator[tuple[RunningServer, subprocess.Popen[bytes]]]:
    """`ccmon serve` as a child process (for kill -9 and end-to-end tests)."""
    args = [
        sys.executable,
        "-m",
        "ccmon",
        "serve",
        "--data-dir",
        config.data_dir,
        "--port",
        str(config.port),
        "--otlp-grpc-port",
        str(config.otlp_grpc_port),
        "--otlp-http-port",
        str(config.otlp_http_port),
        "--database",
        config.database,
        "--batch-max-delay-ms",
        str(config.batch_max_delay_ms),
        "--log-format",
        "text",
        *extra_args,
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=ccmon_env())
    running = RunningServer(config)
    try:
        wait_ready(running.api_url, process=process)
        yield running, process
    finally:
        running.http.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler], *, join_s: float = 10) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port answering with `handler`, for a client under test; its URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(join_s)
