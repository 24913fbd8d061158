"""Demo data shared by the tests: the default organisation (generated once) and a small one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccmon import demo

NOW = datetime(2026, 11, 19, 17, 0, tzinfo=UTC)
"""A Thursday afternoon: the windows end mid-day, so the cut at `now` is exercised."""
SMALL = (6, 2, 3)
"""Developers, teams, days of the small demo (the end-to-end tests send it)."""


@pytest.fixture(scope="session")
def full() -> demo.Demo:
    """A mid-sized organisation over three weeks (the default 40 developers and 30 days take ~4 s to generate)."""
    return demo.generate(developers=24, teams=6, days=21, now=NOW)


@pytest.fixture(scope="session")
def small() -> demo.Demo:
    developers, teams, days = SMALL
    return demo.generate(developers=developers, teams=teams, days=days, now=NOW)
