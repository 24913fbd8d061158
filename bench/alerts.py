"""What evaluating the alert rules costs: every default rule, with budgets and a model policy of a realistic size,
over the 100M-event store `bench/analytics.py` loads (1,000 developers x 100 days), by the engine as `ccmon serve`
runs it.

    python bench/alerts.py [--data-dir /tmp/ccmon-bench-analytics] [--minutes 15] [--json out.json]

Method. The store is opened in this process (chDB runs in-process, so `getrusage(RUSAGE_SELF)` counts the engine's
threads as well as Python's). The alert services are built exactly as the server builds them (`open_alert_services`:
default rules seeded, budgets and policies read from the store). Then `engine.evaluate_once(now)` runs for
`--minutes` simulated minutes, one minute apart, starting at 21:46:23 on the data's last day; each rule is evaluated
when due by its own interval, as in the server, its state written to the store. The first minute (every rule due,
caches cold) is reported apart; the steady state is the CPU time of the other minutes divided by their simulated
time, i.e. the share of one core the engine keeps busy (the issue's target: <= 5 %). Also, per rule: the wall and
CPU time of one evaluation (median of 5 warm ones), to say where the cost goes.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ccmon.alerts.budgets import parse_budget
from ccmon.alerts.defaults import DEFAULT_RULES
from ccmon.alerts.policy import parse_policy
from ccmon.alerts.services import open_alert_services
from ccmon.alerts.signals import SignalContext, evaluate_rule
from ccmon.analytics import Analytics
from ccmon.store.facade import Store

MINUTE = timedelta(minutes=1)


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def configure(store: Store, services: Any) -> dict[str, int]:
    """An organisation's alerting set-up: a pooled monthly budget and a per-person default for the organisation,
    a pooled monthly budget per team and a daily cap per person for one team, and a policy denying Opus to one
    department."""
    teams = [str(row[0]) for row in store.query("SELECT DISTINCT team FROM events_by_day WHERE team != '' LIMIT 50")]
    departments = [str(row[0]) for row in store.query("SELECT DISTINCT department FROM events_by_day LIMIT 1")]
    budgets = [
        parse_budget(
            {
                "id": "org",
                "name": "Organisation",
                "scope": "organization",
                "period": "monthly",
                "unit": "usd",
                "amount": 400_000,
            }
        ),
        parse_budget(
            {
                "id": "person-default",
                "name": "Per person",
                "scope": "organization",
                "per_person": True,
                "period": "monthly",
                "unit": "usd",
                "amount": 600,
                "enforce": "block",
            }
        ),
        *(
            parse_budget(
                {
                    "id": f"team-{n}",
                    "name": f"Team {team}",
                    "scope": "team",
                    "scope_value": team,
                    "period": "monthly",
                    "unit": "usd",
                    "amount": 20_000,
                }
            )
            for n, team in enumerate(teams)
        ),
    ]
    if teams:
        budgets.append(
            parse_budget(
                {
                    "id": "daily-cap",
                    "name": "Daily cap",
                    "scope": "team",
                    "scope_value": teams[0],
                    "per_person": True,
                    "period": "daily",
                    "unit": "usd",
                    "amount": 40,
                    "enforce": "block",
                }
            )
        )
    services.budgets.put_many(budgets, "bench")
    policies = [
        parse_policy(
            {
                "id": "no-opus",
                "name": "No Opus",
                "scope": "department",
                "scope_value": departments[0] if departments else "",
                "deny": ["*opus*"],
            }
        )
    ]
    services.policies.put_many(policies, "bench")
    return {"budgets": len(budgets), "policies": len(policies), "rules": len(DEFAULT_RULES)}


def per_rule(services: Any, now: datetime, repeats: int = 5) -> list[dict[str, Any]]:
    """Each rule alone: a fresh context per evaluation, so the budget rules do not share one turn's statuses."""
    figures = []
    for rule in DEFAULT_RULES:
        walls, cpus, samples = [], [], 0
        for _ in range(repeats):
            context = SignalContext(services.context.analytics, services.context.budgets, services.context.policies)
            began, began_cpu = time.perf_counter(), cpu_s()
            samples = len(evaluate_rule(context, rule, now))
            walls.append(time.perf_counter() - began)
            cpus.append(cpu_s() - began_cpu)
        figures.append(
            {
                "rule": rule.id,
                "interval_s": rule.interval_s,
                "wall_ms": round(statistics.median(walls) * 1000, 1),
                "cpu_ms": round(statistics.median(cpus) * 1000, 1),
                "samples": samples,
            }
        )
    return figures


def run_engine(services: Any, start: datetime, minutes: int) -> dict[str, Any]:
    """`evaluate_once` at `minutes` simulated minutes from `start`: the first apart, then the steady state."""
    turns = []
    for n in range(minutes):
        began, began_cpu = time.perf_counter(), cpu_s()
        held = services.engine.evaluate_once(start + n * MINUTE)
        turns.append({"wall_s": time.perf_counter() - began, "cpu_s": cpu_s() - began_cpu, "held": held})
    steady = turns[1:]
    cpu = sum(turn["cpu_s"] for turn in steady)
    return {
        "first_minute": {key: round(value, 3) for key, value in turns[0].items()},
        "steady_minutes": len(steady),
        "steady_cpu_s_per_minute": round(cpu / max(len(steady), 1), 3),
        "steady_wall_s_per_minute": round(sum(turn["wall_s"] for turn in steady) / max(len(steady), 1), 3),
        "steady_core_share_pct": round(100 * cpu / max(len(steady) * 60, 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="/tmp/ccmon-bench-analytics", help="a store bench/analytics.py loaded")
    parser.add_argument("--minutes", type=int, default=15, help="simulated minutes of evaluation (15)")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    shape = json.loads((data_dir / "bench-shape.json").read_text())["shape"]
    end = datetime.fromisoformat(shape["end"]).astimezone(UTC)
    start = end - timedelta(days=1) + timedelta(hours=21, minutes=46, seconds=23)

    began = time.perf_counter()
    store = Store.open(data_dir=str(data_dir))
    store.migrate()
    for table in ("alert_instances", "alert_history", "alert_deliveries", "budgets", "model_policies", "leases"):
        store.command(f"TRUNCATE TABLE IF EXISTS {table}")
    services = open_alert_services(store, Analytics(store), holder="bench")
    setup = configure(store, services)
    opened_s = time.perf_counter() - began

    shipped = run_engine(services, start, args.minutes)
    # The reading: every default rule every minute (the slow-moving ones too).
    services.rules.put_many([replace(rule, interval_s=60) for rule in DEFAULT_RULES], "bench")
    every_minute = run_engine(services, start + args.minutes * MINUTE, args.minutes)
    rules = per_rule(services, start)
    firing = sum(1 for instance in services.instances.current() if instance.state == "firing")
    report = {
        "store": str(data_dir),
        "shape": shape,
        "setup": setup,
        "open_s": round(opened_s, 1),
        "shipped_intervals": shipped,
        "every_rule_every_minute": every_minute,
        "firing_instances": firing,
        "per_rule": rules,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    services.engine.close()
    store.close()


if __name__ == "__main__":
    main()
