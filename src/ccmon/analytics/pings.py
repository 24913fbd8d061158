"""Whether `ccmon doctor`'s test signal reached the store: a point query by ping id over the recent past.

Ingest keeps the ids of the doctor's test records in `client_pings` (a day; `ccmon.ingest.pings`) rather than as
events, so that the test changes no dashboard number. The answer is the time it arrived, or None.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ccmon.store.facade import Store

PING_WINDOW = timedelta(hours=1)
"""How far back a ping counts: the doctor asks seconds after sending it."""

_LATEST = (
    "SELECT received_at FROM client_pings WHERE ping_id = {ping_id:String} "
    "AND received_at >= {since:DateTime64(3, 'UTC')} ORDER BY received_at DESC LIMIT 1"
)


def ping_received(
    store: Store, ping_id: str, within: timedelta = PING_WINDOW, now: datetime | None = None
) -> datetime | None:
    """When the ping `ping_id` was stored, within the last `within`; None when it was not."""
    since = (now or datetime.now(UTC)) - within
    rows = store.query(_LATEST, {"ping_id": ping_id, "since": since.replace(tzinfo=None)})
    if not rows:
        return None
    received: datetime = rows[0][0]
    return received if received.tzinfo else received.replace(tzinfo=UTC)
