"""The disk queue of one forward endpoint: one file per export request, in arrival order, bounded in bytes.

A request is written to a temporary file and renamed into place, so a crash leaves either the whole file or none
(a leftover temporary file is removed at the next start). Each file starts with a header (magic, payload length,
CRC-32, signal, time queued), so a file cut short or damaged on disk is recognised, skipped and counted rather than
sent. Files are named by a monotonic sequence number: the queue's order survives a restart. When a new request
would take the spool past its bound, the oldest requests are deleted to make room: local storage never waits on a
forward target, and the newest data is the most useful to keep.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import threading
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ccmon.forward.private import private_folder, write_private
from ccmon.settings import ConfigError

log = logging.getLogger(__name__)

MAGIC = b"CCF1"
HEADER = struct.Struct("<4sIIBQ")
"""magic, payload length, CRC-32 of the payload, signal code, time queued (Unix ns)."""
SIGNALS = ("logs", "metrics", "traces")
SUFFIX = ".otlp"
TEMP_SUFFIX = ".tmp"


@dataclass(frozen=True)
class Entry:
    """One queued request: its file's sequence number, signal, size on disk and when it was queued."""

    seq: int
    signal: str
    size: int
    queued_ns: int


class Spool:
    """A bounded, persistent FIFO of export requests; appended by one thread, consumed by another."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._entries: deque[Entry] = deque()
        self._bytes = 0
        self._next_seq = 1
        self._lock = threading.Lock()
        self._owner: int | None = None

    def open(self) -> int:
        """Load what an earlier run left; returns how many files were unreadable (removed: counted as dropped).

        The folder is locked for this process (`flock` on `lock`): two processes appending to one queue would
        overwrite each other's files, so a second one sharing the data folder is refused with a clear error. The
        folder and its files are made ours alone (`ccmon.forward.private`): they hold unredacted telemetry."""
        private_folder(self.directory)
        owner = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(owner)
            raise ConfigError(
                f"the forwarding queue {self.directory} is in use by another ccmon process: "
                "each process needs a data folder of its own"
            ) from None
        self._owner = owner
        corrupt = 0
        entries: list[Entry] = []
        for path in self.directory.iterdir():
            if path.name.endswith(TEMP_SUFFIX):
                path.unlink(missing_ok=True)  # a write a crash interrupted: never renamed, never acknowledged
                continue
            if not path.name.endswith(SUFFIX):
                continue
            entry = self._read_header(path)
            if entry is None:
                corrupt += 1
                path.unlink(missing_ok=True)
            else:
                entries.append(entry)
        entries.sort(key=lambda e: e.seq)
        with self._lock:
            self._entries = deque(entries)
            self._bytes = sum(e.size for e in entries)
            self._next_seq = entries[-1].seq + 1 if entries else 1
        if corrupt:
            log.warning("forward queue %s: %d damaged files removed", self.directory, corrupt)
        return corrupt

    def _read_header(self, path: Path) -> Entry | None:
        try:
            seq = int(path.name.removesuffix(SUFFIX))
            size = path.stat().st_size
            with path.open("rb") as file:
                header = file.read(HEADER.size)
        except (ValueError, OSError):
            return None
        if len(header) < HEADER.size:
            return None
        magic, length, _crc, code, queued_ns = HEADER.unpack(header)
        if magic != MAGIC or code >= len(SIGNALS) or size != HEADER.size + length:
            return None
        return Entry(seq, SIGNALS[code], size, queued_ns)

    def _path(self, seq: int) -> Path:
        return self.directory / f"{seq:020d}{SUFFIX}"

    def append(self, signal: str, payload: bytes, queued_ns: int) -> int:
        """Queue a request; returns how many requests were dropped to make room (the oldest, or this one alone if
        it is larger than the whole bound)."""
        size = HEADER.size + len(payload)
        if size > self.max_bytes:
            return 1
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
        header = HEADER.pack(MAGIC, len(payload), zlib.crc32(payload), SIGNALS.index(signal), queued_ns)
        temp = self.directory / f"{seq:020d}{TEMP_SUFFIX}"
        write_private(temp, header, payload)
        os.replace(temp, self._path(seq))
        dropped = 0
        with self._lock:
            while self._entries and self._bytes + size > self.max_bytes:
                oldest = self._entries.popleft()
                self._bytes -= oldest.size
                self._path(oldest.seq).unlink(missing_ok=True)
                dropped += 1
            self._entries.append(Entry(seq, signal, size, queued_ns))
            self._bytes += size
        return dropped

    def close(self) -> None:
        """Release the folder (the queue stays on disk for the next start)."""
        if self._owner is not None:
            os.close(self._owner)  # closing the descriptor releases the flock
            self._owner = None

    def head(self) -> Entry | None:
        with self._lock:
            return self._entries[0] if self._entries else None

    def read(self, entry: Entry) -> bytes | None:
        """The entry's payload, or None when its file is gone (dropped meanwhile) or damaged."""
        try:
            data = self._path(entry.seq).read_bytes()
        except OSError:
            return None
        if len(data) < HEADER.size:
            return None
        magic, length, crc, _code, _queued = HEADER.unpack_from(data)
        payload = data[HEADER.size :]
        if magic != MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
            return None
        return payload

    def remove(self, entry: Entry) -> bool:
        """Forget a sent (or unsendable) entry; False when it was dropped meanwhile to make room."""
        with self._lock:
            if not self._entries or self._entries[0].seq != entry.seq:
                return False
            self._entries.popleft()
            self._bytes -= entry.size
        self._path(entry.seq).unlink(missing_ok=True)
        return True

    @property
    def queued(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def oldest_queued_ns(self) -> int | None:
        head = self.head()
        return head.queued_ns if head else None
