"""Claude Code's local transcripts (`<config dir>/projects/<project>/<session>.jsonl`) as import records.

Each line of a transcript is a JSON object; the ones that count are the assistant messages, which carry the model's
`message.usage` (input, output, cache read and cache creation tokens, the last split into the 5-minute and 1-hour
caches). One API message is written on several lines when Claude Code streams it (a line per content block, the
same `message.id` and `requestId`), and a resumed session copies earlier messages into its new file: like ccusage,
a message is counted once per `message.id` + `requestId` across every file read (of several lines, the one with the
most output tokens, which is the first when they agree, as they do). A line without both ids is keyed by its own
`uuid`, so a second import still recognises it.

Nothing a file holds can stop an import: a line that is not JSON, is longer than `MAX_LINE_BYTES`, or has a usage of
the wrong shape is skipped and counted as malformed.
"""

from __future__ import annotations

import configparser
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ccmon.imports.model import TRANSCRIPTS, ImportRecord
from ccmon.store.dimensions import DEFAULT_PROJECT_KEYS, project_of

MAX_LINE_BYTES = 32 * 1024 * 1024
"""Longer lines are skipped unread (a transcript line holding a huge tool result); usage lines are ~2 KB."""
SYNTHETIC_MODEL = "<synthetic>"
"""The model Claude Code names on messages it made up itself (an API error shown as a reply): no tokens used."""
_MAX_TOKENS = 10**12
"""A token count beyond this is not a count: the line is malformed."""


@dataclass
class ReadStats:
    files: int = 0
    lines: int = 0
    messages: int = 0
    """Distinct assistant messages with usage."""
    duplicates: int = 0
    """Lines repeating a message already read (streamed blocks, resumed sessions)."""
    malformed: int = 0
    unreadable_files: list[str] = field(default_factory=list)


def config_dirs(env: Mapping[str, str], home: Path) -> list[Path]:
    """Claude Code's configuration folders: `CLAUDE_CONFIG_DIR` (a comma-separated list, as ccusage reads it) when
    set, else `~/.config/claude` and `~/.claude`, those that exist."""
    configured = [Path(p.strip()).expanduser() for p in env.get("CLAUDE_CONFIG_DIR", "").split(",") if p.strip()]
    candidates = configured or [home / ".config" / "claude", home / ".claude"]
    return [folder for folder in candidates if (folder / "projects").is_dir()]


def transcript_files(paths: Sequence[Path], env: Mapping[str, str], home: Path) -> list[Path]:
    """The `.jsonl` files to read: those of `paths` (files, or folders searched recursively), else every file under
    the configuration folders' `projects`."""
    roots = list(paths) or [folder / "projects" for folder in config_dirs(env, home)]
    files: set[Path] = set()
    for root in roots:
        if root.is_dir():
            files.update(p for p in root.rglob("*.jsonl") if p.is_file())
        elif root.exists():
            files.add(root)
        else:
            raise FileNotFoundError(f"{root}: no such file or folder")
    return sorted(files)


@dataclass(frozen=True)
class Identity:
    """Who Claude Code is logged in as, keyed as its telemetry keys a person (`user.email`, else
    `user.account_uuid`, else `user.id`), so that imported days meet the OTLP days of the same person."""

    email: str = ""
    person: str = ""
    """The account uuid or the installation's user id, when there is no email (an API key user)."""


def login_identity(env: Mapping[str, str], home: Path) -> Identity:
    """From `.claude.json` (in `CLAUDE_CONFIG_DIR`, else the home folder): `oauthAccount.emailAddress`, else
    `oauthAccount.accountUuid`, else `userID`; empty when there is none."""
    configured = [Path(p.strip()).expanduser() for p in env.get("CLAUDE_CONFIG_DIR", "").split(",") if p.strip()]
    for candidate in [*(folder / ".claude.json" for folder in configured), home / ".claude.json"]:
        try:
            with candidate.open("rb") as handle:
                data = orjson.loads(handle.read(MAX_LINE_BYTES))
        except (OSError, orjson.JSONDecodeError):
            continue
        if not isinstance(data, dict):
            continue
        account = data.get("oauthAccount")
        account = account if isinstance(account, dict) else {}
        email = _text(account.get("emailAddress"), 320).strip()
        if "@" in email:
            return Identity(email=email)
        person = _text(account.get("accountUuid"), 200) or _text(data.get("userID"), 200)
        if person:
            return Identity(person=person)
    return Identity()


def repository_of(cwd: str) -> str:
    """The repository name Claude Code would report for a working folder (`vcs.repository.name`: the last part of
    the `origin` remote's URL, lower-cased, without `.git`), read from the folder's git config if it still exists;
    else '' (also when the folder cannot be looked at: one line's `cwd` never stops the file's import)."""
    folder = Path(cwd)
    for candidate in (folder, *folder.parents):
        config = candidate / ".git" / "config"
        try:
            found = config.is_file()
        except (OSError, ValueError):  # a name too long, a folder not ours, a NUL byte: no repository, not no file
            return ""
        if found:
            parser = configparser.RawConfigParser(strict=False)
            try:
                parser.read(config, encoding="utf-8")
                url = parser.get('remote "origin"', "url", fallback="")
            except (configparser.Error, OSError, UnicodeDecodeError):
                return ""
            name = url.rstrip("/").replace(":", "/").rsplit("/", 1)[-1].lower()
            return name.removesuffix(".git")
        if candidate.parent == candidate:
            break
    return ""


