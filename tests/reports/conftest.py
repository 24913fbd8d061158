from __future__ import annotations

import pytest

from ccmon.analytics import Analytics
from ccmon.ingest.writer import BatchWriter
from ccmon.store.facade import Store
from tests.reports.data import load_weeks
from tests.reports.prices import fixed_prices


@pytest.fixture
def analytics(writer: BatchWriter, store: Store) -> Analytics:
    """Analytics over the two weeks of tests/reports/data.py, priced with the fixed table of tests/reports/prices.py."""
    load_weeks(writer)
    return Analytics(store, fixed_prices())
