"""The forwarding's folders and files are the user's alone (0700 / 0600), whatever the umask, including what an
older version left with the default modes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccmon.forward.private import private_folder, replace_private, write_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 0: without explicit modes every file would be 0666 and every folder 0777, so the tests can fail."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_new_folders_and_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "forward" / "abc"
    private_folder(folder.parent)
    private_folder(folder)
    write_private(folder / "queued.otlp", b"raw ", b"telemetry")
    write_private(folder / "journal.log", b"line 1\n", append=True)
    write_private(folder / "journal.log", b"line 2\n", append=True)
    replace_private(folder / "totals.json", b"{}")
    assert (_mode(folder.parent), _mode(folder)) == (0o700, 0o700)
    assert {p.name: _mode(p) for p in folder.iterdir()} == {
        "queued.otlp": 0o600,
        "journal.log": 0o600,
        "totals.json": 0o600,
    }
    assert (folder / "queued.otlp").read_bytes() == b"raw telemetry"
    assert (folder / "journal.log").read_text() == "line 1\nline 2\n"


@pytest.mark.usefixtures("open_umask")
def test_what_an_older_version_left_is_tightened_but_links_are_not_followed(tmp_path: Path) -> None:
    folder = tmp_path / "abc"
    folder.mkdir(mode=0o755)
    (folder / "00000000000000000001.otlp").write_bytes(b"old")
    (folder / "00000000000000000001.otlp").chmod(0o644)
    elsewhere = tmp_path / "not-ours.txt"
    elsewhere.write_text("x")
    elsewhere.chmod(0o644)
    (folder / "link").symlink_to(elsewhere)
    private_folder(folder)
    assert _mode(folder) == 0o700
    assert _mode(folder / "00000000000000000001.otlp") == 0o600
    assert _mode(elsewhere) == 0o644


@pytest.mark.usefixtures("open_umask")
def test_rewriting_an_existing_file_keeps_it_private(tmp_path: Path) -> None:
    path = tmp_path / "digests.json"
    replace_private(path, b"[1]")
    replace_private(path, b"[2]")
    assert path.read_bytes() == b"[2]" and _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["digests.json"]  # no temporary file left
