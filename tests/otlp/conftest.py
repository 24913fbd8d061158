"""Servers shared by the receiver tests, started once for tests/otlp (each server start costs about a second).

Tests that compare stored totals use the per-test `server` fixture (a fresh database); tests that only look at
answers, or at rows they tag with a session id of their own, share these.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.otlp.helpers import close_client, custom_server
from tests.support import RunningServer

TOKEN = "secret"
SMALL_CAP = 32 * 1024
"""max_request_bytes of `locked_server`: above the largest fixture request (17 342 bytes)."""


@pytest.fixture(scope="package")
def shared_server(chdb_path: Path) -> Iterator[RunningServer]:
    """Default settings (8 MiB request cap, no tokens)."""
    with custom_server(chdb_path) as running:
        yield running


@pytest.fixture(scope="package")
def locked_server(chdb_path: Path) -> Iterator[RunningServer]:
    """An ingest token is required and requests are capped at `SMALL_CAP` bytes."""
    with custom_server(chdb_path, ingest_tokens=(TOKEN,), max_request_bytes=SMALL_CAP) as running:
        yield running


@pytest.fixture(scope="package", autouse=True)
def _shared_http_client() -> Iterator[None]:
    yield
    close_client()
