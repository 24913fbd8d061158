"""Folders and files of the forwarding (`<data_dir>/forward/`) readable by ccmon's user only: 0700 and 0600.

What waits there is telemetry exactly as it was received, before `redact_patterns` and `hash_emails` ran: prompt
text, tool parameters, real addresses. The store keeps its own raw staging out of reach for the same reason
(`ccmon.store.facade`). The modes are set when a file is created, not after: no moment where another user can open
it. A folder or file an older version created with the default modes is tightened when the forwarding starts.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> None:
    """Create `path` (its parents too) if needed, then make it and the files directly in it ours alone."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    os.chmod(path, FOLDER_MODE)  # mkdir's mode is masked by the umask, and ignored for a folder that exists
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                # A file renamed or removed meanwhile (by a process holding the queue) needs no mode.
                with contextlib.suppress(FileNotFoundError):
                    os.chmod(entry.path, FILE_MODE)


def write_private(path: Path, *chunks: bytes, append: bool = False) -> None:
    """Write (or append) `chunks` to `path`, created 0600 if new."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    with os.fdopen(os.open(path, flags, FILE_MODE), "wb") as file:
        for chunk in chunks:
            file.write(chunk)


def replace_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` all at once (temporary file + rename): a crash leaves the old file or the new."""
    temp = path.with_suffix(".tmp")
    write_private(temp, data)
    os.replace(temp, path)
