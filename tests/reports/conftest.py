from __future__ import annotations

import pytest

from ccmon.analytics import Analytics
from ccmon.ingest.writer import BatchWriter
from ccmon.store.facade import Store
from tests.reports.data import load_weeks


@pytest.fixture
def analytics(writer: BatchWriter, store: Store) -> Analytics:
    """Analytics over the two weeks of tests/reports/data.py."""
    load_weeks(writer)
    return Analytics(store)
