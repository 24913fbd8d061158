from __future__ import annotations

import pytest

from ccmon.ingest.writer import BatchWriter
from tests.analytics.data import load


@pytest.fixture
def loaded(writer: BatchWriter) -> BatchWriter:
    """The writer's store holding the hand-computed dataset of tests/analytics/data.py."""
    return load(writer)
