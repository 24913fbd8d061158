from __future__ import annotations

from ccmon.ingest.recent import RecentKeys


def test_keys_are_forgotten_after_the_window() -> None:
    keys = RecentKeys(window_s=10, max_keys=100)
    keys.add([1, 2], now=0)
    keys.add([3], now=5)
    assert 1 in keys and 3 in keys
    keys.add([4], now=10.5)
    assert 1 not in keys and 2 not in keys
    assert 3 in keys and 4 in keys


def test_oldest_keys_are_forgotten_beyond_the_cap() -> None:
    keys = RecentKeys(window_s=1000, max_keys=3)
    keys.add([1, 2], now=0)
    keys.add([3, 4], now=1)
    assert len(keys) == 2
    assert 3 in keys and 1 not in keys


def test_a_key_added_twice_survives_until_its_first_generation_expires() -> None:
    keys = RecentKeys(window_s=10, max_keys=100)
    keys.add([7], now=0)
    keys.add([7], now=5)
    keys.add([], now=11)
    assert 7 not in keys
