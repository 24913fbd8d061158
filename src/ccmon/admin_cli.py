"""What the admin commands (`users`, `api-keys`, `tokens`, `directory`, `forget`) share.

Each works either against a running server's admin API (`--url`, `--token`) or, with `--data-dir`, directly in a
stopped server's data folder (the embedded engine is one process's). The plumbing of both ways is here, so the
commands say the same things about an unreachable server, a missing token or a folder that is not a data folder,
and a fix to one is a fix to all.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from ccmon.onboarding.caller import DEFAULT_URL
from ccmon.reports_cli import TIMEOUT_S, _detail, _reason
from ccmon.store.facade import Store


def add_target_arguments(parser: argparse.ArgumentParser, *, token: str = "an admin API token or API key") -> None:
    """The flags saying where an admin command acts: a running server (`--url`, `--token`) or a stopped server's data
    folder (`--data-dir`, `--database`); and `--json`."""
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the ccmon API ({DEFAULT_URL})")
    parser.add_argument("--token", help=f"{token}, if the server asks for one")
    parser.add_argument("--data-dir", help="act on this (stopped) server's data folder instead of asking a server")
    parser.add_argument("--database", default="ccmon", help="ClickHouse database in --data-dir (ccmon)")


class AdminCliError(RuntimeError):
    """A failure the command reports in one line (no traceback), with the exit status it ends with: 2 for what was
    typed wrong, 1 for the rest. Each command's own error class derives from it."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def request_admin_api(
    url: str,
    token: str | None,
    send: Callable[[httpx.Client], httpx.Response],
    *,
    forbidden: str,
    credential: str = "an admin API token",
    timeout: float = TIMEOUT_S,
    timed_out: str | None = None,
    not_found: str | None = None,
    error: type[AdminCliError] = AdminCliError,
) -> Any:
    """Send one request with `send` (a client with `url`'s bearer `token`) and return the decoded JSON answer.

    Every failure is an `error` whose message says what to do: `forbidden` tells why a 403 happened (what the
    command needs), `credential` what a 401 asks for. `timed_out` and `not_found`, when given, explain a timeout
    and a 404 (a long erasure, a route an older server lacks); otherwise they are an unreachable server and a
    plain answer. Raising the command's own `error` class keeps its callers' `except` clauses working."""
    base = url.rstrip("/")
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=timeout) as client:
            response = send(client)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise error(f"--url {url!r} is not a URL such as {DEFAULT_URL}", status=2) from None
    except httpx.TransportError as exc:
        if timed_out is not None and isinstance(exc, httpx.TimeoutException):
            raise error(f"{base} {timed_out}") from None
        raise error(f"cannot reach {base} ({_reason(exc)}): is `ccmon serve` running? Or use --data-dir") from None
    status = response.status_code
    if status == 401:
        raise error(f"{base} asks for {credential} (401): give one with --token")
    if status == 403:
        raise error(f"{base} refused (403): {forbidden} ({_detail(response)})")
    if status == 404 and not_found is not None:
        raise error(f"{base} {not_found}")
    if not response.is_success:
        raise error(f"{base} answered {status}: {_detail(response)}")
    return orjson.loads(response.content)


@contextlib.contextmanager
def open_data_folder(
    data_dir: str, database: str, *, must_hold_data: bool = True, error: type[AdminCliError] = AdminCliError
) -> Iterator[Store]:
    """The migrated store of a stopped server's data folder, closed on leaving.

    Unless `must_hold_data` is off, a folder without the database is refused before the engine opens it: a mistyped
    path would otherwise become a new, empty data folder and the command would seem to find nothing. (Making the
    first admin is the exception: it may come before the server's first start.)"""
    folder = Path(data_dir).expanduser()
    if must_hold_data and not (folder / "metadata" / f"{database}.sql").is_file():
        raise error(
            f"{folder} holds no ccmon data (no database {database}): give --data-dir the folder `ccmon serve` "
            "stores into"
        )
    store = Store.open(data_dir=str(folder), database=database)
    try:
        store.migrate()
        yield store
    finally:
        store.close()
