"""`GET /api/v1/client/ping/{ping_id}`: whether `ccmon doctor`'s test signal was stored (see `ccmon.doctor_cli`,
`ccmon.onboarding.ping`).

The doctor sends one OTLP log record carrying a random ping id through the machine's real exporter settings, then
asks here, with the same ingest token, until the answer says `stored`. Who may ask: `ccmon.web.client_caller` (the
ingest token a machine exports with, or any API credential). A ping id names nothing but itself (32 random hex
digits), so any admitted caller may ask about any id; anything else is a 422 before the store is asked.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.
"""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from ccmon.analytics import Analytics
from ccmon.web.client_caller import Caller, ClientCallers

PING_ID_PATTERN = r"^[0-9a-f]{32}$"


class PingStatus(BaseModel):
    ping_id: str
    stored: bool = Field(description="whether ccmon stored the test signal (within the last hour)")
    received_at: dt.datetime | None = Field(description="when it was stored (UTC); null when it was not")


def doctor_routes(callers: ClientCallers, analytics: Analytics) -> APIRouter:
    """The router (mount it under /api/v1)."""
    router = APIRouter(tags=["client"])
    Asker = Annotated[Caller, Depends(callers.dependency)]

    @router.get("/client/ping/{ping_id}")
    def ping_status(
        ping_id: Annotated[
            str,
            Path(
                pattern=PING_ID_PATTERN,
                min_length=32,
                max_length=32,
                description="the id `ccmon doctor` sent: 32 lower-case hex digits",
            ),
        ],
        caller: Asker,
    ) -> PingStatus:
        """Whether the doctor's test signal with this id reached the store in the last hour, and when."""
        del caller  # admitted: that is all a ping id needs
        received = analytics.ping_received(ping_id)
        return PingStatus(ping_id=ping_id, stored=received is not None, received_at=received)

    return router
