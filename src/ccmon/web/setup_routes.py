"""STUB (helper E fills this): `GET /api/v1/setup/...`, the files `ccmon setup` writes, for the Connect page."""

from fastapi import APIRouter

from ccmon.web.params import Authenticate
from ccmon.web.ui import ServerInfo


def setup_routes(authenticate: Authenticate, info: ServerInfo) -> APIRouter:
    return APIRouter(tags=["setup"])
