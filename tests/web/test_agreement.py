"""Every total agrees on every endpoint: the summary = the overview = the sum of every breakdown, leaderboard,
session list and time series, for several windows (cut mid-hour) and filters.

Over a demo organisation sent through the OpenTelemetry SDK (teams on the Anthropic API and on Bedrock, a tagged
project) plus hand-made data that names no person, no team, no session, no model or no tool: the unattributed data
must count in every total, as one `(unknown)` group. Counts must agree exactly; money and time too, since sums are
exact decimals (compared here as decimals, the value each JSON number stands for). And the same question must get
the same bytes, even after the store merged its parts in between.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ccmon import demo
from ccmon.analytics import DIMENSIONS, UNKNOWN
from ccmon.analytics.productivity import LINE_DIMENSIONS
from ccmon.store.facade import Store
from ccmon.store.rollups import ROLLUPS
from tests.demo.conftest import NOW
from tests.otlp.helpers import data_point, log_record, logs_request, metrics_request, sum_metric, to_json
from tests.support import RunningServer, in_process_server, make_config

pytestmark = pytest.mark.slow

DEVELOPERS, TEAMS, DAYS = 8, 3, 3
ISO = "%Y-%m-%dT%H:%M:%SZ"


def _ns(at: datetime) -> int:
    return int(at.timestamp()) * 10**9


def night(org: demo.Demo) -> datetime:
    """03:07 UTC on the demo's last day, when its teams (offices at UTC+0 and +1) are not at work."""
    return org.end - timedelta(hours=13, minutes=53)


def unattributed(at: datetime) -> list[tuple[str, bytes]]:
    """Data without a person, a team, a session, a model or a tool (OTLP/JSON requests): the issue's three cost
    points (1.5 for a person in team platform, 0.25 for a person in no team, 2.0 with only a session id) and the
    like for every other measure."""
    minute = 60 * 10**9
    t = _ns(at)

    def point(name: str, value: float, attrs: Mapping[str, object], offset: int) -> dict[str, Any]:
        return sum_metric(name, [data_point(value, attrs, time_ns=t + offset * minute)])

    teamless = {"user.email": "no-team@example.com"}
    anonymous = {"session.id": "s-anonymous"}
    metrics = [
        point("claude_code.cost.usage", 1.5, {"user.email": "in-platform@example.com", "team": "platform"}, 0),
        point("claude_code.cost.usage", 0.25, teamless, 1),
        point("claude_code.cost.usage", 2.0, anonymous, 2),
        point("claude_code.token.usage", 1000, {**anonymous, "type": "input"}, 3),
        point("claude_code.token.usage", 30, {"type": "output"}, 4),
        point("claude_code.lines_of_code.count", 7, {"type": "added"}, 5),
        point("claude_code.commit.count", 1, teamless, 6),
        point("claude_code.pull_request.count", 1, {}, 7),
        point("claude_code.active_time.total", 12.5, {"type": "cli"}, 8),
        point("claude_code.code_edit_tool.decision", 1, {"decision": "reject", "tool_name": "Edit"}, 9),
    ]
    # Someone who moved teams an hour later, sent in separate requests: their team is their latest one.
    moved = [
        [point("claude_code.cost.usage", value, {"user.email": "mover@example.com", "team": team}, offset)]
        for value, team, offset in ((0.1, "web", 20), (0.2, "data", 70), (0.3, "web", 30))
    ]

    def event(name: str, offset: int, **attrs: object) -> dict[str, Any]:
        return log_record({"event.name": name, **attrs}, time_ns=t + offset * minute, body=f"claude_code.{name}")

    events = [
        event("api_request", 0, cost_usd=0.01, input_tokens=10),
        event("api_error", 1, status_code=500),
        event("api_error", 2),
        event("tool_result", 3, **{"session.id": "s-anonymous", "success": "true", "duration_ms": "5"}),
        event("tool_decision", 4, decision="reject"),
        event("user_prompt", 5, **teamless),
    ]
    return [
        ("metrics", to_json(metrics_request(metrics))),
        ("logs", to_json(logs_request(events))),
        *(("metrics", to_json(metrics_request(m))) for m in moved),
    ]


