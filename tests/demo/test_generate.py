"""Determinism: the same seed gives the same data; shards and shifted windows agree with the whole."""

from __future__ import annotations

from datetime import datetime, timedelta

from ccmon import demo
from ccmon.demo.sessions import to_ms
from ccmon.demo.telemetry import Event, SessionTelemetry
from tests.demo.conftest import NOW


def _medium(seed: int = 3, now: datetime = NOW, shard: tuple[int, int] = (0, 1)) -> demo.Demo:
    return demo.generate(seed=seed, developers=10, teams=3, days=7, now=now, shard=shard)


def _wire(d: demo.Demo) -> list[tuple[object, ...]]:
    return [(t.session.person.index, t.cumulative, t.events, t.points) for t in d.telemetry]


def test_same_seed_same_data() -> None:
    first, second = _medium(), _medium()
    assert _wire(first) == _wire(second)
    assert first.totals() == second.totals()


def test_other_seed_other_data() -> None:
    first, other = _medium(), _medium(seed=4)
    assert first.totals().summary() != other.totals().summary()
    assert {t.session.id for t in first.telemetry}.isdisjoint(t.session.id for t in other.telemetry)


def test_a_later_window_resends_the_same_days() -> None:
    """A developer's day does not depend on the window: tomorrow's demo repeats today's data (dedup-able)."""
    today, tomorrow = _medium(), _medium(now=NOW + timedelta(days=1))
    cutoff, since = to_ms(NOW - timedelta(hours=12)) * 1_000_000, to_ms(tomorrow.start)

    def events(d: demo.Demo) -> dict[tuple[str, int, object], Event]:
        return {
            (t.session.id, t.session.start_ms, e.attributes["event.sequence"]): e
            for t in d.telemetry
            if t.session.start_ms >= since
            for e in t.events
            if e.time_ns < cutoff
        }

    shared = events(today)
    assert len(shared) > 1000
    assert shared == events(tomorrow)


def test_shards_make_the_whole() -> None:
    whole = _medium()
    shards = [_medium(shard=(k, 3)) for k in range(3)]
    parts: list[SessionTelemetry] = [t for shard in shards for t in shard.telemetry]
    assert sorted(_wire_key(t) for t in parts) == sorted(_wire_key(t) for t in whole.telemetry)
    merged = demo.DemoTotals.merge(shard.totals() for shard in shards)
    expected = whole.totals()
    assert merged.summary() == expected.summary() | {"cost_usd": merged.cost_usd, "active_time_s": merged.active_time_s}
    assert abs(merged.cost_usd - expected.cost_usd) < 1e-6
    assert (merged.events, merged.metric_points) == (expected.events, expected.metric_points)


def _wire_key(t: SessionTelemetry) -> tuple[int, str, int]:
    return (t.session.person.index, t.session.id, t.session.start_ms)
