from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from ccmon.imports import transcripts
from ccmon.imports.model import ImportRecord
from ccmon.imports.transcripts import (
    Identity,
    ReadStats,
    config_dirs,
    login_identity,
    read_transcripts,
    repository_of,
    transcript_files,
)
from tests.imports.transcript_lines import assistant, user, write

DEV = Identity(email="dev@example.com")


def _read(*files: Path, who: Identity = DEV) -> tuple[list[ImportRecord], ReadStats]:
    stats = ReadStats()
    return read_transcripts(files, who, stats), stats


def test_a_message_is_read_with_its_usage_and_attribution(tmp_path: Path) -> None:
    file = write(tmp_path / "p" / "s.jsonl", user(), assistant("msg_1", "req_1", one_hour=20))
    (record,), stats = _read(file)
    assert (record.source, record.key, record.user_email) == ("transcripts", "msg_1:req_1", "dev@example.com")
    assert record.ts == datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    assert (record.model, record.session_id, record.version) == ("claude-sonnet-4-5", "s-1", "2.1.330")
    tokens = (record.input_tokens, record.output_tokens, record.cache_read_tokens, record.cache_creation_tokens)
    assert tokens == (100, 20, 1000, 50)
    assert record.cache_creation_1h_tokens == 20
    assert record.cost_usd is None  # priced where it is written
    assert (stats.files, stats.lines, stats.messages, stats.duplicates, stats.malformed) == (1, 2, 1, 0, 0)


def test_streamed_and_resumed_messages_count_once_across_files(tmp_path: Path) -> None:
    # Claude Code writes a streamed message once per content block; a resumed session copies it into its new file.
    first = write(tmp_path / "a.jsonl", assistant("msg_1", "req_1"), assistant("msg_1", "req_1"))
    second = write(tmp_path / "b.jsonl", assistant("msg_1", "req_1"), assistant("msg_2", "req_2"))
    records, stats = _read(first, second)
    assert sorted(r.key for r in records) == ["msg_1:req_1", "msg_2:req_2"]
    assert (stats.messages, stats.duplicates) == (2, 2)


def test_of_lines_disagreeing_the_one_with_most_output_is_kept(tmp_path: Path) -> None:
    file = write(tmp_path / "a.jsonl", assistant("m", "r", output_tokens=1), assistant("m", "r", output_tokens=85))
    (record,), _ = _read(file)
    assert record.output_tokens == 85


def test_same_message_id_with_another_request_id_is_another_message(tmp_path: Path) -> None:
    file = write(tmp_path / "a.jsonl", assistant("msg_1", "req_1"), assistant("msg_1", "req_2"))
    records, _ = _read(file)
    assert len(records) == 2


def test_a_message_without_ids_is_keyed_by_its_line_uuid(tmp_path: Path) -> None:
    entry = assistant("", "")
    file = write(tmp_path / "a.jsonl", entry, entry)
    (record,), stats = _read(file)
    assert record.key == f"uuid:{entry['uuid']}"
    assert stats.duplicates == 1


def test_malformed_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    good = assistant("ok", "r")
    bad_usage = assistant("m2", "r2")
    bad_usage["message"]["usage"] = "lots"
    negative = assistant("m3", "r3", input_tokens=-5)
    boolean = assistant("m4", "r4")
    boolean["message"]["usage"]["output_tokens"] = True
    no_time = assistant("m5", "r5")
    del no_time["timestamp"]
    bad_time = assistant("m6", "r6", ts="yesterday")
    far_future = assistant("m7", "r7", ts="3000-01-01T00:00:00Z")
    file = write(
        tmp_path / "a.jsonl",
        b"{not json",
        b"[1, 2",
        b"\xff\xfe",
        bad_usage,
        negative,
        boolean,
        no_time,
        bad_time,
        far_future,
        b"[]",  # JSON, but not a line of a transcript: ignored, not malformed
        b"null",
        good,
    )
    records, stats = _read(file)
    assert [r.key for r in records] == ["ok:r"]
    assert stats.malformed == 9
    assert stats.lines == 12


def test_a_huge_line_is_skipped_without_being_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transcripts, "MAX_LINE_BYTES", 1000)
    huge = orjson.dumps(assistant("big", "r", padding="x" * 5000))
    file = write(tmp_path / "a.jsonl", huge, assistant("after", "r"))
    records, stats = _read(file)
    assert [r.key for r in records] == ["after:r"]
    assert stats.malformed == 1


