"""STUB (helper C fills this): `POST /api/v1/client/statusline` and `GET /api/v1/people/limits`."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from ccmon.analytics import Analytics
from ccmon.web.client_caller import ClientCallers


def statusline_routes(callers: ClientCallers, analytics: Analytics, record: Callable[[Any], None]) -> APIRouter:
    return APIRouter(tags=["client"])
