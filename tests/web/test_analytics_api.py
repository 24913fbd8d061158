"""The analytics endpoints over HTTP: parameters, filters, 422s, and CSV equal to the JSON rows."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from ccmon.analytics.cost import REST
from tests.analytics import data
from tests.support import RunningServer

RANGE = {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T12:00:00Z"}
SECOND_DAY = {"from": "2026-11-21T10:00:00Z", "to": "2026-11-21T12:00:00Z"}


@pytest.fixture
def loaded_server(server: RunningServer) -> RunningServer:
    # The hand-computed dataset, sent over OTLP/HTTP as JSON.
    for signal, body in (
        ("metrics", data.metrics_body()),
        ("logs", data.events_body()),
        ("metrics", data.second_day_metrics_body()),
        ("logs", data.second_day_events_body()),
    ):
        assert server.post(signal, body, "application/json").status_code == 200
    return server


def _get(server: RunningServer, path: str, **params: str | list[str]) -> httpx.Response:
    return server.http.get(f"{server.api_url}/api/v1/{path}", params={**RANGE, **params})


def _get_whole(server: RunningServer, path: str, **params: str | list[str]) -> httpx.Response:
    """An endpoint that takes no time range (one session, month to date)."""
    return server.http.get(f"{server.api_url}/api/v1/{path}", params=params)


def test_every_endpoint_answers(loaded_server: RunningServer) -> None:
    for path in (
        "summary",
        "overview",
        "cost/timeseries",
        "cost/tokens",
        "cost/breakdown",
        "cost/efficiency",
        "sessions",
        "events",
        "people/leaderboard",
        "people/acceptance",
        "adoption/activity",
        "adoption/shares",
        "engineering/tools",
        "engineering/tool-heatmap",
        "engineering/latency",
        "engineering/latency-by-model",
        "engineering/errors",
        "engineering/sessions-by-project",
        "engineering/session-distribution",
        "productivity/lines",
    ):
        response = _get(loaded_server, path)
        assert response.status_code == 200, (path, response.text)
    for path in ("cost/month-to-date", "sessions/s-a"):
        response = _get_whole(loaded_server, path)
        assert response.status_code == 200, (path, response.text)


def test_filters_from_the_query_string(loaded_server: RunningServer) -> None:
    everyone = _get(loaded_server, "summary").json()
    platform = _get(loaded_server, "summary", team="platform").json()
    both = _get(loaded_server, "summary", team=["platform", "data"]).json()
    assert (everyone["cost_usd"], platform["cost_usd"], both["cost_usd"]) == (3.75, 3.25, 3.75)
    assert _get(loaded_server, "summary", model=data.OPUS).json()["cost_usd"] == 0.5


def test_breakdown_json_and_csv_agree(loaded_server: RunningServer) -> None:
    as_json = _get(loaded_server, "cost/breakdown", by="model", top="2").json()
    assert [r["key"] for r in as_json["rows"]] == [data.HAIKU, data.SONNET, REST]
    response = _get(loaded_server, "cost/breakdown", by="model", top="2", format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows == [{k: str(v) for k, v in r.items()} for r in as_json["rows"]]


def test_timeseries_csv_has_one_line_per_point(loaded_server: RunningServer) -> None:
    as_json = _get(loaded_server, "cost/timeseries", by="family", bucket="1h").json()
    assert as_json["bucket"] == "1h"
    lines = _get(loaded_server, "cost/timeseries", by="family", bucket="1h", format="csv").text.splitlines()
    assert lines[0] == "t,series,value"
    assert len(lines) == 1 + len(as_json["rows"]) == 4
    assert lines[1] == "2026-11-20T10:00:00Z,opus,0.5"


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("summary", {"teem": "platform"}, "unknown parameter teem"),
        ("summary", {"bucket": "1h"}, "unknown parameter bucket"),  # it would be ignored: a summary has no buckets
        ("people/leaderboard", {"bucket": "1d"}, "unknown parameter bucket"),
        ("sessions/s-a", {}, "unknown parameter from, to"),  # a session is shown whole
        ("cost/month-to-date", {}, "unknown parameter from, to"),  # it is as of one instant
        (
            "cost/timeseries",
            {"bucket": "1m", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"},
            "more than 5000",
        ),
        ("cost/timeseries", {"bucket": "fortnight"}, "not one of"),
        ("cost/timeseries", {"by": "vendor"}, "by: 'vendor'"),
        ("cost/breakdown", {"by": "colour"}, "by: 'colour'"),
        ("cost/breakdown", {"top": "0"}, "top: must be between"),
        ("overview", {"from": "2026-11-21T00:00:00Z", "to": "2026-11-20T00:00:00Z"}, "must be before"),
        ("overview", {"to": "2026-11-21T00:00:00-05:00"}, "not in UTC"),
        ("engineering/session-distribution", {"measure": "mood"}, "measure: 'mood' is not one of duration_s"),
        ("engineering/session-distribution", {"bins": "0"}, "bins: must be between 1 and 100"),
        ("engineering/session-distribution", {"scale": "sqrt"}, "scale: 'sqrt'"),
        ("engineering/session-distribution", {"measures": "tokens"}, "unknown parameter measures"),
        ("productivity/lines", {"by": "team"}, "by: 'team'"),
    ],
)
def test_bad_parameters_get_422_saying_what_is_wrong(
    loaded_server: RunningServer, path: str, params: dict[str, str], message: str
) -> None:
    response = loaded_server.http.get(f"{loaded_server.api_url}/api/v1/{path}", params={**RANGE, **params})
    assert response.status_code == 422, response.text
    assert message in str(response.json()["detail"])


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2026-11-20T10:00:00", "has no UTC offset"),
        ("2026-11-20T10:00:00+02:00", "not in UTC"),
        ("tomorrow", "not an RFC 3339 timestamp"),
    ],
)
def test_month_to_date_reads_as_of_like_every_time(loaded_server: RunningServer, as_of: str, message: str) -> None:
    response = _get_whole(loaded_server, "cost/month-to-date", as_of=as_of)
    assert response.status_code == 422 and f"as_of: {as_of!r}" in response.json()["detail"], response.text
    assert message in response.json()["detail"]
    answer = _get_whole(loaded_server, "cost/month-to-date", as_of="2026-11-20T11:00:00Z").json()
    assert (answer["as_of"], answer["spend_usd"]) == ("2026-11-20T11:00:00Z", 1.75)


def test_tool_csv_matches_json(loaded_server: RunningServer) -> None:
    as_json = _get(loaded_server, "engineering/tools").json()["rows"]
    rows = list(csv.DictReader(io.StringIO(_get(loaded_server, "engineering/tools", format="csv").text)))
    assert [r["tool"] for r in rows] == [r["tool"] for r in as_json] == ["Edit", "Bash"]
    assert rows[0]["duration_p50_ms"] == "20.0" and rows[1]["duration_p50_ms"] == ""


def test_leaderboard_paging_and_profile(loaded_server: RunningServer) -> None:
    page = _get(loaded_server, "people/leaderboard", sort="commits", limit="1").json()
    assert page["total"] == 2 and [r["key"] for r in page["rows"]] == ["bob-uuid"]
    beyond = _get(loaded_server, "people/leaderboard", offset="10").json()
    assert (beyond["total"], beyond["rows"]) == (2, [])
    assert _get(loaded_server, "people/leaderboard", limit="0").status_code == 422
    teams = _get(loaded_server, "people/leaderboard", group="team", format="csv").text.splitlines()
    assert teams[0].startswith("key,team,pull_requests") and len(teams) == 3
    profile = _get(loaded_server, "people/profile", key="alice@example.com").json()
    assert profile["overview"]["current"]["cost_usd"] == 3.25
    assert [r["key"] for r in profile["cost_by_model"]["rows"]] == [data.HAIKU, data.SONNET]


def test_events_and_sessions(loaded_server: RunningServer) -> None:
    errors = _get(loaded_server, "events", name="api_error").json()["rows"]
    assert [(e["name"], e["status_code"]) for e in errors] == [("api_error", 529)]
    bash = _get(loaded_server, "events", attr="tool_name=Bash").json()["rows"]
    assert [e["decision"] for e in bash] == ["reject"]
    assert _get(loaded_server, "events", attr="no-equals-sign").status_code == 422
    page = _get(loaded_server, "events", limit="3").json()
    assert len(page["rows"]) == 3 and page["next_cursor"]
    listed = _get(loaded_server, "sessions", sort="cost_usd").json()
    assert [s["session_id"] for s in listed["rows"]] == ["s-a", "s-b"]
    beyond = _get(loaded_server, "sessions", offset="10").json()
    assert (beyond["total"], beyond["rows"]) == (2, [])
    detail = _get_whole(loaded_server, "sessions/s-b").json()
    assert [e["name"] for p in detail["prompts"] for e in p["events"]] == [  # in time order: minutes 3, 30, 31, 31
        "tool_decision",
        "api_request",
        "api_error",
        "api_retries_exhausted",
    ]


def test_empty_range_answers_zeros_not_errors(loaded_server: RunningServer) -> None:
    empty = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}
    assert _get(loaded_server, "cost/timeseries", **empty).json()["rows"] == []
    assert _get(loaded_server, "cost/breakdown", **empty).json()["rows"] == []
    assert _get(loaded_server, "overview", **empty).json()["cost_per_user"] is None


def _csv_rows(server: RunningServer, path: str, **params: str) -> list[dict[str, str]]:
    response = _get(server, path, format="csv", **params)
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_session_analytics_csv_equals_json(loaded_server: RunningServer) -> None:
    for path, params in (
        ("engineering/sessions-by-project", {}),
        ("engineering/session-distribution", {"measure": "duration_s", "bins": "4"}),
        ("engineering/session-distribution", {"measure": "tokens", "scale": "log"}),
        ("productivity/lines", {"by": "language"}),
    ):
        as_json = _get(loaded_server, path, **SECOND_DAY, **params).json()["rows"]
        assert as_json, path
        assert _csv_rows(loaded_server, path, **SECOND_DAY, **params) == [
            {k: str(v) for k, v in r.items()} for r in as_json
        ]


def test_session_analytics_over_http(loaded_server: RunningServer) -> None:
    projects = _get(loaded_server, "engineering/sessions-by-project", **SECOND_DAY).json()["rows"]
    assert [(r["project"], r["sessions"]) for r in projects] == [("ccmon", 2), ("(unknown)", 1), ("web", 1)]
    prompts = _get(loaded_server, "engineering/session-distribution", **SECOND_DAY, measure="prompts").json()
    assert (prompts["sessions"], prompts["mean"], prompts["p50"]) == (4, 1.75, 1.5)
    assert [b["sessions"] for b in prompts["rows"]] == [2, 1, 1]
    highest = _get(loaded_server, "sessions", **SECOND_DAY, sort="tokens", limit="1").json()
    assert (highest["total"], [(r["session_id"], r["repository"]) for r in highest["rows"]]) == (4, [("s3", "web")])
    lines = _get(loaded_server, "productivity/lines").json()["rows"]
    assert lines == [{"key": "(unknown)", "lines_added": 12, "lines_removed": 3}]
    empty = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}
    nothing = _get(loaded_server, "engineering/session-distribution", **empty).json()
    assert (nothing["sessions"], nothing["p50"], nothing["rows"]) == (0, None, [])
    assert _get(loaded_server, "engineering/sessions-by-project", **empty).json()["rows"] == []
