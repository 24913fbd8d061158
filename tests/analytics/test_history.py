"""The history's rule: per person and UTC day, OTLP wins, else transcripts, else the Admin API; never counted twice.

The OTLP side is the hand-computed dataset of tests/analytics/data.py: on 2026-11-20, alice@example.com spent 3.25
(1000 input, 200 output, 3000 cache read tokens) and bob-uuid 0.50 (40 cache creation tokens)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ccmon.analytics import Analytics, Filters, Query, Scope, TimeRange
from ccmon.analytics.scope import Forbidden
from ccmon.ingest.writer import BatchWriter
from ccmon.store.imports import ImportedUsage, ImportedUsageTable

WEEK = TimeRange(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
ALICE, CAROL = "alice@example.com", "carol@example.com"


def _row(key: int, day: int, person: str, source: str, cost: float, **more: object) -> ImportedUsage:
    ts = datetime(2026, 11, day, 15, 0, tzinfo=UTC)
    return ImportedUsage(
        ts=ts,
        source=source,
        dedup_key=key,
        person=person,
        user_email=person,
        cost_usd=cost,
        **more,  # type: ignore[arg-type]
    )


@pytest.fixture
def analytics(loaded: BatchWriter) -> Analytics:
    store = loaded.store
    ImportedUsageTable(store).add(
        [
            # alice on the OTLP day: shadowed by OTLP, whatever the source
            _row(1, 20, ALICE, "transcripts", 3.0, input_tokens=999),
            _row(2, 20, ALICE, "admin-api", 3.1),
            # alice the day before: transcripts win over the Admin API
            _row(3, 19, ALICE, "transcripts", 1.0, output_tokens=10),
            _row(4, 19, ALICE, "transcripts", 0.5, output_tokens=5, priced=False),
            _row(5, 19, ALICE, "admin-api", 1.4),
            # carol: Admin API only
            _row(6, 18, CAROL, "admin-api", 2.0, team="data"),
        ]
    )
    return Analytics(store)


def test_each_person_day_counts_once_with_its_source(analytics: Analytics) -> None:
    result = analytics.history(Query(WEEK), per_person=True)
    assert result.people is not None
    got = {(r.day, r.person): (r.source, r.cost_usd, r.shadowed) for r in result.people}
    assert got == {
        (date(2026, 11, 18), CAROL): ("admin-api", 2.0, []),
        (date(2026, 11, 19), ALICE): ("transcripts", 1.5, ["admin-api"]),
        (date(2026, 11, 20), ALICE): ("otlp", 3.25, ["transcripts", "admin-api"]),
        (date(2026, 11, 20), "bob-uuid"): ("otlp", 0.5, []),
    }
    assert result.total_cost_usd == pytest.approx(2.0 + 1.5 + 3.25 + 0.5)
    assert result.cost_by_source == pytest.approx({"otlp": 3.75, "transcripts": 1.5, "admin-api": 2.0})
    assert result.shadowed_cost_usd == pytest.approx({"otlp": 0.0, "transcripts": 3.0, "admin-api": 3.1 + 1.4})


def test_an_api_key_actor_is_never_matched_to_telemetry(loaded: BatchWriter, analytics: Analytics) -> None:
    # The documented limit (docs/interop.md, "Importing history"): an Admin API key actor's person, `api-key:<name>`,
    # is no key telemetry uses, so its day is added to the OTLP of the same developer (bob-uuid here), never shadowed.
    # Hence `ccmon import admin-api` leaves API-key actors out unless `--actors all`.
    ImportedUsageTable(loaded.store).add([_row(7, 20, "api-key:ci", "admin-api", 0.4)])
    result = analytics.history(Query(WEEK), per_person=True)
    assert result.people is not None
    that_day = {r.person: (r.source, r.shadowed) for r in result.people if r.day == date(2026, 11, 20)}
    assert that_day["api-key:ci"] == ("admin-api", []) and that_day["bob-uuid"] == ("otlp", [])
    assert result.cost_by_source["admin-api"] == pytest.approx(2.0 + 0.4)


def test_tokens_and_unpriced_messages_come_with_the_winning_source(analytics: Analytics) -> None:
    result = analytics.history(Query(WEEK), per_person=True)
    assert result.people is not None
    rows = {(r.day, r.person): r for r in result.people}
    otlp = rows[(date(2026, 11, 20), ALICE)]
    assert (otlp.input_tokens, otlp.output_tokens, otlp.cache_read_tokens, otlp.unpriced) == (1000, 200, 3000, 0)
    imported = rows[(date(2026, 11, 19), ALICE)]
    assert (imported.output_tokens, imported.unpriced) == (15, 1)


def test_daily_totals_per_source_add_up_to_the_total(analytics: Analytics) -> None:
    result = analytics.history(Query(WEEK))
    assert result.people is None
    assert [(d.day.day, d.source, d.people) for d in result.days] == [
        (18, "admin-api", 1),
        (19, "transcripts", 1),
        (20, "otlp", 2),
    ]
    assert sum(d.cost_usd for d in result.days) == pytest.approx(result.total_cost_usd)


def test_filters_and_scope_apply_to_every_source(analytics: Analytics) -> None:
    data_team = analytics.history(Query(WEEK, filters=Filters({"team": ("data",)})), per_person=True)
    assert data_team.people is not None
    assert {(r.person, r.source) for r in data_team.people} == {(CAROL, "admin-api"), ("bob-uuid", "otlp")}
    scoped = analytics.history(Query(WEEK, Scope(persons=(ALICE,))), per_person=True)
    assert scoped.people is not None
    assert {r.person for r in scoped.people} == {ALICE}


def test_a_range_without_otlp_falls_back_to_imports(analytics: Analytics) -> None:
    day = TimeRange(datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))
    result = analytics.history(Query(day))
    assert [(d.source, d.cost_usd) for d in result.days] == [("transcripts", 1.5)]


def test_per_person_needs_a_role_that_sees_people(analytics: Analytics) -> None:
    with pytest.raises(Forbidden):
        analytics.history(Query(WEEK, Scope(per_person=False)), per_person=True)
    assert analytics.history(Query(WEEK, Scope(per_person=False))).total_cost_usd == pytest.approx(7.25)
