"""Re-applying the directory to stored rows: what it reports, what it changes, and rollups still equal raw rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date

import pytest

from ccmon.directory.people import DirectoryContent, Person
from ccmon.directory.reattribute import reattribute
from ccmon.directory.registry import Directory
from ccmon.directory.rules import TeamRule
from ccmon.ingest.attribution import Attribution
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import LOGS, METRICS, TRACES, Encoding
from ccmon.store.facade import Store
from ccmon.store.rollups import DURATIONS, ROLLUPS
from tests.otlp.helpers import (
    data_point,
    log_record,
    logs_request,
    metrics_request,
    span,
    sum_metric,
    to_json,
    traces_request,
)
from tests.store.test_rollups import assert_rollups_equal_raw

DAY_1 = 1_795_100_000 * 10**9  # 2026-11-19
DAY_3 = DAY_1 + 2 * 86_400 * 10**9


def _requests(email: str, index: int, time_ns: int, resource: Mapping[str, object]) -> dict[str, bytes]:
    attrs = {"user.email": email, "session.id": f"s-{index}"}
    event = log_record({**attrs, "event.name": "api_request", "cost_usd": 0.25}, time_ns=time_ns)
    point = data_point(2, attrs, time_ns=time_ns)
    traced = span("claude_code.interaction", f"{index:032x}", f"{index:016x}", **attrs)
    return {
        "logs": to_json(logs_request([event], resource)),
        "metrics": to_json(metrics_request([sum_metric("claude_code.lines_of_code.count", [point], 1)], resource)),
        "traces": to_json(traces_request([traced], resource)),
    }


@pytest.fixture
def stored(store: Store) -> Iterator[Store]:
    """Rows of ada (team old), bob (no team) and cy (team keep) on two days, stored with no directory."""
    writer = BatchWriter(store, IngestStats(), max_delay_s=0.01, max_value_length=65536)
    writer.start()
    plain = Attribution()
    try:
        sent = [
            ("ada@example.com", {"team": "old", "cost_center": "CC-9"}),
            ("bob@rules.example.com", {}),
            ("cy@example.com", {"team": "keep"}),
        ]
        for index, (email, resource) in enumerate(sent):
            for offset, time_ns in enumerate((DAY_1, DAY_3)):
                number = index * 10 + offset + 1
                for signal, body in _requests(email, number, time_ns + number * 10**9, resource).items():
                    decoded = {"logs": LOGS, "metrics": METRICS, "traces": TRACES}[signal]
                    writer.submit(decoded.decode(body, Encoding.JSON, 65536, plain)).result(timeout=10)
    finally:
        writer.close()
    yield store


def _attribution(store: Store) -> list[tuple[str, str, str, str]]:
    rows = store.query(
        "SELECT DISTINCT person, team, department, cost_center FROM "
        "(SELECT person, team, department, cost_center FROM events UNION ALL "
        "SELECT person, team, department, cost_center FROM metric_points UNION ALL "
        "SELECT person, team, department, cost_center FROM spans) ORDER BY ALL"
    )
    return [tuple(row) for row in rows]


def test_apply_reports_then_changes_and_rebuilds_the_rollups(stored: Store) -> None:
    directory = Directory(stored)
    directory.replace(
        DirectoryContent(
            (Person("ada@example.com", team="payments", department="eng"), Person("zed@example.com", team="z")),
            (TeamRule("*@rules.example.com", "ruled"),),
            has_rules=True,
        )
    )
    before = _attribution(stored)
    assert before == [
        ("ada@example.com", "old", "", "CC-9"),
        ("bob@rules.example.com", "", "", ""),
        ("cy@example.com", "keep", "", ""),
    ]
    dry = reattribute(stored, directory.refresh(), dry_run=True)
    assert dry.tables == {"events": 4, "metric_points": 4, "spans": 4}
    assert dry.days == (date(2026, 11, 19), date(2026, 11, 21))
    assert [(c.person, c.old, c.new) for c in dry.people] == [
        (
            "ada@example.com",
            {"team": "old", "department": "", "cost_center": "CC-9"},
            {"team": "payments", "department": "eng", "cost_center": "CC-9"},  # the directory said no cost center
        ),
        (
            "bob@rules.example.com",
            {"team": "", "department": "", "cost_center": ""},
            {"team": "ruled", "department": "", "cost_center": ""},
        ),
    ]
    assert _attribution(stored) == before  # a dry run changes nothing

    applied = reattribute(stored, directory.refresh(), dry_run=False)
    assert applied.tables == dry.tables and applied.people == dry.people
    assert _attribution(stored) == [
        ("ada@example.com", "payments", "eng", "CC-9"),
        ("bob@rules.example.com", "ruled", "", ""),
        ("cy@example.com", "keep", "", ""),
    ]
    # The data has no timed events (tool results, API requests): the durations rollups are empty, and equal.
    assert_rollups_equal_raw(stored, min_rows=1, rollups=tuple(r for r in ROLLUPS if r not in DURATIONS))
    assert_rollups_equal_raw(stored, min_rows=-1, rollups=DURATIONS)
    teams = stored.query("SELECT DISTINCT team FROM events_by_day_and_person ORDER BY team")
    assert teams == [("keep",), ("payments",), ("ruled",)]
    assert reattribute(stored, directory.refresh(), dry_run=False).rows == 0  # applied: nothing left to change


def test_hashed_rows_are_matched_by_pseudonym_and_rules_left_alone(stored: Store) -> None:
    directory = Directory(stored)
    directory.replace(
        DirectoryContent(
            (Person("ada@example.com", team="payments"),), (TeamRule("*@rules.example.com", "r"),), has_rules=True
        )
    )
    # Rows keyed as if `hash_emails` had stored ada as `anon-ada`: the directory reaches them through person_key.
    stored.command(
        "ALTER TABLE events UPDATE person = 'anon-ada' WHERE person = 'ada@example.com' SETTINGS mutations_sync = 2"
    )
    result = reattribute(
        stored,
        directory.refresh(),
        dry_run=True,
        person_key=lambda e: "anon-ada" if e == "ada@example.com" else e,
        hashed=True,
    )
    assert result.tables == {"events": 2, "metric_points": 0, "spans": 0}
    assert [(c.person, c.email, c.new["team"]) for c in result.people] == [("anon-ada", "ada@example.com", "payments")]


def test_an_empty_directory_changes_nothing(stored: Store) -> None:
    result = reattribute(stored, Directory(stored).refresh(), dry_run=False)
    assert result.rows == 0 and result.people == ()
