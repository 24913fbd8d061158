"""The per-endpoint disk queue: order, bound (oldest dropped), restart, damaged files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccmon.forward.spool import HEADER, Spool
from ccmon.settings import ConfigError


def _drain(spool: Spool) -> list[bytes]:
    out = []
    while (entry := spool.head()) is not None:
        payload = spool.read(entry)
        assert payload is not None
        out.append(payload)
        assert spool.remove(entry)
    return out


def test_first_in_first_out_with_signal_and_time(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    assert spool.open() == 0
    spool.append("metrics", b"one", 111)
    spool.append("logs", b"two", 222)
    head = spool.head()
    assert head is not None and (head.signal, head.queued_ns) == ("metrics", 111)
    assert spool.oldest_queued_ns() == 111
    assert spool.queued == 2 and spool.bytes == 2 * HEADER.size + 6
    assert _drain(spool) == [b"one", b"two"]
    assert spool.queued == 0 and spool.bytes == 0 and not list(tmp_path.glob("*.otlp"))


def test_full_spool_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    record = HEADER.size + 100
    spool = Spool(tmp_path, 3 * record)
    spool.open()
    assert [spool.append("logs", bytes([i]) * 100, i) for i in range(3)] == [0, 0, 0]
    assert spool.append("logs", b"\x03" * 100, 3) == 1  # room for one more: the oldest goes
    assert spool.append("logs", b"\x04" * 150, 4) == 2  # a bigger one takes two places
    assert spool.bytes <= spool.max_bytes
    assert [p[0] for p in _drain(spool)] == [3, 4]


def test_a_request_larger_than_the_bound_is_dropped_alone(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1000)
    spool.open()
    spool.append("logs", b"kept", 1)
    assert spool.append("logs", b"x" * 1000, 2) == 1
    assert _drain(spool) == [b"kept"]


def test_the_queue_survives_a_restart_in_order(tmp_path: Path) -> None:
    first = Spool(tmp_path, 1 << 20)
    first.open()
    for i in range(12):
        first.append("traces", f"request {i}".encode(), i)
    entry = first.head()
    assert entry is not None and first.remove(entry)  # request 0 was sent before the stop
    first.close()
    second = Spool(tmp_path, 1 << 20)
    assert second.open() == 0
    second.append("traces", b"after restart", 99)
    assert _drain(second) == [f"request {i}".encode() for i in range(1, 12)] + [b"after restart"]


def test_damaged_and_unfinished_files_are_skipped_and_counted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    spool.open()
    for i in range(4):
        spool.append("logs", f"request {i}".encode() * 10, i)
    spool.close()
    files = sorted(tmp_path.glob("*.otlp"))
    files[3].write_bytes(files[3].read_bytes()[:-7])  # cut short: the tail of the queue
    files[1].write_bytes(b"garbage")  # not even a header
    (tmp_path / "00000000000000000009.tmp").write_bytes(b"half written")  # a crash before the rename
    reopened = Spool(tmp_path, 1 << 20)
    assert reopened.open() == 2
    assert not list(tmp_path.glob("*.tmp"))
    assert _drain(reopened) == [b"request 0" * 10, b"request 2" * 10]


def test_a_payload_damaged_after_start_is_refused_by_its_checksum(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    spool.open()
    spool.append("logs", b"payload bytes", 1)
    entry = spool.head()
    assert entry is not None
    path = next(tmp_path.glob("*.otlp"))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same length, one bit flipped
    path.write_bytes(bytes(data))
    assert spool.read(entry) is None


def test_remove_of_an_entry_dropped_meanwhile_is_refused(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 2 * (HEADER.size + 10))
    spool.open()
    spool.append("logs", b"a" * 10, 1)
    in_flight = spool.head()
    assert in_flight is not None
    spool.append("logs", b"b" * 10, 2)
    assert spool.append("logs", b"c" * 10, 3) == 1  # the one in flight made room
    assert not spool.remove(in_flight)
    assert _drain(spool) == [b"b" * 10, b"c" * 10]


def test_a_second_process_on_the_same_queue_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    first = Spool(tmp_path, 1 << 20)
    first.open()
    first.append("logs", b"mine", 1)
    second = Spool(tmp_path, 1 << 20)
    with pytest.raises(ConfigError, match="in use by another ccmon process"):
        second.open()
    first.close()
    assert second.open() == 0 and _drain(second) == [b"mine"]
    second.close()