def _lines(path: Path, stats: ReadStats) -> Iterator[bytes]:
    """The file's lines; one longer than `MAX_LINE_BYTES` is skipped (read past in chunks) and counted."""
    with path.open("rb") as handle:
        while True:
            line = handle.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := handle.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                stats.lines += 1
                stats.malformed += 1
                continue
            if line.strip():
                stats.lines += 1
                yield line


def _count(usage: Mapping[str, Any], name: str) -> int:
    value = usage.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_TOKENS:
        raise ValueError(f"{name} is not a token count")
    return value


def _text(value: object, limit: int = 1000) -> str:
    return value[:limit] if isinstance(value, str) else ""


@dataclass(frozen=True)
class _Message:
    key: str
    record: ImportRecord


def _message(entry: object, who: Identity, projects: dict[str, tuple[str, str]]) -> _Message | None:
    """The usage record of one parsed line, None for lines that are not assistant messages with usage; ValueError
    for an assistant message whose fields have the wrong shape."""
    if not isinstance(entry, dict) or entry.get("type") != "assistant":
        return None
    message = entry.get("message")
    if not isinstance(message, dict) or "usage" not in message:
        return None
    usage = message["usage"]
    if not isinstance(usage, dict):
        raise ValueError("usage is not an object")
    model = _text(message.get("model"), 200)
    stamp = entry.get("timestamp")
    if not isinstance(stamp, str) or len(stamp) > 40:
        raise ValueError("timestamp is missing")
    ts = datetime.fromisoformat(stamp)
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    cache = usage.get("cache_creation")
    one_hour = _count(cache, "ephemeral_1h_input_tokens") if isinstance(cache, dict) else 0
    created = _count(usage, "cache_creation_input_tokens")
    message_id, request_id = _text(message.get("id"), 200), _text(entry.get("requestId"), 200)
    if message_id and request_id:
        key = f"{message_id}:{request_id}"
    elif isinstance(entry.get("uuid"), str) and entry["uuid"]:
        key = f"uuid:{_text(entry['uuid'], 200)}"
    else:
        key = "line:" + hashlib.sha256(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)).hexdigest()
    cwd = _text(entry.get("cwd"), 4096)
    if cwd not in projects:
        repository = repository_of(cwd) if cwd else ""
        project = project_of(DEFAULT_PROJECT_KEYS, {}, {}, {"repository": repository}) or Path(cwd).name
        projects[cwd] = (repository, project)
    repository, project = projects[cwd]
    record = ImportRecord(
        source=TRANSCRIPTS,
        key=key,
        ts=ts,
        user_email=who.email,
        person=who.person,
        project=project,
        repository=repository,
        version=_text(entry.get("version"), 100),
        session_id=_text(entry.get("sessionId"), 200),
        model=model,
        input_tokens=_count(usage, "input_tokens"),
        output_tokens=_count(usage, "output_tokens"),
        cache_read_tokens=_count(usage, "cache_read_input_tokens"),
        cache_creation_tokens=created,
        cache_creation_1h_tokens=min(one_hour, created),
    )
    return _Message(key, record)


def _used(record: ImportRecord) -> bool:
    tokens = record.input_tokens + record.output_tokens + record.cache_read_tokens + record.cache_creation_tokens
    return record.model != SYNTHETIC_MODEL and tokens > 0


def read_transcripts(
    files: Iterable[Path], who: Identity, stats: ReadStats, on_file: Callable[[Path], None] = lambda path: None
) -> list[ImportRecord]:
    """The distinct messages with usage of every file, attributed to `who`; `stats` counts what was read.
    `on_file` is called after each file (a progress bar)."""
    found: dict[str, ImportRecord] = {}
    projects: dict[str, tuple[str, str]] = {}
    for path in files:
        stats.files += 1
        try:
            for line in _lines(path, stats):
                try:
                    message = _message(orjson.loads(line), who, projects)
                except (orjson.JSONDecodeError, ValueError, TypeError, RecursionError):
                    stats.malformed += 1
                    continue
                if message is None or not _used(message.record):
                    continue
                earlier = found.get(message.key)
                if earlier is None:
                    found[message.key] = message.record
                    stats.messages += 1
                    continue
                stats.duplicates += 1
                if message.record.output_tokens > earlier.output_tokens:
                    found[message.key] = message.record
        except OSError as exc:
            stats.unreadable_files.append(f"{path}: {exc.strerror or exc}")
        on_file(path)
    return list(found.values())


def default_home() -> Path:
    return Path(os.path.expanduser("~"))
