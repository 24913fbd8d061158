"""Shared fixtures.

chDB runs one ClickHouse engine per process, bound to one data folder: every in-process store and server of the
test run shares `chdb_path`, and each test gets a database of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter
from ccmon.store.facade import Store
from tests.support import RunningServer, in_process_server, make_config


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def database() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(chdb_path: Path, database: str) -> Iterator[Store]:
    """A migrated store in a fresh database."""
    opened = Store.open(data_dir=str(chdb_path), database=database)
    opened.migrate()
    try:
        yield opened
    finally:
        opened.command(f"DROP DATABASE IF EXISTS `{database}`")
        opened.close()


@pytest.fixture
def writer(store: Store) -> Iterator[BatchWriter]:
    started = BatchWriter(store, IngestStats(), max_delay_s=0.01)
    started.start()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def server(chdb_path: Path, database: str) -> Iterator[RunningServer]:
    """`ccmon serve` running in this process, on free loopback ports, in a fresh database."""
    with in_process_server(make_config(chdb_path, database=database)) as running:
        yield running
