"""`ccmon doctor`'s test signal, recognised on ingest: a log record named `ccmon.doctor.ping` carrying a ping id.

A developer's machine sends it to check that its telemetry reaches the store, with its real protocol, endpoint and
token. It must not count as activity: as an event row it would feed the rollups (an `(unknown)` person in the
leaderboard, a team's last-seen time, "has data" on an empty install). So the receiver takes ping records out of the
request before the engine reads it (`ccmon.otlp.prepare`), and the writer records only their ids, with the time of
receipt, in `client_pings` (kept a day), which `GET /api/v1/client/ping/{id}` reads.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import pyarrow as pa

from ccmon.store.facade import Store

log = logging.getLogger(__name__)
PING_EVENT = "ccmon.doctor.ping"
PING_ID_KEY = "ccmon.ping_id"
PING_ID = re.compile(r"[0-9a-f]{32}")
"""A ping id: 32 lower-case hex digits (what the doctor sends, and what the API accepts)."""
TABLE = "client_pings"
MAX_PINGS_PER_REQUEST = 16
"""More ping records in one request are dropped uncounted: a ping is one record."""


def ping_id_of(attributes: object) -> str | None:
    """The ping id among a log record's attributes (protobuf KeyValues), when it is a well-formed one."""
    for kv in attributes:  # type: ignore[attr-defined]
        if kv.key == PING_ID_KEY:
            value = kv.value.string_value
            return value if PING_ID.fullmatch(value) else None
    return None


def record_pings(store: Store, ping_ids: list[str]) -> int:
    """Keep the ids of the pings a committed request carried, with the time they arrived; how many. A failure is
    logged, not raised: the request's rows are committed, and the doctor then says the ping was not stored."""
    if not ping_ids:
        return 0
    received = dt.datetime.now(dt.UTC)
    table = pa.table(
        {
            "ping_id": pa.array(ping_ids, pa.string()),
            "received_at": pa.array([received] * len(ping_ids), pa.timestamp("ms", tz="UTC")),
        }
    )
    try:
        store.insert(TABLE, table)
    except Exception:
        log.exception("could not record %d doctor pings", len(ping_ids))
        return 0
    return len(ping_ids)