@pytest.fixture(scope="module")
def organisation(chdb_path: Any) -> Iterator[tuple[RunningServer, demo.Demo, Store]]:
    database = f"agreement_{uuid.uuid4().hex[:12]}"
    config = make_config(chdb_path, database=database)
    with in_process_server(config) as server:
        org = demo.generate(developers=DEVELOPERS, teams=TEAMS, days=DAYS, now=NOW)
        demo.run(f"http://{server.otlp_grpc_target}", "grpc", developers=DEVELOPERS, teams=TEAMS, days=DAYS, now=NOW)
        for signal, body in unattributed(night(org)):
            assert server.post(signal, body, "application/json").status_code == 200
        store = Store.open(data_dir=str(chdb_path), database=database)
        try:
            yield server, org, store
        finally:
            store.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
            store.close()


class Api:
    def __init__(self, server: RunningServer, params: Mapping[str, str | Sequence[str]]) -> None:
        self.server = server
        self.params = params

    def get(self, path: str, **extra: str) -> Any:
        response = self.server.http.get(f"{self.server.api_url}/api/v1/{path}", params={**self.params, **extra})
        assert response.status_code == 200, (path, extra, response.text)
        return response.json()

    def rows(self, path: str, **extra: str) -> list[dict[str, Any]]:
        """Every row of a list, over all its pages."""
        rows: list[dict[str, Any]] = []
        while True:
            page = self.get(path, limit="1000", offset=str(len(rows)), **extra)
            rows += page["rows"]
            if len(rows) >= page["total"]:
                return rows


def exact(value: float) -> Decimal:
    """The decimal a JSON number stands for (sums are exact to 9 places, and JSON keeps the shortest digits)."""
    return Decimal(repr(value))


def total(rows: Sequence[Mapping[str, Any]], field: str) -> Decimal:
    return sum((exact(row[field]) for row in rows), Decimal(0))


def windows(org: demo.Demo) -> dict[str, tuple[datetime, datetime]]:
    return {
        "cut mid-hour": (org.start + timedelta(minutes=17), org.end - timedelta(hours=5, minutes=23)),
        "whole": (org.start, org.end + timedelta(hours=1)),
        "inside one hour": (night(org) - timedelta(minutes=4), night(org) + timedelta(minutes=43)),
    }


FILTERS: dict[str, dict[str, str | list[str]]] = {
    "none": {},
    "a team": {"team": "platform"},
    "no team": {"team": UNKNOWN},
    "no person": {"person": UNKNOWN},
    "two providers": {"provider": ["bedrock", UNKNOWN]},
    "a project": {"project": "checkout"},
    "a model": {"model": "claude-sonnet-4-5"},
    "an organisation": {"organization": UNKNOWN},
}


