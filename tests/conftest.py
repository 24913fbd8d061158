"""Shared fixtures.

chDB runs one ClickHouse engine per process, bound to one data folder: every in-process store and server of the
test run shares `chdb_path`, and each test gets a database of its own.

The `store` fixture opens that embedded store by default. With `CCMON_TEST_STORE=http` it reaches the same chDB
engine through clickhouse-connect's HTTP client instead, via a test endpoint that serves ClickHouse's HTTP interface
from chDB (tests/clickhouse_http.py); with `CCMON_TEST_CLICKHOUSE_URL` set, it uses that ClickHouse server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter
from ccmon.store.facade import Store
from tests.support import RunningServer, collect_stopped_server, in_process_server, make_config
from tests.web.ui.chromium import CHROMIUM, launch


@pytest.fixture(autouse=True)
def _collect_after_test() -> Iterator[None]:
    """After each test, collect what it left behind in reference cycles (a client, or a connection of a server it
    stopped, closed by its finaliser): its own leftovers, collected now, not by a later random garbage collection
    inside an unrelated test, whose ResourceWarning (an error in this suite) would fail that test instead."""
    yield
    collect_stopped_server()


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright per test process, for every browser test wherever it lives: its sync API keeps an event loop
    running in the thread until it stops, so a second one started in the same worker fails ("Sync API inside the
    asyncio loop")."""
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (tests/web/ui/chromium.py), one per test process."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run scripts/test (it installs Debian's chromium) or set CCMON_CHROMIUM"
        )
    launched = launch(playwright)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture(scope="session")
def _dropper(chdb_path: Path) -> Iterator[Any]:
    """One connection, for the whole run, that drops each test's database when the test ends."""
    url = os.environ.get("CCMON_TEST_CLICKHOUSE_URL")
    client = (
        clickhouse_connect.get_client(dsn=url)
        if url
        else clickhouse_connect.get_client(interface="chdb", path=str(chdb_path))
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def database(_dropper: Any) -> Iterator[str]:
    """A fresh database name, dropped when the test ends (whether a store or an in-process server made it).

    Dropped with SYNC: a plain DROP leaves the tables to the engine for 8 minutes
    (`database_atomic_delay_before_drop_table_sec`), and with hundreds of tests' tables pending, every new connection
    and CREATE of the run grows slower (0.1 s to over a second per connection)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    _dropper.command(f"DROP DATABASE IF EXISTS `{name}` SYNC")


@pytest.fixture(scope="session")
def clickhouse_url(chdb_path: Path) -> Iterator[str | None]:
    """The ClickHouse server `store` uses: $CCMON_TEST_CLICKHOUSE_URL, chDB over HTTP, or None for embedded chDB."""
    if url := os.environ.get("CCMON_TEST_CLICKHOUSE_URL"):
        yield url
        return
    mode = os.environ.get("CCMON_TEST_STORE", "embedded")
    if mode == "http":
        from tests.clickhouse_http import serve

        with serve(chdb_path) as server:
            yield server.url
        return
    if mode != "embedded":
        raise pytest.UsageError(f"CCMON_TEST_STORE={mode!r}: expected 'embedded' or 'http'")
    yield None


@pytest.fixture
def store(chdb_path: Path, clickhouse_url: str | None, database: str) -> Iterator[Store]:
    """A migrated store in a fresh database (see the module docstring for which ClickHouse it uses)."""
    if clickhouse_url:
        opened = Store.open(url=clickhouse_url, database=database)
    else:
        opened = Store.open(data_dir=str(chdb_path), database=database)
    opened.migrate()
    try:
        yield opened
    finally:
        opened.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
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
