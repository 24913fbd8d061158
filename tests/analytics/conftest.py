from __future__ import annotations

import pytest

from ccmon.ingest.writer import BatchWriter
from tests.analytics.data import load, load_second_day


@pytest.fixture
def loaded(writer: BatchWriter) -> BatchWriter:
    """The writer's store holding the hand-computed dataset of tests/analytics/data.py."""
    return load(writer)


@pytest.fixture
def second_day(writer: BatchWriter) -> BatchWriter:
    """The writer's store holding the sessions of the second day of tests/analytics/data.py."""
    return load_second_day(writer)
