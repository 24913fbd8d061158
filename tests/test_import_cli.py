"""`ccmon import transcripts|admin-api`: through a running server, into a data folder, and what it says when it
cannot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from ccmon.cli import main
from ccmon.store.facade import Store
from ccmon.store.imports import ImportedUsageTable
from tests.imports.fake_admin_api import KEY, FakeAdminApi, actor_day, serve
from tests.imports.transcript_lines import assistant, user, write
from tests.support import RunningServer

RANGE = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder with Claude Code's files: a login, and one transcript with a streamed message (two lines),
    another message and a malformed line."""
    home = tmp_path / "home"
    write(
        home / ".claude" / "projects" / "-work-repo" / "s-1.jsonl",
        user(),
        assistant("msg_1", "req_1"),
        assistant("msg_1", "req_1"),
        b"{truncated",
        assistant("msg_2", "req_2", ts="2026-11-20T08:00:00.000Z"),
    )
    (home / ".claude.json").write_text('{"oauthAccount": {"emailAddress": "ada@example.com"}}')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY", raising=False)
    return home


def test_transcripts_through_a_running_server(
    server: RunningServer, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "transcripts", "--url", server.api_url]) == 0
    out = capsys.readouterr().out
    assert "1 file, 5 lines, 2 messages; 2 imported, 1 duplicates skipped, 1 malformed" in out
    assert main(["import", "transcripts", "--url", server.api_url]) == 0
    assert "0 imported, 3 duplicates skipped" in capsys.readouterr().out
    history = server.http.get(f"{server.api_url}/api/v1/history", params={**RANGE, "by": "person"}).json()
    assert {(r["day"], r["person"], r["source"]) for r in history["people"]} == {
        ("2026-11-19", "ada@example.com", "transcripts"),
        ("2026-11-20", "ada@example.com", "transcripts"),
    }
    assert history["cost_by_source"]["transcripts"] > 0


def test_transcripts_into_a_data_folder_with_another_person(
    store: Store, chdb_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ["--data-dir", str(chdb_path), "--database", store.database]
    folder = str(home / ".claude" / "projects")
    assert main(["import", "transcripts", folder, "--person", "bob@example.com", "--dry-run", *target]) == 0
    assert "dry run: nothing stored" in capsys.readouterr().out
    assert ImportedUsageTable(store).count() == 0
    assert main(["import", "transcripts", folder, "--person", "bob@example.com", "--json", *target]) == 0
    summary = orjson.loads(capsys.readouterr().out)
    assert (summary["imported"], summary["messages"], summary["malformed"]) == (2, 2, 1)
    assert store.query("SELECT DISTINCT person FROM imported_usage") == [("bob@example.com",)]


def test_admin_api_into_a_data_folder(store: Store, chdb_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeAdminApi(
        {
            "2026-11-03": [actor_day("2026-11-03", "ada@example.com", {"claude-sonnet-4-5": (10, 20, 30, 40, 250)})],
            "2026-11-04": [actor_day("2026-11-04", None, {"claude-opus-4-1": (1, 2, 3, 4, 100)})],
        }
    )
    target = ["--data-dir", str(chdb_path), "--database", store.database]
    with serve(fake) as url:
        argv = ["import", "admin-api", "--from", "2026-11-02", "--to", "2026-11-04", "--base-url", url]
        assert main([*argv, "--admin-key", KEY, *target]) == 0
        out = capsys.readouterr().out
        assert "3 days, 4 rows; 2 imported, 0 duplicates skipped, 0 malformed" in out
        assert out.rstrip().endswith("2 API-key rows skipped (cannot be matched to telemetry)")
        assert store.query("SELECT DISTINCT person FROM imported_usage") == [("ada@example.com",)]
        assert main([*argv, "--admin-key", KEY, "--actors", "all", *target]) == 0
        out = capsys.readouterr().out
        assert "3 days, 4 rows; 2 imported, 2 duplicates skipped" in out and "API-key" not in out
        assert main([*argv, "--admin-key", KEY, "--actors", "all", *target]) == 0
        assert "0 imported, 4 duplicates skipped" in capsys.readouterr().out
        assert main([*argv, "--admin-key", KEY, "--json", "--dry-run"]) == 0
        assert orjson.loads(capsys.readouterr().out)["api_key_skipped"] == 2
    rows = store.query("SELECT person, model, cost_usd, sessions FROM imported_usage ORDER BY person, model")
    assert rows == [
        ("ada@example.com", "", 0.0, 3),
        ("ada@example.com", "claude-sonnet-4-5", 2.5, 0),
        ("api-key:ci", "", 0.0, 3),
        ("api-key:ci", "claude-opus-4-1", 1.0, 0),
    ]


def test_admin_api_days_not_complete_yet_are_left_for_later(capsys: pytest.CaptureFixture[str]) -> None:
    # Today is never complete: the report holds only data older than an hour, and a stored day is never read again.
    today = datetime.now(UTC).date()
    day = today.isoformat()
    fake = FakeAdminApi({day: [actor_day(day, "ada@example.com", {"claude-sonnet-4-5": (10, 20, 30, 40, 250)})]})
    with serve(fake) as url:
        argv = ["import", "admin-api", "--from", day, "--to", day, "--base-url", url, "--admin-key", KEY]
        assert main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "0 days, 0 rows" in out and out.rstrip().endswith("1 day not complete yet left for a later import")
    assert fake.requests == []


def test_admin_api_key_from_the_environment_and_a_refused_key(
    store: Store, chdb_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ["--data-dir", str(chdb_path), "--database", store.database]
    with serve(FakeAdminApi({})) as url:
        argv = ["import", "admin-api", "--from", "2026-11-02", "--to", "2026-11-02", "--base-url", url, *target]
        monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", KEY)
        assert main(argv) == 0
        monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-wrong")
        assert main(argv) == 1
    assert "needs an Admin API key" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["admin-api", "--from", "2026-11-02", "--to", "2026-11-03"], "give --admin-key or set ANTHROPIC_ADMIN_KEY"),
        (["admin-api", "--from", "yesterday", "--to", "2026-11-03", "--admin-key", "k"], "is not a date"),
        (["admin-api", "--from", "2026-11-05", "--to", "2026-11-03", "--admin-key", "k"], "is before --from"),
        (["transcripts", "/nonexistent/folder"], "no such file or folder"),
    ],
)
def test_what_was_typed_wrong_is_said(
    home: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", *argv, "--url", "http://127.0.0.1:9"]) == 2
    assert message in capsys.readouterr().err


def test_no_transcripts_and_no_server_are_said(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["import", "transcripts", str(empty)]) == 2
    assert "no transcripts" in capsys.readouterr().err
    assert main(["import", "transcripts", "--url", "http://127.0.0.1:9"]) == 1
    assert "is `ccmon serve` running?" in capsys.readouterr().err


def test_messages_of_unknown_models_are_stored_flagged(
    store: Store, chdb_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path / "t" / "s.jsonl", assistant("m", "r", model="acme-llm-9000"))
    target = ["--data-dir", str(chdb_path), "--database", store.database]
    assert main(["import", "transcripts", str(file), "--person", "ada@example.com", *target]) == 0
    assert "1 imported, 0 duplicates skipped, 0 malformed, 1 without a price (unknown model)" in capsys.readouterr().out
    assert store.query("SELECT model, cost_usd, priced FROM imported_usage") == [("acme-llm-9000", 0.0, False)]
