"""The incremental totals of `/metrics/claude-code` equal a computation from everything stored, after rounds of
inserts (new label sets, late data for old hours, the guard's choice moving), for both readings and scoped callers;
what increments cannot see (a mutation, an expired rebuild) rebuilds them; one variant's build does not hold up
another's scrape, and no number of callers evicts the organisation's variant."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from ccmon.analytics import Scope
from ccmon.analytics.prom_cache import PromSeriesCache, _Totals
from ccmon.analytics.prom_series import SeriesSource, claude_code_series
from ccmon.store.facade import Store
from tests.analytics.test_signals import ANN, BEN, CAT, NOW, Who, cost, send, session_start, tokens

HOUR = timedelta(hours=1)
VARIANTS = [
    (Scope.everyone(), False),
    (Scope.everyone(), True),
    (Scope(teams=("web",)), False),
    (Scope(teams=("web",)), True),
    (Scope(per_person=False, content=False), True),
]


def settle(store: Store) -> None:
    """Wait until the engine's clock is past the second of the last insert: with no lag, the watermark then
    covers every row."""
    deadline = time.monotonic() + 5
    while not store.query("SELECT now() > (SELECT max(ingested_at) FROM metric_points)")[0][0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def assert_equal_to_full(store: Store, cache: PromSeriesCache, max_series: int) -> None:
    for scope, session_labels in VARIANTS:
        cached = cache.series(store, scope, session_labels=session_labels, max_series=max_series)
        full = claude_code_series(store, scope, session_labels=session_labels, max_series=max_series)
        assert cached == full, (scope, session_labels, max_series)


def test_increments_equal_a_full_computation_round_after_round(store: Store) -> None:
    cache = PromSeriesCache(lag_s=0, capacity=len(VARIANTS))
    send(store, cost(NOW - 3 * HOUR, 1.25), cost(NOW - HOUR, 0.1, BEN), tokens(NOW, 100), session_start(NOW, CAT))
    settle(store)
    assert_equal_to_full(store, cache, max_series=3)
    assert cache.rebuilds == len(VARIANTS)
    rounds = [
        # More of the same series, and a new one.
        (
            cost(NOW, 0.2, BEN),
            tokens(NOW + HOUR, 7, "output", CAT),
            cost(NOW, 0.3, Who("dan@example.com", "s-d", "web")),
        ),
        # Late data for an old hour (a month ago), in a series the guard had dropped.
        (cost(NOW - 30 * 24 * HOUR, 2.5), tokens(NOW - 30 * 24 * HOUR, 1, "cacheRead", ANN)),
        # Values that are not whole add up to the same digits either way.
        (cost(NOW + 2 * HOUR, 0.1, BEN), cost(NOW + 2 * HOUR, 0.7, BEN), session_start(NOW + 2 * HOUR, ANN)),
        # Only series already shown: their values change in place.
        (cost(NOW + 3 * HOUR, 0.05, BEN), tokens(NOW + 3 * HOUR, 3, "input")),
    ]
    for records in rounds:
        send(store, *records)
        settle(store)
        assert_equal_to_full(store, cache, max_series=3)
        assert_equal_to_full(store, cache, max_series=100)  # (a new limit chooses among every label set)
    assert cache.rebuilds == len(VARIANTS)  # every round was added, nothing rebuilt
    # A scrape with nothing new answers the same.
    assert_equal_to_full(store, cache, max_series=100)


def test_the_points_of_the_last_seconds_are_read_at_every_scrape(store: Store) -> None:
    """Behind the watermark nothing is settled, yet a scrape shows it: what was just sent is never late."""
    cache = PromSeriesCache(lag_s=3600, capacity=len(VARIANTS))
    send(store, cost(NOW, 1.0), session_start(NOW, BEN))
    assert_equal_to_full(store, cache, max_series=1)
    send(store, cost(NOW + HOUR, 0.5), cost(NOW, 0.25, CAT))
    assert_equal_to_full(store, cache, max_series=2)
    assert_equal_to_full(store, cache, max_series=2)  # (the same answer, nothing arrived)
    assert cache.rebuilds == len(VARIANTS)
    everyone = cache.series(store, Scope.everyone(), session_labels=False, max_series=10)
    assert sum(s.value for s in everyone.series if s.metric.name == "claude_code_cost_usage_USD_total") == 1.75


def test_a_mutation_rebuilds_and_so_does_time(store: Store) -> None:
    clock = [0.0]
    cache = PromSeriesCache(lag_s=0, rebuild_s=600, clock=lambda: clock[0])
    send(store, cost(NOW, 1.0), cost(NOW, 2.0, BEN))
    settle(store)
    assert_equal_to_full(store, cache, max_series=10)
    before = cache.rebuilds
    # Erasure as `ccmon privacy` does it: a mutation of the raw points (the rollups are rebuilt from them).
    store.command("ALTER TABLE metric_points DELETE WHERE user_email = 'ben@example.com' SETTINGS mutations_sync = 2")
    for scope, session_labels in VARIANTS:
        if session_labels and scope.per_person:
            erased = cache.series(store, scope, session_labels=True, max_series=10)
            assert "ben@example.com" not in str(erased.series)
            assert erased == claude_code_series(store, scope, session_labels=True, max_series=10)
    assert cache.rebuilds > before
    settled = cache.rebuilds
    for session_labels in (False, True):
        cache.series(store, Scope.everyone(), session_labels=session_labels, max_series=10)
    assert cache.rebuilds == settled + 1  # (the reading from the rollup sees the mutation now)
    clock[0] = 601.0  # totals from the rollup expire (its retention is not seen otherwise), those of raw points not
    for session_labels in (False, True):
        cache.series(store, Scope.everyone(), session_labels=session_labels, max_series=10)
    assert cache.rebuilds == settled + 2


def test_a_row_stamped_behind_the_watermark_rebuilds(store: Store) -> None:
    """A row committed later than the lag (or written with an old stamp) is not lost: the count of rows before the
    watermark moved, so the totals are rebuilt."""
    cache = PromSeriesCache(lag_s=0)
    send(store, cost(NOW, 1.0))
    settle(store)
    cache.series(store, Scope.everyone(), session_labels=True, max_series=10)
    store.command(
        "INSERT INTO metric_points (ts, metric_name, value, user_email, session_id, ingested_at) "
        "VALUES (toDateTime64('2026-11-20 12:00:00', 9, 'UTC'), 'claude_code.cost.usage', 4.0, 'ann@example.com', "
        "'s-ann', now() - 60)"
    )
    scraped = cache.series(store, Scope.everyone(), session_labels=True, max_series=10)
    assert sum(s.value for s in scraped.series) == 5.0
    assert scraped == claude_code_series(store, Scope.everyone(), session_labels=True, max_series=10)


def test_the_cache_keeps_a_few_variants_only(store: Store) -> None:
    cache = PromSeriesCache(lag_s=0, capacity=2)
    for team in ("a", "b", "c", "a"):
        cache.series(store, Scope(teams=(team,)), session_labels=False, max_series=10)
    assert cache.rebuilds == 4  # "a" was evicted by "c"


class GatedBuilds(PromSeriesCache):
    """A cache whose builds of `gated`'s variants take as long as the test says: they set `building`, then wait for
    `release` (as a build of seconds on a large store)."""

    def __init__(self, gated: Scope) -> None:
        super().__init__(lag_s=0)
        self.gated, self.building, self.release = gated, threading.Event(), threading.Event()

    def _build(self, store: Store, source: SeriesSource, watermark: int) -> _Totals:
        if source.query.scope == self.gated:
            self.building.set()
            assert self.release.wait(30)
        return super()._build(store, source, watermark)


def test_a_slow_build_does_not_hold_up_another_variants_scrape(store: Store) -> None:
    """A team lead's first scrape builds for seconds on a large store: Prometheus's scrape meanwhile is answered."""
    send(store, cost(NOW, 1.0), cost(NOW, 2.0, BEN))
    settle(store)
    team = Scope(teams=("web",))
    cache = GatedBuilds(team)
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(cache.series, store, team, session_labels=False, max_series=10)
        try:
            assert cache.building.wait(30)
            org = pool.submit(cache.series, store, Scope.everyone(), session_labels=False, max_series=10)
            # (With one lock for every variant, this waits for the release: a TimeoutError.)
            answered = org.result(timeout=20)
            assert answered == claude_code_series(store, Scope.everyone(), session_labels=False, max_series=10)
            assert not slow.done()
        finally:
            cache.release.set()
        assert slow.result(timeout=30) == claude_code_series(store, team, session_labels=False, max_series=10)
    assert cache.rebuilds == 2


def test_scrapes_of_one_variant_wait_for_its_build(store: Store) -> None:
    """Two scrapes of a variant at once: the second waits for the first's build and adds to it, never builds again."""
    send(store, cost(NOW, 1.0), cost(NOW, 2.0, BEN))
    settle(store)
    cache = GatedBuilds(Scope.everyone())
    with ThreadPoolExecutor(2) as pool:
        try:
            first = pool.submit(cache.series, store, Scope.everyone(), session_labels=True, max_series=10)
            assert cache.building.wait(30)
            second = pool.submit(cache.series, store, Scope.everyone(), session_labels=True, max_series=10)
            deadline = time.monotonic() + 20
            while cache._variants[(Scope.everyone(), True)].scrapes < 2:  # (the second is waiting for the lock)
                assert time.monotonic() < deadline
                time.sleep(0.01)
        finally:
            cache.release.set()
        assert first.result(timeout=30) == second.result(timeout=30)
    assert first.result() == claude_code_series(store, Scope.everyone(), session_labels=True, max_series=10)
    assert cache.rebuilds == 1


def test_callers_with_their_own_scopes_never_evict_the_organisations_variant(store: Store) -> None:
    """Prometheus's scrape token sees everyone: however many developers scrape with their own keys in between, its
    totals stay (a rebuild costs seconds); the developers' variants share the capacity, least recently used out."""
    send(store, cost(NOW, 1.0), cost(NOW, 2.0, BEN))
    settle(store)
    cache = PromSeriesCache(lag_s=0, capacity=2)
    org = cache.series(store, Scope.everyone(), session_labels=False, max_series=10)
    people = [Scope(persons=(f"dev{number}@example.com",)) for number in range(6)]
    for person in people:
        cache.series(store, person, session_labels=False, max_series=10)
    assert cache.rebuilds == 7
    assert cache.series(store, Scope.everyone(), session_labels=False, max_series=10) == org
    assert cache.rebuilds == 7  # the organisation's totals were kept
    cache.series(store, people[-1], session_labels=False, max_series=10)
    assert cache.rebuilds == 7  # among the last two
    cache.series(store, people[0], session_labels=False, max_series=10)
    assert cache.rebuilds == 8  # evicted long ago
