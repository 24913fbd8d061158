"""The synthetic organisation: sizes, identities, the mix of set-ups, determinism."""

from __future__ import annotations

import re

import pytest

from ccmon.demo.org import HAIKU, OPUS, PRICES, SONNET, Price, build_organisation


def test_sizes_and_identities() -> None:
    org = build_organisation(seed=1, developers=40, teams=6)
    assert len(org.people) == 40
    assert len(org.teams) == 6
    assert {p.team for p in org.people} == set(org.teams)  # every team has someone
    assert len({p.email for p in org.people}) == 40
    assert len({p.user_id for p in org.people}) == 40
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+@northwind\.example", p.email) for p in org.people)
    assert all(re.fullmatch(r"[0-9a-f]{64}", p.user_id) for p in org.people)
    assert re.fullmatch(r"[0-9a-f-]{36}", org.organization_id)
    assert len({t.cost_center for t in org.teams}) == 6
    assert len({t.department for t in org.teams}) >= 3


def test_mix_of_setups() -> None:
    people = build_organisation(seed=1, developers=40, teams=6).people
    assert 2 <= sum(p.heavy for p in people) <= 6
    assert 4 <= sum(p.cumulative for p in people) <= 20  # most export deltas, some cumulative
    assert len({p.version for p in people}) >= 3
    assert len({p.terminal for p in people}) >= 4
    assert {p.os_type for p in people} >= {"darwin", "linux"}


def test_same_seed_same_organisation() -> None:
    assert build_organisation(7, 12, 3) == build_organisation(7, 12, 3)
    assert build_organisation(7, 12, 3) != build_organisation(8, 12, 3)


def test_fewer_people_than_teams() -> None:
    org = build_organisation(seed=1, developers=2, teams=6)
    assert len(org.teams) == 2
    assert len(org.people) == 2


@pytest.mark.parametrize(("developers", "teams"), [(0, 1), (5, 0), (40, 11)])
def test_impossible_sizes(developers: int, teams: int) -> None:
    with pytest.raises(ValueError, match="demo"):
        build_organisation(seed=1, developers=developers, teams=teams)


def test_prices() -> None:
    assert set(PRICES) == {SONNET, OPUS, HAIKU}
    # 1M input + 1M output tokens of Sonnet: $3 + $15.
    assert PRICES[SONNET].cost(1_000_000, 1_000_000, 0, 0) == 18.0
    assert Price(1.0, 5.0, 0.1, 1.25).cost(1234, 0, 0, 0) == 0.001234  # micro-dollars
