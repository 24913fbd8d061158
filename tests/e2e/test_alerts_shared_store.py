"""Two ccmon servers sharing one store evaluate the same rule: exactly one notification arrives, not two. And a
running `ccmon serve` reloads its alerts file on SIGHUP, keeping the rules in force when the new file is malformed.

Both servers run in this process on one chDB store (same data folder, same database: the test run's one chDB engine,
as two processes would share a ClickHouse server), each with the alert engine on and the same alerts file: a rule
that fires on any spend, notifying a webhook channel that points at a real HTTP receiver started by the test. The
evaluation lease in the store lets one of them evaluate; the other's engine waits.
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path

import pytest

from ccmon.store.facade import Store
from tests.alerts.receivers import HttpReceiver
from tests.alerts.telemetry import Usage, send
from tests.support import RunningServer, in_process_server, make_config, subprocess_server

SETTLE_S = 5.0
"""How long after the first notification the test waits for a second one that must not come (several turns of
both engines at `alerts_interval_s` = 1)."""


def test_two_servers_sharing_a_store_send_one_notification(chdb_path: Path, database: str, tmp_path: Path) -> None:
    store = Store.open(data_dir=str(chdb_path), database=database)
    try:
        store.migrate()
        send(store, [Usage(person="ann@example.com", team="api", cost=3.5, at=dt.datetime.now(dt.UTC))])
        with HttpReceiver() as receiver:
            alerts_file = tmp_path / "alerts.yaml"
            alerts_file.write_text(
                "channels:\n"
                f"  hook: {{kind: webhook, url: '{receiver.url}', secret: shared-secret}}\n"
                "rules:\n"
                "  - {id: any-spend, name: Any spend, signal: cost, op: '>', threshold: 0, window: 3600,\n"
                "     interval: 10, channels: [hook], summary: 'spent {value}'}\n"
            )
            settings = {"database": database, "alerts_file": str(alerts_file), "alerts_interval_s": 1}
            with (
                in_process_server(make_config(chdb_path, **settings)) as first,
                in_process_server(make_config(chdb_path, **settings)) as second,
            ):
                (request,) = receiver.wait_for(1, timeout_s=60)
                time.sleep(SETTLE_S)
                assert len(receiver.requests) == 1, [r.body[:200] for r in receiver.requests]
                assert b"any-spend" in request.body and "x-ccmon-signature" in {k.lower() for k in request.headers}
                for server in (first, second):
                    alerts = server.http.get(f"{server.api_url}/api/v1/alerts").json()
                    states = [i["state"] for i in alerts["instances"] if i["rule_id"] == "any-spend"]
                    assert states == ["firing"]
                    deliveries = server.http.get(f"{server.api_url}/api/v1/alerts/deliveries").json()["deliveries"]
                    assert [(d["channel"], d["rule_id"], d["state"]) for d in deliveries] == [
                        ("hook", "any-spend", "sent")
                    ]
            assert len(receiver.requests) == 1  # nor after one of them stopped and the other took the lease
    finally:
        store.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        store.close()


def _rules(server: RunningServer) -> dict[str, float]:
    body = server.http.get(f"{server.api_url}/api/v1/alerts/rules").json()
    return {rule["id"]: rule["threshold"] for rule in body["rules"] if rule["source"] == "file"}


def _wait_for_log(log_path: Path, text: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        content = log_path.read_text(errors="replace")
        if text in content:
            return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never logged:\n{log_path.read_text(errors='replace')[-2000:]}")


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_sighup_reloads_the_alerts_file_and_a_bad_one_keeps_the_running_rules(tmp_path: Path) -> None:
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text("rules:\n  - {id: spend, name: Spend, signal: cost, op: '>', threshold: 5}\n")
    log_path = tmp_path / "ccmon.log"
    config = make_config(tmp_path / "data")
    with subprocess_server(config, log_path, "--alerts-file", str(alerts_file)) as (server, process):
        assert _rules(server) == {"spend": 5}
        alerts_file.write_text("rules:\n  - {id: spend, name: Spend, signal: cost, op: '>', threshold: lots}\n")
        process.send_signal(signal.SIGHUP)
        _wait_for_log(log_path, f"{alerts_file}:2: rules[0].threshold: expected a number")
        assert _rules(server) == {"spend": 5}  # still in force
        alerts_file.write_text("rules:\n  - {id: spend, name: Spend, signal: cost, op: '>', threshold: 7}\n")
        process.send_signal(signal.SIGHUP)
        _wait_for_log(log_path, f"alerts file {alerts_file} reloaded")
        assert _rules(server) == {"spend": 7}
        assert process.poll() is None
