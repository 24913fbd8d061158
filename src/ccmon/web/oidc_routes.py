"""Single sign-on routes: `GET /auth/oidc/start`, `GET /auth/oidc/callback`, `GET /auth/oidc/enabled`.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.

`start` sends the browser to the identity provider and remembers the login in the `ccmon_oidc` cookie (HttpOnly,
SameSite=Lax so that it comes back on the provider's top-level redirect, scoped to `/auth/oidc`, ten minutes).
`callback` checks the provider's answer against that cookie, clears it whatever the outcome, opens a ccmon session
(the same `ccmon_session` cookie as a password login) and redirects to the page the login started from, a path of
this site only. A failed sign-in is a small HTML page saying what failed, with a link to start again.
"""

from html import escape
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Query as Param
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from ccmon.auth.oidc import PENDING_MAX_AGE_S, OidcError
from ccmon.auth.oidc_login import OidcLogin
from ccmon.auth.sessions import COOKIE, Sessions, set_session_cookie
from ccmon.web.params import client_address
from ccmon.web.ui import SECURITY_HEADERS

PENDING_COOKIE = "ccmon_oidc"
PENDING_PATH = "/auth/oidc"
NO_STORE = {"cache-control": "no-store"}


class SsoStatus(BaseModel):
    enabled: bool
    """Single sign-on is configured: the login page offers "Sign in with SSO"."""
    start: str
    """Where the login page's button goes (add `?next=<path>` to come back there)."""


def _failure(exc: OidcError) -> HTMLResponse:
    message = escape(str(exc))
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in failed - ccmon</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="login-failed"><h1>Sign-in failed</h1><p id="sso-error">{message}</p>
<p><a href="/login">Back to the login page</a></p></main></body></html>"""
    return HTMLResponse(body, status_code=exc.status, headers={**SECURITY_HEADERS, **NO_STORE})


def oidc_routes(sso: OidcLogin | None, sessions: Sessions, *, secure_cookies: bool) -> APIRouter:
    """The routes; with `sso` None (no `oidc_issuer`), `enabled` says so and the others are 404."""
    router = APIRouter(tags=["auth"])

    @router.get("/auth/oidc/enabled")
    def enabled() -> SsoStatus:
        """Whether single sign-on is configured (public: the login page asks before anyone is logged in)."""
        return SsoStatus(enabled=sso is not None, start="/auth/oidc/start")

    def _pending_cookie(response: Response, value: str | None) -> None:
        """Set the pending login's cookie, or (None) clear it."""
        if value is None:
            response.delete_cookie(
                PENDING_COOKIE, path=PENDING_PATH, secure=secure_cookies, httponly=True, samesite="lax"
            )
            return
        response.set_cookie(
            PENDING_COOKIE,
            value,
            max_age=PENDING_MAX_AGE_S,
            path=PENDING_PATH,
            secure=secure_cookies,
            httponly=True,
            samesite="lax",
        )

    @router.get(
        "/auth/oidc/start",
        response_class=RedirectResponse,
        status_code=302,
        responses={404: {"description": "single sign-on is not configured"}, 502: {"description": "provider down"}},
    )
    async def start(
        request: Request,
        next_page: Annotated[
            str | None, Param(alias="next", max_length=2000, description="a path of this site to land on")
        ] = None,
    ) -> Response:
        """Send the browser to the identity provider to sign in (authorization code flow with PKCE)."""
        if sso is None:
            return _failure(OidcError("single sign-on is not configured on this server", 404))
        try:
            started = await run_in_threadpool(sso.start, str(request.base_url), next_page)
        except OidcError as exc:
            return _failure(exc)
        response = RedirectResponse(started.authorization_url, status_code=302, headers=NO_STORE)
        _pending_cookie(response, started.cookie)
        return response

    @router.get(
        "/auth/oidc/callback",
        response_class=RedirectResponse,
        status_code=302,
        responses={
            400: {"description": "no sign-in started here, wrong state, or the provider refused"},
            401: {"description": "the ID token is not valid for this sign-in"},
            403: {"description": "the login is refused (disabled, or no role for its groups)"},
            404: {"description": "single sign-on is not configured"},
            502: {"description": "the provider cannot be reached"},
        },
    )
    async def callback(request: Request) -> Response:
        """Where the identity provider sends the browser back: opens a ccmon session and goes to the page the sign-in
        started from."""
        if sso is None:
            return _failure(OidcError("single sign-on is not configured on this server", 404))
        params = {key: value for key, value in request.query_params.items()}
        cookie = request.cookies.get(PENDING_COOKIE)
        response: Response
        try:
            principal, next_page = await run_in_threadpool(sso.complete, cookie, params, client_address(request))
            session, _ = await run_in_threadpool(sessions.create, principal)
            if previous := request.cookies.get(COOKIE):  # a new login ends the browser's previous session
                await run_in_threadpool(sessions.revoke, previous)
        except OidcError as exc:
            response = _failure(exc)
        else:
            response = RedirectResponse(next_page, status_code=302, headers=NO_STORE)
            set_session_cookie(response, session, secure=secure_cookies, max_age_s=sessions.ttl_s)
        _pending_cookie(response, None)  # one use, whatever the outcome
        return response

    return router
