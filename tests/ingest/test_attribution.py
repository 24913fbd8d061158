"""Attribution: the project, the provider and the team by email, applied as rows are built, and the same rules in SQL
over the stored rows (how migration 4 derived them for rows stored before it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ccmon.directory.people import DirectoryContent, Person
from ccmon.directory.registry import Directory
from ccmon.ingest.attribution import Attribution, TeamRule, parse_team_rules
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.vocabulary import EVENTS, SPANS
from ccmon.ingest.vocabulary import METRICS as METRICS_LAYOUT
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import LOGS, METRICS, TRACES, Encoding
from ccmon.store.dimensions import PROMOTED_KEYS, project_sql, provider_sql
from ccmon.store.facade import Store
from tests.otlp.helpers import (
    JSON,
    custom_server,
    data_point,
    log_record,
    logs_request,
    metrics_request,
    post,
    query,
    span,
    sum_metric,
    to_json,
    traces_request,
)

# (record attributes, resource attributes, expected project, expected provider) with the default settings.
CASES: list[tuple[dict[str, object], dict[str, object], str, str]] = [
    ({"project": "tagged", "vcs.repository.name": "repo"}, {"project": "resource-tag"}, "tagged", ""),
    ({"vcs.repository.name": "repo"}, {"project": "resource-tag"}, "resource-tag", ""),
    ({}, {"vcs.repository.name": "repo"}, "repo", ""),
    ({"vcs.repository.name": "repo"}, {}, "repo", ""),
    ({}, {}, "", ""),
    ({"provider": "subscription", "anthropic.provider": "firstParty"}, {}, "", "subscription"),
    ({"anthropic.provider": "firstParty"}, {"provider": "enterprise-plan"}, "", "enterprise-plan"),
    (
        {"anthropic.provider": "firstParty", "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
        {},
        "",
        "anthropic",
    ),
    ({}, {"anthropic.provider": "bedrock"}, "", "bedrock"),
    ({"anthropic.provider": "foundry"}, {}, "", "foundry"),
    ({"model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}, {}, "", "bedrock"),
    ({"model": "anthropic.claude-3-5-haiku-20241022-v1:0"}, {}, "", "bedrock"),
    ({"model": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc"}, {}, "", "bedrock"),
    ({"model": "claude-sonnet-4-5@20250929"}, {}, "", "vertex"),
    ({"model": "claude-opus-5-5[1m]"}, {}, "", "anthropic"),
    ({"model": "gpt-4.1"}, {}, "", ""),
    ({"model": "claude-sonnet-4-5", "provider": ""}, {"provider": "gateway"}, "", "gateway"),
    # A key sent twice: the first value, as the store's map lookup reads it.
    ({"project": [("project", "first"), ("project", "second")]}, {}, "first", ""),
]


def _attributes(record: Mapping[str, object]) -> list[dict[str, Any]]:
    """Record attributes as OTLP/JSON key-values; a list of pairs under a key sends that key several times."""
    values: list[dict[str, Any]] = []
    for key, value in record.items():
        pairs = value if isinstance(value, list) else [(key, value)]
        values += [{"key": k, "value": {"stringValue": str(v)}} for k, v in pairs]
    return values


def _requests(index: int, record: dict[str, object], resource: dict[str, object]) -> dict[str, bytes]:
    attrs = {"session.id": f"s-{index}"}
    event = log_record(attrs, time_ns=1_795_000_000_000_000_000 + index, body="claude_code.api_request")
    event["attributes"] += _attributes(record)
    point = data_point(1.0, attrs, time_ns=1_795_000_000_000_000_000 + index)
    point["attributes"] += _attributes(record)
    traced = span("claude_code.llm_request", f"{index + 1:032x}", f"{index + 1:016x}", **attrs)
    traced["attributes"] += _attributes(record)
    return {
        "logs": to_json(logs_request([event], resource)),
        "metrics": to_json(metrics_request([sum_metric("claude_code.cost.usage", [point])], resource)),
        "traces": to_json(traces_request([traced], resource)),
    }


@contextlib.contextmanager
def _attributing_writer(store: Store, attribution: Attribution) -> Iterator[BatchWriter]:
    """A writer applying `attribution`: metric rows get it as they are decoded, events and spans in the engine's
    INSERT (`ccmon.ingest.engine_rows`), which the writer renders from its own settings."""
    started = BatchWriter(store, IngestStats(), max_delay_s=0.01, attribution=attribution, max_value_length=65536)
    started.start()
    try:
        yield started
    finally:
        started.close()


def _load(store: Store, attribution: Attribution) -> None:
    with _attributing_writer(store, attribution) as writer:
        for index, (record, resource, _, _) in enumerate(CASES):
            for signal, body in _requests(index, record, resource).items():
                decoded = {"logs": LOGS, "metrics": METRICS, "traces": TRACES}[signal]
                writer.submit(decoded.decode(body, Encoding.JSON, 65536, attribution)).result(timeout=10)


@pytest.mark.parametrize("table", ["events", "metric_points", "spans"])
def test_each_row_gets_the_project_and_provider_the_rules_give(store: Store, table: str) -> None:
    _load(store, Attribution())
    rows = store.query(
        f"SELECT toUInt32(replaceOne(session_id, 's-', '')) AS i, project, provider FROM {table} ORDER BY i"
    )
    assert rows == [(i, project, provider) for i, (_, _, project, provider) in enumerate(CASES)]


@pytest.mark.parametrize("table", ["events", "metric_points", "spans"])
@pytest.mark.parametrize("keys", [("project", "vcs.repository.name"), ("vcs.repository.name", "project"), ()])
def test_the_sql_over_stored_rows_agrees_with_ingest(store: Store, table: str, keys: tuple[str, ...]) -> None:
    _load(store, Attribution(project_keys=keys))
    rows = store.query(f"SELECT project, {project_sql(keys)}, provider, {provider_sql()} FROM {table}")
    assert len(rows) == len(CASES)
    for project, project_again, provider, provider_again in rows:
        assert (project, provider) == (project_again, provider_again)


def test_a_configured_key_comes_first() -> None:
    index = {"project": 0, "repository": 1, "provider": 2, "model": 3, "team": 4, "user_email": 5}

    def project(attribution: Attribution) -> object:
        row: list[object] = ["", "repo", "", "", "", ""]
        attribution.apply(row, index, [("project", "tag")], {})
        return row[0]

    assert project(Attribution(project_keys=("vcs.repository.name", "project"))) == "repo"
    assert project(Attribution()) == "tag"
    assert project(Attribution(project_keys=())) == ""


@pytest.mark.parametrize(
    ("rules", "email", "team"),
    [
        ("*@payments.example.com=payments", "ada@payments.example.com", "payments"),
        ("*@payments.example.com=payments", "Ada@PAYMENTS.Example.com", "payments"),
        ("*@payments.example.com=payments", "ada@payments.example.com.evil.test", ""),
        ("*@payments.example.com=payments", "ada@example.com", ""),
        ("*@*.example.com=$2", "ada@data.example.com", "data"),
        ("*@*.example.com=team-$2", "ada@web.example.com", "team-web"),
        ("*@example.com=core,*@*.example.com=$2", "ada@example.com", "core"),
        ("*.*@example.com=$2", "ada.lovelace@example.com", "lovelace"),
        ("*@a.example.com=a,*@*.example.com=$2", "ada@b.example.com", "b"),
        ("(*)@example.com=x", "(ada)@example.com", "x"),  # regular-expression characters are literal
        ("*@*.example.com=$2", "ada@.example.com", ""),  # an empty capture gives no team
    ],
)
def test_team_rules(rules: str, email: str, team: str) -> None:
    assert Attribution(team_rules=parse_team_rules(rules.split(","))).team_of(email) == team


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("payments", "not PATTERN=TEAM"),
        ("=payments", "email pattern"),
        ("payments.example.com=payments", "email pattern"),
        ("*@example.com=", "the team is empty"),
        ("*@*.example.com=$3", r"\$3 names no \* of the pattern \(it has 2\)"),
        ("ada@example.com=$1", r"\$1 names no \*"),
    ],
)
def test_bad_team_rules_say_what_is_wrong(rule: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TeamRule.parse(rule)


def test_a_sent_team_wins_over_the_rules(store: Store) -> None:
    attribution = Attribution(team_rules=parse_team_rules(["*@*.example.com=$2"]))
    records = [
        log_record({"user.email": "ada@data.example.com", "event.name": "user_prompt"}, time_ns=1_795_000_000 * 10**9),
        log_record(
            {"user.email": "bob@data.example.com", "team": "platform", "event.name": "user_prompt"},
            time_ns=1_795_000_001 * 10**9,
        ),
        log_record({"user.id": "c3", "event.name": "user_prompt"}, time_ns=1_795_000_002 * 10**9),
    ]
    resource_team = log_record({"user.email": "eve@data.example.com"}, time_ns=1_795_000_003 * 10**9)
    with _attributing_writer(store, attribution) as writer:
        for request in (logs_request(records), logs_request([resource_team], {"team": "security"})):
            writer.submit(LOGS.decode(to_json(request), Encoding.JSON, 65536, attribution)).result(timeout=10)
    rows = store.query("SELECT person, team FROM events ORDER BY ts")
    assert rows == [
        ("ada@data.example.com", "data"),
        ("bob@data.example.com", "platform"),
        ("c3", ""),
        ("eve@data.example.com", "security"),
    ]


def test_the_server_applies_the_attribution_settings(chdb_path: Path) -> None:
    """`team_from_email` and `project_attributes` reach the receivers of `ccmon serve`."""
    rules = parse_team_rules(["*@*.example.com=$2"])
    with custom_server(chdb_path, team_from_email=rules, project_attributes=("git.repo",)) as server:
        record = log_record(
            {"user.email": "ada@data.example.com", "git.repo": "monorepo", "project": "ignored", "event.name": "x"},
            time_ns=1_795_000_000 * 10**9,
        )
        assert post(server, "logs", to_json(logs_request([record])), JSON).status_code == 200
        assert query(server, "SELECT team, project FROM events") == [("data", "monorepo")]


def test_promoted_project_keys_are_the_vocabulary_columns() -> None:
    """A project key the vocabulary keeps in a column is read from that column, in Python and in SQL alike."""
    for layout in (EVENTS, METRICS_LAYOUT, SPANS):
        for key, column in PROMOTED_KEYS.items():
            assert layout.record_keys[key].index == layout.index[column]


def _directory_requests(email: str, index: int, resource: Mapping[str, object]) -> dict[str, bytes]:
    """One event, one data point and one span of `email`, each at its own time."""
    time_ns = 1_795_100_000 * 10**9 + index * 10**9
    attrs = {"user.email": email, "session.id": f"d-{index}"}
    event = log_record({**attrs, "event.name": "user_prompt"}, time_ns=time_ns)
    point = data_point(1, attrs, time_ns=time_ns)
    traced = span("claude_code.interaction", f"{index:032x}", f"{index:016x}", **attrs)
    return {
        "logs": to_json(logs_request([event], resource)),
        "metrics": to_json(metrics_request([sum_metric("claude_code.session.count", [point])], resource)),
        "traces": to_json(traces_request([traced], resource)),
    }


def _send(writer: BatchWriter, attribution: Attribution, requests: dict[str, bytes]) -> None:
    for signal, body in requests.items():
        decoded = {"logs": LOGS, "metrics": METRICS, "traces": TRACES}[signal]
        writer.submit(decoded.decode(body, Encoding.JSON, 65536, attribution)).result(timeout=10)


def test_the_directory_wins_over_sent_attributes_and_changes_apply_without_restart(store: Store) -> None:
    """Precedence directory > client-sent > email rules, alike for events and spans (engine SQL) and data points
    (Python); a directory change is seen by the next commit of the same writer."""
    directory = Directory(store)
    directory.replace(
        DirectoryContent(
            (
                Person("ada@example.com", team="payments", department="eng", cost_center="CC-1"),
                Person("dan@example.com", department="ops"),
            ),
            (TeamRule("*@*.rules.example.com", "$2"),),
            has_rules=True,
        )
    )
    attribution = Attribution(team_rules=parse_team_rules(["*@config.example.com=configured"]), directory=directory)
    forged = {"team": "forged", "department": "forged", "cost_center": "forged"}
    with _attributing_writer(store, attribution) as writer:
        _send(writer, attribution, _directory_requests("Ada@Example.com", 1, forged))  # listed: the directory's
        _send(writer, attribution, _directory_requests("bob@x.rules.example.com", 2, {}))  # unlisted: a rule's
        _send(writer, attribution, _directory_requests("cy@x.rules.example.com", 3, {"team": "sent"}))  # sent wins
        _send(writer, attribution, _directory_requests("dan@example.com", 4, {"team": "sent"}))  # empty: sent
        _send(writer, attribution, _directory_requests("eve@config.example.com", 5, {}))  # the setting's rule
        directory.merge(DirectoryContent((Person("ada@example.com", team="core"),)))
        _send(writer, attribution, _directory_requests("ada@example.com", 6, {}))
    expected = [
        ("ada@example.com", "payments", "eng", "CC-1"),
        ("bob@x.rules.example.com", "x", "", ""),
        ("cy@x.rules.example.com", "sent", "", ""),
        ("dan@example.com", "sent", "ops", ""),
        ("eve@config.example.com", "configured", "", ""),
        ("ada@example.com", "core", "", ""),
    ]
    for table in ("events", "metric_points", "spans"):
        rows = store.query(f"SELECT lower(user_email), team, department, cost_center FROM {table} ORDER BY session_id")
        assert rows == expected, table
