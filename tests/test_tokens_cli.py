"""`ccmon tokens`: against a running server over HTTP, and offline in a data folder; the secret printed once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccmon.auth.audit import Audit
from ccmon.cli import main
from ccmon.ingest.tokens import IngestTokens
from ccmon.store.facade import Store
from tests.support import RunningServer, in_process_server, make_config

CREATE = [
    "tokens",
    "create",
    "--name",
    "laptop-fleet",
    "--team",
    "platform",
    "--department",
    "eng",
    "--cost-center",
    "ENG-1",
    "--organization",
    "acme",
    "--rate-limit",
    "500",
    "--expires",
    "2099-01-01",
]


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main([*args, "--json"]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_against_a_running_server(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = ["--url", server.api_url]
    created = _json(capsys, *CREATE, *url)
    assert str(created["token"]).startswith("ccmi_")
    assert (created["team"], created["department"], created["cost_center"], created["organization"]) == (
        "platform",
        "eng",
        "ENG-1",
        "acme",
    )
    assert created["rate_limit_per_s"] == 500 and created["expires_at"] == "2099-01-01T00:00:00Z"
    token_id = str(created["id"])
    assert main(["tokens", "list", *url]) == 0
    table = capsys.readouterr().out
    assert "laptop-fleet" in table and "platform" in table and "never" in table and "active" in table
    assert str(created["token"]) not in table
    rotated = _json(capsys, "tokens", "rotate", token_id, *url)
    assert rotated["id"] == token_id and rotated["token"] != created["token"]
    assert main(["tokens", "revoke", token_id, *url]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["tokens", "rotate", "nope", *url]) == 1
    assert "404" in capsys.readouterr().err
    assert main(["tokens", "revoke", "../../summary", *url]) == 1  # sent as one path segment: no such token
    assert "404" in capsys.readouterr().err


def test_create_prints_the_secret_once_with_a_warning(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*CREATE, "--url", server.api_url]) == 0
    out = capsys.readouterr().out
    assert "token: ccmi_" in out and "shown once" in out


def test_a_server_asking_for_an_api_token(chdb_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config(chdb_path, database="test_tokens_cli_auth", api_tokens=("admin-key",))
    with in_process_server(config) as server:
        assert main(["tokens", "list", "--url", server.api_url]) == 1
        assert "--token" in capsys.readouterr().err
        assert main(["tokens", "list", "--url", server.api_url, "--token", "admin-key"]) == 0
        assert "(no ingest tokens)" in capsys.readouterr().out


def test_offline_in_a_data_folder(
    store: Store, chdb_path: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--data-dir", str(chdb_path), "--database", database]
    created = _json(capsys, *CREATE, *where)
    grant = IngestTokens(store)
    grant.refresh()
    authorized = grant.authorize(str(created["token"]))
    assert authorized is not None and ("team", "platform") in authorized.pins
    listed = _json(capsys, "tokens", "list", *where)
    assert [t["id"] for t in listed["tokens"]] == [created["id"]]  # type: ignore[attr-defined]
    assert main(["tokens", "revoke", str(created["id"]), *where]) == 0
    capsys.readouterr()
    grant.refresh()
    assert grant.authorize(str(created["token"])) is None
    actions = [e.action for e in Audit(store).entries().entries]
    assert actions == ["token.revoke", "token.create"]


@pytest.mark.parametrize(
    ("args", "message", "status"),
    [
        (["--expires", "next week"], "--expires 'next week' is not a date", 2),
        (["--rate-limit", "-5"], "greater than 0", 2),
    ],
)
def test_bad_values_are_said_plainly(
    store: Store,
    chdb_path: Path,
    database: str,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
    status: int,
) -> None:
    where = ["--data-dir", str(chdb_path), "--database", database]
    assert main(["tokens", "create", "--name", "x", *args, *where]) == status
    assert message in capsys.readouterr().err


def test_a_folder_without_ccmon_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tokens", "list", "--data-dir", str(tmp_path)]) == 1
    assert "holds no ccmon data" in capsys.readouterr().err