@pytest.mark.parametrize("window", ["cut mid-hour", "whole", "inside one hour"])
@pytest.mark.parametrize("filters", sorted(FILTERS))
def test_every_total_agrees(organisation: tuple[RunningServer, demo.Demo, Store], window: str, filters: str) -> None:
    server, org, _ = organisation
    start, end = windows(org)[window]
    api = Api(server, {"from": start.strftime(ISO), "to": end.strftime(ISO), **FILTERS[filters]})
    summary = api.get("summary")
    overview = api.get("overview")
    assert overview["current"] == summary
    cost = exact(summary["cost_usd"])
    tokens = summary["tokens"]
    active = exact(summary["active_time_s"]["user"]) + exact(summary["active_time_s"]["cli"])

    # Cost: every breakdown, both leaderboards, the session list, the series, sessions by project.
    for by in ("family", *DIMENSIONS):
        breakdown = api.get("cost/breakdown", by=by, top="1000")
        assert total(breakdown["rows"], "cost_usd") == exact(breakdown["total_cost_usd"]) == cost, by
    people = api.rows("people/leaderboard", group="person")
    teams = api.rows("people/leaderboard", group="team")
    sessions = api.rows("sessions")
    for rows in (people, teams, sessions):
        assert total(rows, "cost_usd") == cost
    for by in ("model", "family"):
        assert total(api.get("cost/timeseries", by=by)["rows"], "value") == cost, by
    projects = api.get("engineering/sessions-by-project")["rows"]
    assert total(projects, "cost_usd") == cost

    # Tokens, by type and all together.
    series = api.get("cost/tokens")["rows"]
    efficiency = api.get("cost/efficiency")
    for kind in ("input", "output", "cache_read", "cache_creation"):
        assert sum(p["value"] for p in series if p["series"] == kind) == tokens[kind] == efficiency[f"{kind}_tokens"]
    all_tokens = sum(tokens.values())
    for rows in (people, teams, sessions, projects):
        assert sum(row["tokens"] for row in rows) == all_tokens

    # Sessions and people: the `(unknown)` rows are data without one, not a session or a person.
    assert len([s for s in sessions if s["session_id"] != UNKNOWN]) == summary["sessions"]
    for rows in (people, teams, projects):
        assert sum(row["sessions"] for row in rows) == summary["sessions"]
    for by in ("version", "terminal", "os"):  # a session runs one Claude Code on one terminal and system
        assert sum(row["sessions"] for row in api.get("adoption/shares", by=by)["rows"]) == summary["sessions"], by
    assert len([p for p in people if p["key"] != UNKNOWN]) == summary["users"] == overview["active_users"]

    # Requests, errors, tool calls and decisions, from the events.
    errors = api.get("engineering/errors")
    latency = api.get("engineering/latency-by-model")["rows"]
    assert errors["api_requests"] == summary["api_requests"] == sum(r["requests"] for r in latency)
    assert errors["api_requests"] == sum(s["api_requests"] for s in sessions)
    by_bucket = errors["over_time"]["rows"]
    assert sum(p["value"] for p in by_bucket if p["series"] == "api_requests") == summary["api_requests"]
    assert errors["api_errors"] == summary["api_errors"] == sum(r["errors"] for r in errors["by_status"])
    assert sum(p["value"] for p in by_bucket if p["series"] == "api_errors") == summary["api_errors"]
    assert sum(s["errors"] for s in sessions) == summary["api_errors"]
    tools = api.get("engineering/tools")["rows"]
    assert sum(t["calls"] for t in tools) == summary["tool_calls"] == sum(s["tool_calls"] for s in sessions)
    assert sum(c["calls"] for c in api.get("engineering/tool-heatmap")["rows"]) == summary["tool_calls"]
    assert sum(t["rejections"] for t in tools) == summary["tool_decisions"]["reject"]

    # Output, code-edit decisions and active time, from the counters.
    for by in LINE_DIMENSIONS:
        lines = api.get("productivity/lines", by=by)["rows"]
        assert sum(r["lines_added"] for r in lines) == summary["lines_added"], by
        assert sum(r["lines_removed"] for r in lines) == summary["lines_removed"], by
    for by in ("tool", "source", "language", "person"):
        acceptance = api.get("people/acceptance", by=by)["rows"]
        assert sum(r["accepted"] for r in acceptance) == summary["edit_decisions"]["accept"], by
        assert sum(r["rejected"] for r in acceptance) == summary["edit_decisions"]["reject"], by
    for rows in (people, teams):
        for field in ("lines_added", "lines_removed", "commits", "pull_requests"):
            assert sum(row[field] for row in rows) == summary[field], field
        for decision in ("accept", "reject"):
            assert sum(row["edit_decisions"][decision] for row in rows) == summary["edit_decisions"][decision]
        assert total(rows, "active_time_s") == active
    assert overview["lines_changed"] == summary["lines_added"] + summary["lines_removed"]

    # Month to date, as of the window's end, is the summary since the first of that month.
    as_of = end - timedelta(seconds=1)
    month = {"from": as_of.replace(day=1, hour=0, minute=0, second=0).strftime(ISO), "to": as_of.strftime(ISO)}
    filtered = {k: v for k, v in api.params.items() if k not in ("from", "to")}
    spent = Api(server, filtered).get("cost/month-to-date", as_of=as_of.strftime(ISO))["spend_usd"]
    assert exact(spent) == exact(Api(server, {**filtered, **month}).get("summary")["cost_usd"])

    # Per-person ratios divide what is attributed to a person by the people.
    attributed = cost - exact(overview["unattributed_cost_usd"])
    unknown_row = [p["cost_usd"] for p in people if p["key"] == UNKNOWN]
    assert exact(overview["unattributed_cost_usd"]) == (exact(unknown_row[0]) if unknown_row else 0)
    if summary["users"]:
        assert overview["cost_per_user"] == pytest.approx(float(attributed) / summary["users"], rel=1e-12)


