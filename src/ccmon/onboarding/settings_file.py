"""Changing a settings file on disk without ever losing it: read strictly, show the diff, back up, replace atomically.

A settings file is somebody's configuration. So an existing file that is not valid JSON is refused with the line and
column of the error (Claude Code would ignore it too, and overwriting would destroy whatever the developer meant);
a change is written to a temporary file in the same folder and moved over the old one (a crash leaves the old file or
the new one, never half of each), keeping the old file's permission bits, after a timestamped copy of the old bytes.
A symlinked settings.json (dotfile managers) is followed: the link stays, its target changes.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccmon.onboarding.claude_files import claude_config_dir, home
from ccmon.onboarding.options import SetupError

NEW_FILE_MODE = 0o600
"""A new settings file may hold an ingest token: readable by its owner only."""
PROJECT_FILES = ("settings.json", "settings.local.json")


@dataclass(frozen=True)
class Existing:
    """A settings file as found: its text (None when there is none) and its JSON object."""

    path: Path
    text: str | None
    settings: dict[str, Any]


def real_path(path: Path) -> Path:
    """The file a path names, through symlinks (so a linked settings.json keeps its link)."""
    return path.resolve() if path.is_symlink() else path


def read_settings(path: Path) -> Existing:
    """The settings at `path`; an empty object when the file is missing or blank. Raises SetupError when it cannot
    be read as settings (not UTF-8, not JSON, not a JSON object), saying where; OSError when it cannot be read."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return Existing(path, None, {})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SetupError(f"{path} is not UTF-8 text (byte {error.start}); nothing was changed") from None
    if not text.strip():
        return Existing(path, text, {})
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SetupError(
            f"{path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "fix it first, nothing was changed"
        ) from None
    except RecursionError:
        raise SetupError(f"{path} is nested too deeply to be a settings file; nothing was changed") from None
    if not isinstance(data, dict):
        raise SetupError(f"{path} holds a JSON {type(data).__name__}, not an object of settings; nothing was changed")
    return Existing(path, text, data)


def is_project_settings(path: Path, environ: Mapping[str, str]) -> bool:
    """Whether `path` is a project's `.claude/settings.json` or `settings.local.json` rather than the user's own
    settings (`$CLAUDE_CONFIG_DIR` or `~/.claude`): Claude Code ignores telemetry variables there."""
    absolute = Path(os.path.abspath(path))
    if absolute.name not in PROJECT_FILES or absolute.parent.name != ".claude":
        return False
    own = {Path(os.path.abspath(folder)) for folder in (claude_config_dir(environ), home(environ) / ".claude")}
    return absolute.parent not in own and real_path(absolute).parent not in own


def unified_diff(path: Path, old: str | None, new: str) -> str:
    """What would change, as `diff -u` shows it (a missing file diffs from nothing)."""
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=str(path) if old is not None else "/dev/null",
        tofile=str(path),
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def backup(path: Path, *, now: float | None = None) -> Path:
    """Copy `path` to `path.bak-YYYYmmddTHHMMSSZ` (a -N suffix if that exists), keeping its mode; the copy's name does
    not end in .json, so Claude Code never reads it as a drop-in."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    target = path.with_name(f"{path.name}.bak-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bak-{stamp}-{counter}")
        counter += 1
    data = path.read_bytes()
    mode = stat.S_IMODE(path.stat().st_mode)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return target


def write_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace `path` with `text` through a temporary file in its folder and os.replace; the mode is the old file's,
    else `mode`, else NEW_FILE_MODE. Creates the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        keep = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        keep = mode if mode is not None else NEW_FILE_MODE
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, keep)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
