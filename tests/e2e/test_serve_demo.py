"""`ccmon serve --demo`: an empty store is filled with the demo organisation, once."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support import make_config, subprocess_server


def _wait_for(log: Path, text: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"{text!r} not logged: {log.read_text()[-3000:]}"
        time.sleep(0.5)


def test_serve_demo_loads_an_empty_store_once(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    log = tmp_path / "server.log"
    last_month = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    with subprocess_server(config, log, "--demo") as (server, _):
        # Ready to receive is not "the demo is in": the two are told apart.
        ready = server.http.get(f"{server.api_url}/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "demo": "running"}
        loading = server.http.get(f"{server.api_url}/api/v1/server").json()["loading"]
        assert loading["kind"] == "demo" and loading["state"] == "running" and loading["finished"] is None
        _wait_for(log, "demo data loaded")
        loaded = server.summary(**last_month)
        done = server.http.get(f"{server.api_url}/api/v1/server").json()["loading"]
        assert server.http.get(f"{server.api_url}/readyz").json() == {"status": "ready", "demo": "done"}
    assert loaded["users"] == 40
    assert loaded["sessions"] > 500 and loaded["cost_usd"] > 100
    assert loaded["api_errors"] > 0 and loaded["tool_decisions"]["reject"] > 0 and loaded["pull_requests"] > 0
    assert done["state"] == "done" and done["error"] is None and done["finished"] >= done["started"]
    assert done["total"] > 100_000 and done["done"] == done["total"], "every event and data point acknowledged"
    with subprocess_server(config, log, "--demo") as (server, _):
        _wait_for(log, "demo data not loaded: the store already holds events")
        assert server.summary(**last_month) == loaded
        assert server.http.get(f"{server.api_url}/api/v1/server").json()["loading"] is None
