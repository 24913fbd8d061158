"""What the commands Claude Code runs on a developer's machine cost it: `ccmon statusline` (after every message) and
`ccmon hook budget` (before every prompt), as wall time from start to exit, against a baseline measured in the same
run: a bare Python interpreter starting and exiting.

    python bench/client.py [--runs 40] [--json out.json]

Method. A ccmon server is started (`ccmon serve`, embedded store in a temporary folder, loopback, no token). Each
command is run `--runs` times as Claude Code runs it: a new process (the `ccmon` console script of this virtualenv),
the event as JSON on stdin (the documented shape; the status line's with `rate_limits`), its stdout read to the end.
Cases:

- statusline, cache fresh: the server's figures are in the cache file (`--cache-seconds 3600`), nothing is fetched;
- statusline, cache stale: every run finds the cache old (`--cache-seconds 0`) and hands the refresh to a detached
  child, which is not waited for (the status line is drawn before the server is asked);
- statusline, no server: the URL points at a closed port (the background refresh fails; the line has local figures);
- hook budget: one HTTP call to the server, answered allow.

The figures are wall-clock percentiles over the runs (p50, p95, max) in milliseconds, and the ratio of each p50 to
the baseline's p50. The issue's target: the status line printed within 100 ms, with and without the server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent
STATUS_EVENT = {
    "hook_event_name": "Status",
    "session_id": "bench-session-0001",
    "transcript_path": "/nonexistent/transcript.jsonl",
    "cwd": "/tmp",
    "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
    "workspace": {"current_dir": "/tmp", "project_dir": "/tmp"},
    "version": "2.1.330",
    "cost": {
        "total_cost_usd": 0.4213,
        "total_duration_ms": 120_000,
        "total_api_duration_ms": 30_000,
        "total_lines_added": 12,
        "total_lines_removed": 3,
    },
    "rate_limits": {
        "five_hour": {"used_percentage": 23.5, "resets_at": 1_764_540_000},
        "seven_day": {"used_percentage": 61.0, "resets_at": 1_765_000_000},
    },
}
HOOK_EVENT = {
    "hook_event_name": "UserPromptSubmit",
    "session_id": "bench-session-0001",
    "transcript_path": "/nonexistent/transcript.jsonl",
    "cwd": "/tmp",
    "permission_mode": "default",
    "prompt": "hello",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not get ready within {timeout_s} s")


def timed(argv: list[str], stdin: bytes, env: dict[str, str], runs: int) -> dict[str, Any]:
    """Wall milliseconds of `runs` runs of `argv`, each fed `stdin`, from start to exit."""
    samples: list[float] = []
    last = ""
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, input=stdin, capture_output=True, env=env, check=False, timeout=30)
        samples.append((time.perf_counter() - started) * 1000)
        last = done.stdout.decode("utf-8", "replace").strip()
        if done.returncode != 0:
            raise SystemExit(f"{argv} exited with {done.returncode}: {done.stderr.decode()[:500]}")
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
        "output": last[:200],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    ccmon = str(VENV_BIN / "ccmon")
    work = Path(tempfile.mkdtemp(prefix="ccmon-bench-client-"))
    home = work / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCMON_", "OTEL_"))}
    env |= {"HOME": str(home), "XDG_STATE_HOME": str(work / "state")}
    api_port = free_port()
    url = f"http://127.0.0.1:{api_port}"
    server = subprocess.Popen(
        [
            ccmon,
            "serve",
            "--data-dir",
            str(work / "data"),
            "--port",
            str(api_port),
            "--otlp-grpc-port",
            str(free_port()),
            "--otlp-http-port",
            str(free_port()),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(url)
        status = json.dumps(STATUS_EVENT).encode()
        closed = f"http://127.0.0.1:{free_port()}"
        # Fill the cache once (a stale run forks the refresh), then time each case.
        subprocess.run([ccmon, "statusline", "--url", url, "--cache-seconds", "0"], input=status, env=env, check=False)
        time.sleep(3)
        results = {
            "baseline: python -c pass": timed([sys.executable, "-c", "pass"], b"", env, args.runs),
            "statusline, cache fresh": timed(
                [ccmon, "statusline", "--url", url, "--cache-seconds", "3600"], status, env, args.runs
            ),
            "statusline, cache stale (refresh in a detached child)": timed(
                [ccmon, "statusline", "--url", url, "--cache-seconds", "0"], status, env, args.runs
            ),
            "statusline, no server": timed(
                [ccmon, "statusline", "--url", closed, "--cache-seconds", "0"],
                status,
                env | {"XDG_STATE_HOME": str(work / "state-none")},
                args.runs,
            ),
            "hook budget (one HTTP call)": timed(
                [ccmon, "hook", "budget", "--url", url], json.dumps(HOOK_EVENT).encode(), env, args.runs
            ),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    baseline = results["baseline: python -c pass"]["p50_ms"]
    for result in results.values():
        result["p50_vs_baseline"] = round(result["p50_ms"] / baseline, 2)
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "runs": args.runs,
        "results": results,
    }
    width = max(len(name) for name in results)
    print(f"{'case':<{width}}  {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'x base':>7}")
    for name, result in results.items():
        print(
            f"{name:<{width}}  {result['p50_ms']:>7} {result['p95_ms']:>7} {result['max_ms']:>7} "
            f"{result['p50_vs_baseline']:>7}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
