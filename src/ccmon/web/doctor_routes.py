"""STUB (helper B fills this): `GET /api/v1/client/ping/{ping_id}`, whether `ccmon doctor`'s test signal was stored."""

from fastapi import APIRouter

from ccmon.analytics import Analytics
from ccmon.web.client_caller import ClientCallers


def doctor_routes(callers: ClientCallers, analytics: Analytics) -> APIRouter:
    return APIRouter(tags=["client"])
