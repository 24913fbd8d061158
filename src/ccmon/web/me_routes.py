"""STUB (helper D fills this): the `ccmon mcp` server's questions about the caller's own usage."""

from fastapi import APIRouter

from ccmon.alerts.budgets import Budgets
from ccmon.analytics import Analytics
from ccmon.web.client_caller import ClientCallers


def me_routes(callers: ClientCallers, analytics: Analytics, budgets: Budgets) -> APIRouter:
    return APIRouter(tags=["client"])
