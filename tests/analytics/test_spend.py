"""Spend, org chart, session and model questions of budgets and policies, on crafted telemetry sent through ingest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccmon.analytics import spend
from ccmon.analytics.cost import total_cost
from ccmon.analytics.query import UNKNOWN, Filters, Query
from ccmon.analytics.scope import Forbidden, Scope
from ccmon.analytics.spend import ModelUse, PersonDims
from ccmon.analytics.timerange import InvalidQuery, TimeRange
from ccmon.store.facade import Store
from tests.alerts.telemetry import Usage, store_with

NOV = TimeRange(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
SINCE = datetime(2026, 10, 1, tzinfo=UTC)
OPUS, SONNET = "claude-opus-4-5", "claude-sonnet-4-5"


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


USAGES = [
    Usage("ann@example.com", at(2), 1.25, 1000, OPUS, "s-ann-1", "platform", "eng", "cc-1", "uuid-ann", requests=3),
    Usage("ann@example.com", at(15, 10, 30), 2.5, 500, SONNET, "s-ann-2", "platform", "eng", "cc-1", "uuid-ann"),
    Usage("ben@example.com", at(18), 0.125, 40, SONNET, "s-ben", "platform", "eng", requests=2),
    # dan moved from infra to ops; the rows without a team are nobody's team
    Usage("dan@example.com", at(3), 4.0, 10, SONNET, "s-dan-1", "infra", "ops"),
    Usage("dan@example.com", at(12), 1.0, 10, OPUS, "s-dan-2", "ops", "ops", "cc-9"),
    Usage("eve@example.com", at(5), 0.5, 7, SONNET, "s-eve", requests=0),
    # October: outside the range
    Usage("ann@example.com", datetime(2026, 10, 30, tzinfo=UTC), 100.0, 9, OPUS, "s-ann-0", "web", "eng"),
]


@pytest.fixture(scope="module")
def store(chdb_path: Path, clickhouse_url: str | None) -> Iterator[Store]:
    with store_with(chdb_path, clickhouse_url, USAGES) as opened:
        yield opened


def test_usage_total_is_the_summary_cost(store: Store) -> None:
    query = Query(NOV)
    assert spend.usage(store, query, "usd") == {spend.TOTAL: 9.375} == {spend.TOTAL: total_cost(store, query)}
    assert spend.usage(store, query, "tokens") == {spend.TOTAL: 1567.0}


def test_usage_narrows_to_range_scope_and_filters(store: Store) -> None:
    range_ = TimeRange(at(2, 0), at(15, 10, 30))  # ann's second usage starts the excluded end
    assert spend.usage(store, Query(range_), "usd") == {spend.TOTAL: 1.25 + 4.0 + 1.0 + 0.5}
    assert spend.usage(store, Query(NOV, Scope(teams=("platform",))), "usd") == {spend.TOTAL: 3.875}
    assert spend.usage(store, Query(NOV, filters=Filters({"department": ("ops",)})), "tokens") == {spend.TOTAL: 20.0}


def test_usage_by_dimension(store: Store) -> None:
    query = Query(NOV)
    assert spend.usage(store, query, "usd", "team") == {"platform": 3.875, "infra": 4.0, "ops": 1.0, UNKNOWN: 0.5}
    assert spend.usage(store, query, "usd", "person") == {
        "ann@example.com": 3.75,
        "ben@example.com": 0.125,
        "dan@example.com": 5.0,
        "eve@example.com": 0.5,
    }
    assert spend.usage(store, query, "tokens", "cost_center") == {"cc-1": 1500.0, "cc-9": 10.0, UNKNOWN: 57.0}
    assert spend.usage(store, query, "usd", "department") == {"eng": 3.875, "ops": 5.0, UNKNOWN: 0.5}


def test_usage_refuses_bad_questions(store: Store) -> None:
    with pytest.raises(InvalidQuery, match="unit: 'eur' is not one of usd, tokens"):
        spend.usage(store, Query(NOV), "eur")
    with pytest.raises(InvalidQuery, match="by: 'model' is not one of person, team, department, cost_center"):
        spend.usage(store, Query(NOV), "usd", "model")
    with pytest.raises(Forbidden, match="usage by person"):
        spend.usage(store, Query(NOV, Scope(per_person=False)), "usd", "person")


def test_person_dims_are_the_latest_non_empty(store: Store) -> None:
    assert spend.person_dims(store, "dan@example.com", SINCE) == PersonDims("ops", "ops", "cc-9")
    assert spend.person_dims(store, "ann@example.com", SINCE) == PersonDims("platform", "eng", "cc-1")
    # before the move: dan was in infra, and had no cost center yet
    assert spend.person_dims(store, "dan@example.com", SINCE, at(5)) == PersonDims("infra", "ops", "")
    assert spend.person_dims(store, "eve@example.com", SINCE) == PersonDims("", "", "")
    assert spend.person_dims(store, "nobody@example.com", SINCE) is None
    assert spend.dims_by_person(store, Query(NOV, Scope(teams=("ops",)))) == {
        "dan@example.com": PersonDims("ops", "ops", "cc-9")
    }


def test_person_of_session_and_of_account(store: Store) -> None:
    assert spend.person_of_session(store, "s-ben", SINCE) == "ben@example.com"
    assert spend.person_of_session(store, "s-ben", at(19)) is None  # nothing since
    assert spend.person_of_session(store, "s-nobody", SINCE) is None
    assert spend.person_of_session(store, "", SINCE) is None
    assert spend.person_by_account(store, "uuid-ann", SINCE) == "ann@example.com"
    assert spend.person_by_account(store, "uuid-none", SINCE) is None
    assert spend.person_by_account(store, "", SINCE) is None


def test_models_and_their_use(store: Store) -> None:
    assert spend.models(store, Query(NOV)) == [OPUS, SONNET]
    assert spend.models(store, Query(NOV, Scope(persons=("ben@example.com",)))) == [SONNET]
    uses = spend.models_used(store, Query(NOV).with_filter("model", OPUS))
    assert uses == [
        ModelUse(
            "ann@example.com", "platform", "eng", "cc-1", OPUS, "s-ann-1", 3, at(2), at(2).replace(microsecond=2000)
        ),
        ModelUse("dan@example.com", "ops", "ops", "cc-9", OPUS, "s-dan-2", 1, at(12), at(12)),
    ]
    everything = spend.models_used(store, Query(NOV))
    assert [(u.person, u.session_id, u.requests) for u in everything] == [
        ("ann@example.com", "s-ann-1", 3),
        ("ann@example.com", "s-ann-2", 1),
        ("ben@example.com", "s-ben", 2),
        ("dan@example.com", "s-dan-2", 1),
        ("dan@example.com", "s-dan-1", 1),
    ]
    with pytest.raises(Forbidden):
        spend.models_used(store, Query(NOV, Scope(per_person=False)))


def test_session_model_is_the_latest(store: Store) -> None:
    assert spend.session_model(store, "s-ann-2", SINCE) == SONNET
    assert spend.session_model(store, "s-dan-2", SINCE) == OPUS
    assert spend.session_model(store, "s-dan-2", at(13)) is None
    assert spend.session_model(store, "s-eve", SINCE) is None  # metrics only, no request
    assert spend.session_model(store, "", SINCE) is None