def test_the_unattributed_data_is_one_labelled_group(organisation: tuple[RunningServer, demo.Demo, Store]) -> None:
    """The issue's reproduction: 1.5 (a person in team platform) + 0.25 (a person in no team) + 2.0 (only a
    session id) = 3.75 in the summary, the team breakdown and the team leaderboard alike."""
    server, org, _ = organisation
    at = night(org)
    api = Api(server, {"from": at.strftime(ISO), "to": (at + timedelta(minutes=3)).strftime(ISO)})
    assert api.get("summary")["cost_usd"] == 3.75
    by_team = {r["key"]: r["cost_usd"] for r in api.get("cost/breakdown", by="team")["rows"]}
    assert by_team == {"platform": 1.5, UNKNOWN: 2.25}
    teams = {r["key"]: r["cost_usd"] for r in api.rows("people/leaderboard", group="team")}
    assert teams == by_team
    people = {r["key"]: (r["cost_usd"], r["team"]) for r in api.rows("people/leaderboard")}
    assert people == {
        "in-platform@example.com": (1.5, "platform"),
        "no-team@example.com": (0.25, UNKNOWN),
        UNKNOWN: (2.0, UNKNOWN),
    }
    overview = api.get("overview")
    assert (overview["unattributed_cost_usd"], overview["active_users"], overview["cost_per_user"]) == (2.0, 2, 0.875)
    # The label is also a filter value: it selects the rows without a team.
    assert Api(server, {**api.params, "team": UNKNOWN}).get("summary")["cost_usd"] == 2.25
    assert Api(server, {**api.params, "person": UNKNOWN}).get("summary")["cost_usd"] == 2.0
    sessions = {s["session_id"]: s for s in api.rows("sessions")}
    assert set(sessions) == {"s-anonymous", UNKNOWN}
    # A person's team is that of their latest data.
    hour = Api(server, {"from": at.strftime(ISO), "to": (at + timedelta(hours=2)).strftime(ISO)})
    assert {r["key"]: r["team"] for r in hour.rows("people/leaderboard")}["mover@example.com"] == "data"
    assert (sessions[UNKNOWN]["cost_usd"], sessions[UNKNOWN]["duration_s"]) == (1.75, None)


def test_identical_calls_give_identical_bytes(organisation: tuple[RunningServer, demo.Demo, Store]) -> None:
    """Sums do not depend on the order rows are added in: the answers are the same before and after every table is
    merged (which reorders the rows a float sum would add)."""
    server, org, store = organisation
    start, end = windows(org)["cut mid-hour"]
    params = {"from": start.strftime(ISO), "to": end.strftime(ISO)}
    paths = [
        ("summary", {}),
        ("overview", {}),
        ("cost/breakdown", {"by": "person", "top": "1000"}),
        ("cost/timeseries", {"by": "family"}),
        ("cost/efficiency", {}),
        ("people/leaderboard", {"limit": "1000"}),
        ("people/leaderboard", {"group": "team"}),
        ("sessions", {"limit": "1000"}),
        ("engineering/tools", {}),
        ("engineering/sessions-by-project", {}),
        ("engineering/session-distribution", {"measure": "cost_usd"}),
        ("engineering/session-distribution", {"measure": "duration_s"}),
    ]

    def answers() -> list[bytes]:
        return [
            httpx.get(f"{server.api_url}/api/v1/{path}", params={**params, **extra}).content for path, extra in paths
        ]

    before = answers()
    assert answers() == before
    for table in ("events", "metric_points", *(rollup.table for rollup in ROLLUPS)):
        store.command(f"OPTIMIZE TABLE {table} FINAL")
    for path, first, again in zip(paths, before, answers(), strict=True):
        assert again == first, path