def test_deeply_nested_json_does_not_crash(tmp_path: Path) -> None:
    file = write(tmp_path / "a.jsonl", b"[" * 100_000 + b"]" * 100_000, assistant("m", "r"))
    records, stats = _read(file)
    assert len(records) == 1
    assert stats.malformed == 1


def test_synthetic_and_empty_messages_are_not_usage(tmp_path: Path) -> None:
    synthetic = assistant(
        "s", "r", model="<synthetic>", input_tokens=0, output_tokens=0, cache_read=0, cache_creation=0
    )
    file = write(tmp_path / "a.jsonl", synthetic, assistant("m", "r"))
    records, _ = _read(file)
    assert [r.key for r in records] == ["m:r"]


def test_project_is_the_origin_repository_else_the_folder_name(tmp_path: Path) -> None:
    repo = tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "remote", "add", "origin", "git@github.com:Acme/Payments-API.git"], check=True
    )
    (repo / "src").mkdir()
    assert repository_of(str(repo / "src")) == "payments-api"
    file = write(
        tmp_path / "t.jsonl",
        assistant("a", "r", cwd=str(repo / "src")),
        assistant("b", "r", cwd=str(tmp_path / "gone" / "scratch")),
    )
    records, _ = _read(file)
    assert [(r.project, r.repository) for r in records] == [("payments-api", "payments-api"), ("scratch", "")]


def test_a_cwd_that_cannot_be_looked_at_has_no_repository_and_stops_nothing(tmp_path: Path) -> None:
    # `Path.is_file` raises ENAMETOOLONG (or EACCES under another user's home) instead of answering False: the line
    # is still read, and so are the lines after it.
    long = "/" + "a" * 300
    assert repository_of(long + "/src") == ""
    file = write(
        tmp_path / "s.jsonl",
        assistant("a", "r"),
        assistant("b", "r", cwd=long),
        assistant("c", "r"),
    )
    records, stats = _read(file)
    assert [(r.key, r.project, r.repository) for r in records] == [
        ("a:r", "repo", ""),
        ("b:r", "a" * 300, ""),
        ("c:r", "repo", ""),
    ]
    assert (stats.malformed, stats.unreadable_files) == (0, [])


def test_files_come_from_paths_or_the_config_folders(tmp_path: Path) -> None:
    home = tmp_path / "home"
    default = write(home / ".claude" / "projects" / "-work-repo" / "s.jsonl", user())
    configured = write(tmp_path / "cfg" / "projects" / "p" / "t.jsonl", user())
    assert transcript_files([], {}, home) == [default]
    assert transcript_files([], {"CLAUDE_CONFIG_DIR": f"{tmp_path / 'cfg'}, {tmp_path / 'none'}"}, home) == [configured]
    assert config_dirs({"CLAUDE_CONFIG_DIR": str(tmp_path / "none")}, home) == []
    assert transcript_files([configured, tmp_path / "home"], {}, home) == sorted([configured, default])
    with pytest.raises(FileNotFoundError, match="missing"):
        transcript_files([tmp_path / "missing"], {}, home)


def test_the_person_is_the_login_as_claude_codes_telemetry_keys_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert login_identity({}, home) == Identity()
    (home / ".claude.json").write_text('{"userID": "u-123"}')  # an API key user: telemetry's user.id
    assert login_identity({}, home) == Identity(person="u-123")
    (home / ".claude.json").write_text('{"userID": "u-123", "oauthAccount": {"accountUuid": "acc-1"}}')
    assert login_identity({}, home) == Identity(person="acc-1")
    (home / ".claude.json").write_text('{"oauthAccount": {"emailAddress": "ann@example.com", "accountUuid": "a"}}')
    assert login_identity({}, home) == Identity(email="ann@example.com")
    config = tmp_path / "cfg"
    config.mkdir()
    (config / ".claude.json").write_text('{"oauthAccount": {"emailAddress": "work@example.com"}}')
    assert login_identity({"CLAUDE_CONFIG_DIR": str(config)}, home) == Identity(email="work@example.com")
    (config / ".claude.json").write_text('{"oauthAccount": "nope"}')
    assert login_identity({"CLAUDE_CONFIG_DIR": str(config)}, home) == Identity(email="ann@example.com")
    (home / ".claude.json").write_text("[1,")
    assert login_identity({}, home) == Identity()


def test_records_of_a_user_without_email_carry_the_person(tmp_path: Path) -> None:
    file = write(tmp_path / "a.jsonl", assistant("m", "r"))
    (record,), _ = _read(file, who=Identity(person="u-123"))
    assert (record.user_email, record.person) == ("", "u-123")
