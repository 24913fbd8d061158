"""The usage-limit series (`rate_limits`, written by `ccmon.ingest.limits` as the statusline route does) read back: the
latest report per person and window, within the range, the caller's scope and the filters; and a person's spend
today and this month, on crafted telemetry sent through ingest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccmon.analytics import Analytics
from ccmon.analytics.limits import latest_limits, personal_spend
from ccmon.analytics.query import Filters, Query
from ccmon.analytics.scope import Forbidden, Scope
from ccmon.analytics.timerange import InvalidQuery, TimeRange
from ccmon.ingest.limits import limit_rows, record_limits
from ccmon.onboarding.statusline import Limit, LimitReport
from ccmon.store.facade import Store
from tests.alerts.telemetry import Usage, store_with

ANN, BEN, DAN = "ann@example.com", "ben@example.com", "dan@example.com"
NOV = TimeRange(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


USAGES = [
    Usage(ANN, at(2), cost=1.25, session="s-ann-1", team="platform"),
    Usage(ANN, at(15, 3), cost=2.5, session="s-ann-2", team="platform"),
    Usage(ANN, at(15, 9), cost=0.5, session="s-ann-2", team="web"),  # another team's row: still Ann's spend
    Usage(ANN, at(15, 20), cost=7.0, session="s-ann-3", team="platform"),  # after `now` below
    Usage(ANN, datetime(2026, 10, 31, 23, tzinfo=UTC), cost=100.0, session="s-ann-0"),  # last month
    Usage(BEN, at(15, 4), cost=9.0, session="s-ben", team="platform"),
]


@pytest.fixture(scope="module")
def store(chdb_path: Path, clickhouse_url: str | None) -> Iterator[Store]:
    with store_with(chdb_path, clickhouse_url, USAGES) as opened:
        record = record_limits(opened)
        reports = [
            LimitReport(
                at(10).timestamp(), ANN, "s-ann-1", {"five_hour": Limit(20.0, 1_794_000_000)}, "opus", "platform"
            ),
            LimitReport(
                at(12).timestamp(), ANN, "s-ann-2", {"five_hour": Limit(45.5), "seven_day": Limit(60.0)}, "opus"
            ),
            LimitReport(at(11).timestamp(), ANN, "s-ann-x", {"five_hour": Limit(99.0)}, "sonnet", "platform"),
            LimitReport(at(12).timestamp(), BEN, "s-ben", {"seven_day": Limit(10.0)}, "sonnet", "platform", "eng"),
            LimitReport(at(13).timestamp(), DAN, "s-dan", {"five_hour": Limit(70.0)}, "opus", "ops", "ops"),
            LimitReport(datetime(2026, 10, 2, tzinfo=UTC).timestamp(), DAN, "s-old", {"five_hour": Limit(5.0)}),
        ]
        assert [record(report) for report in reports] == [1, 2, 1, 1, 1, 1]
        yield opened


def _latest(store: Store, query: Query) -> list[tuple[str, str, float, str]]:
    return [(r.person, r.window, r.used_pct, r.session_id) for r in latest_limits(store, query).rows]


def test_the_latest_report_per_person_and_window(store: Store) -> None:
    assert _latest(store, Query(NOV)) == [
        (ANN, "five_hour", 45.5, "s-ann-2"),
        (ANN, "seven_day", 60.0, "s-ann-2"),
        (BEN, "seven_day", 10.0, "s-ben"),
        (DAN, "five_hour", 70.0, "s-dan"),
    ]
    [ann_five, *_] = latest_limits(store, Query(NOV)).rows
    assert ann_five.reported_at == at(12) and ann_five.resets_at is None and ann_five.model == "opus"
    # Until the 11th, Ann's latest five-hour report is the one of the 11th; October holds Dan's old one only.
    assert _latest(store, Query(TimeRange(at(1), at(11, 12)))) == [(ANN, "five_hour", 99.0, "s-ann-x")]
    early = latest_limits(store, Query(TimeRange(at(1), at(10, 12)))).rows
    assert [(r.resets_at, r.team) for r in early] == [(datetime(2026, 11, 6, 21, 20, tzinfo=UTC), "platform")]
    assert _latest(store, Query(TimeRange(datetime(2026, 10, 1, tzinfo=UTC), at(1)))) == [
        (DAN, "five_hour", 5.0, "s-old")
    ]


def test_the_scope_and_the_filters_narrow_the_people(store: Store) -> None:
    assert {r[0] for r in _latest(store, Query(NOV, Scope(persons=(BEN,))))} == {BEN}
    # Rows carry the team the report arrived with: Ann's latest (no team) is out of the team lead's scope.
    assert _latest(store, Query(NOV, Scope(teams=("platform",)))) == [
        (ANN, "five_hour", 99.0, "s-ann-x"),
        (BEN, "seven_day", 10.0, "s-ben"),
    ]
    assert {r[0] for r in _latest(store, Query(NOV, Scope(departments=("ops",))))} == {DAN}
    assert {r[0] for r in _latest(store, Query(NOV, filters=Filters({"model": ("sonnet",)})))} == {ANN, BEN}
    assert _latest(store, Query(NOV, Scope(persons=(BEN,)), Filters({"person": (DAN,)}))) == []


def test_the_viewer_and_filters_the_table_does_not_keep_are_refused(store: Store) -> None:
    with pytest.raises(Forbidden, match="individual people"):
        latest_limits(store, Query(NOV, Scope(per_person=False)))
    with pytest.raises(InvalidQuery, match="repository"):
        latest_limits(store, Query(NOV, filters=Filters({"repository": ("api",)})))


def test_a_report_without_a_person_has_no_rows() -> None:
    assert limit_rows(LimitReport(at(1).timestamp(), "", "s", {"five_hour": Limit(1.0)})) == []
    assert limit_rows(LimitReport(at(1).timestamp(), ANN, "s", {})) == []


def test_a_persons_spend_today_and_this_month(store: Store) -> None:
    spent = personal_spend(store, ANN, at(15, 12))
    assert (spent.today_usd, spent.month_usd) == (3.0, 4.25)
    assert spent.as_of == at(15, 12)
    assert Analytics(store).personal_spend(BEN, at(15, 12)).today_usd == 9.0
    # At midnight, nothing yet today; the first of the month, the month is that day.
    midnight = personal_spend(store, ANN, at(16, 0))
    assert (midnight.today_usd, midnight.month_usd) == (0.0, 11.25)
    assert personal_spend(store, "nobody@example.com", at(15, 12)).month_usd == 0.0
