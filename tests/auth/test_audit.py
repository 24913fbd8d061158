"""The audit log: entries written, read back newest first, paged without gaps or repeats."""

from __future__ import annotations

import datetime as dt

import pytest

from ccmon.auth.audit import MAX_FIELD, Audit, InvalidCursor
from ccmon.store.facade import Store


def test_entries_newest_first_and_paged_without_gaps(store: Store) -> None:
    instant = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    # Five entries in the same microsecond and three later: pages must still neither skip nor repeat.
    times = iter([instant] * 5 + [instant + dt.timedelta(seconds=s) for s in (1, 2, 3)])
    audit = Audit(store, clock=lambda: next(times))
    for n in range(8):
        audit.record("admin@example.com", "user.create", f"user{n}@example.com", address="10.0.0.1")
    seen: list[str] = []
    cursor = None
    while True:
        page = audit.entries(limit=3, before=cursor)
        seen += [entry.target for entry in page.entries]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 8 and set(seen) == {f"user{n}@example.com" for n in range(8)}
    assert seen[:3] == ["user7@example.com", "user6@example.com", "user5@example.com"]
    first = audit.entries(limit=1).entries[0]
    assert first.ts == "2026-01-01T00:00:03.000000Z"
    assert (first.actor, first.action, first.outcome, first.address) == (
        "admin@example.com",
        "user.create",
        "ok",
        "10.0.0.1",
    )


def test_hostile_values_are_stored_inert_and_clipped(store: Store) -> None:
    audit = Audit(store)
    hostile = "'); DROP TABLE audit_log; -- <script>alert(1)</script>"
    audit.record(hostile, "login.failed", hostile * 1000, outcome="denied", detail=hostile)
    (entry,) = audit.entries().entries
    assert entry.actor == hostile and entry.detail == hostile
    assert len(entry.target) == MAX_FIELD and entry.target.startswith(hostile)


@pytest.mark.parametrize("cursor", ["x", "1", "1.x", "-1.2", f"1.{2**64}", "1;DROP"])
def test_a_forged_cursor_is_refused(store: Store, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        Audit(store).entries(before=cursor)
