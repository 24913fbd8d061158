"""Logging in and out: `GET /login` (the page), `POST /auth/login`, `POST /auth/logout`, `GET /api/v1/me`.

No `from __future__ import annotations`: FastAPI reads these signatures at runtime.

A login answers with the session cookie (`ccmon_session`, HttpOnly, SameSite=Lax, Secure over TLS) and the session's
CSRF token, which the page sends back as `X-CSRF-Token` on every state-changing request. Failed logins are counted
per address and per login (`ccmon.auth.ratelimit`): past the limit the answer is 429 with `Retry-After`. Every login,
failure and logout is in the audit log, with the client's address.
"""

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from ccmon.auth.audit import Audit
from ccmon.auth.authenticator import Authenticator, check_csrf, check_origin
from ccmon.auth.principal import Principal
from ccmon.auth.ratelimit import LoginLimiter
from ccmon.auth.sessions import COOKIE, clear_session_cookie, set_session_cookie
from ccmon.auth.users import MAX_EMAIL
from ccmon.web.params import Authenticate, client_address
from ccmon.web.ui import SECURITY_HEADERS, STATIC

MAX_LOGIN_BODY = 16 * 1024
"""A login is an email and a password: anything bigger is refused before it is read whole."""


class LoginAnswer(BaseModel):
    csrf_token: str


class Me(BaseModel):
    name: str
    role: str
    person: str
    team: str
    department: str
    via: str
    csrf_token: str | None
    """The session's CSRF token (send it as `X-CSRF-Token`); null when not logged in by a session cookie."""
    auth_required: bool
    """Whether this server asks for authentication (false: a loopback server with no login configured)."""


LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["email", "password"],
                    "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
                }
            },
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["email", "password"],
                    "properties": {
                        "email": {"type": "string"},
                        "password": {"type": "string"},
                        "next": {"type": "string"},
                    },
                }
            },
        },
    }
}


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past `limit` bytes (whether or not a Content-Length says so up front)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"request body larger than {limit} bytes")
    return bytes(body)


def capped_route(limit: int) -> type[APIRoute]:
    """A route class refusing request bodies past `limit` bytes with 413 while they arrive (FastAPI itself would
    read a body of any size into memory before validating it)."""

    class CappedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def capped(request: Request) -> Response:
                if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
                    request._body = await read_capped(request, limit)
                return await handler(request)

            return capped

    return CappedRoute


def _credentials(body: bytes, content_type: str) -> tuple[str, str, str, bool]:
    """(email, password, next page, from a form)."""
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    fields: dict[str, Any]
    if media == "application/json":
        try:
            fields = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise HTTPException(400, "the body is not valid JSON") from None
        form = False
    elif media == "application/x-www-form-urlencoded":
        try:
            fields = {k: v[0] for k, v in parse_qs(body.decode(), max_num_fields=10, strict_parsing=False).items()}
        except (ValueError, UnicodeDecodeError):
            raise HTTPException(400, "the body is not a valid form") from None
        form = True
    else:
        raise HTTPException(415, "send JSON {email, password} or a form")
    if not isinstance(fields, dict):
        raise HTTPException(422, "expected an object with email and password")
    email, password, next_page = fields.get("email"), fields.get("password"), fields.get("next", "/")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise HTTPException(422, "email and password are required, as text")
    return email, password, next_page if isinstance(next_page, str) else "/", form


def _safe_next(page: str) -> str:
    """Only a path of this site: an open redirect would make our login page a phishing tool."""
    if page.startswith("/") and not page.startswith(("//", "/\\")) and all(32 < ord(c) < 127 for c in page):
        return page
    return "/"


def auth_routes(
    authenticator: Authenticator,
    audit: Audit,
    limiter: LoginLimiter,
    *,
    secure_cookies: bool,
    authenticate: Authenticate | None = None,
) -> APIRouter:
    """Login, logout and `/api/v1/me`; `authenticate` (default: the authenticator) judges who asks `me`."""
    router = APIRouter(tags=["auth"])
    judge = authenticate or authenticator
    users, sessions = authenticator.users, authenticator.sessions

    @router.get("/login", include_in_schema=False)
    def login_page() -> HTMLResponse:
        return HTMLResponse((STATIC / "login.html").read_text(), headers=SECURITY_HEADERS)

    def attempt(email: str, password: str, address: str) -> tuple[int, str, dict[str, str]]:
        """Check a login (blocking: argon2 and the store). (status, CSRF token or error, headers)."""
        login = email.strip().lower()[:MAX_EMAIL]
        keys = [f"address:{address}", f"login:{login}"]
        wait = limiter.retry_after(keys)
        if wait:
            audit.record(login, "login.failed", login, "throttled", address, f"retry after {wait} s")
            return 429, "too many failed logins: try again later", {"Retry-After": str(wait)}
        user = users.authenticate(email, password)
        if user is None:
            limiter.failed(keys)
            audit.record(login, "login.failed", login, "denied", address)
            return 401, "wrong email or password", {}
        limiter.succeeded(f"login:{login}")
        principal = authenticator.for_login(
            user.email, user.role, team=user.team, department=user.department, via="session"
        )
        cookie, csrf = sessions.create(principal)
        audit.record(user.email, "login.ok", user.email, "ok", address, "password")
        return 200, csrf, {"cookie": cookie}

    @router.post("/auth/login", openapi_extra=LOGIN_BODY, response_model=LoginAnswer)
    async def login(request: Request) -> Response:
        """Log in with an email and a password; sets the session cookie and answers the CSRF token."""
        check_origin(request)  # login CSRF: another site must not log a browser in as someone else
        body = await read_capped(request, MAX_LOGIN_BODY)
        email, password, next_page, form = _credentials(body, request.headers.get("content-type", ""))
        status, text, extra = await run_in_threadpool(attempt, email, password, client_address(request))
        if status == 200 and request.cookies.get(COOKIE):
            # A new login ends the session this browser had (a fixed or stale one), not just overwrites its cookie.
            await run_in_threadpool(sessions.revoke, request.cookies[COOKIE])
        if status != 200:
            if form and status == 401:
                return RedirectResponse("/login?failed=1", status_code=303)
            return JSONResponse({"detail": text}, status_code=status, headers=extra)
        response: Response
        if form:
            response = RedirectResponse(_safe_next(next_page), status_code=303)
        else:
            response = JSONResponse({"csrf_token": text}, headers={"cache-control": "no-store"})
        set_session_cookie(response, extra["cookie"], secure=secure_cookies, max_age_s=sessions.ttl_s)
        return response

    @router.post("/auth/logout", status_code=204)
    def logout(request: Request) -> Response:
        """End this browser's session (a request with the session cookie needs its X-CSRF-Token)."""
        cookie = request.cookies.get(COOKIE, "")
        session = sessions.resolve(cookie) if cookie else None
        if session is not None:
            check_csrf(request, session.csrf)
            sessions.revoke(cookie)
            audit.record(session.principal.name, "logout", session.principal.name, "ok", client_address(request))
        response = Response(status_code=204)
        clear_session_cookie(response)
        return response

    @router.get("/api/v1/me")
    def me(request: Request, principal: Annotated[Principal, Depends(judge)]) -> Me:
        """Who the caller is, their role and scope, and (for a browser session) the CSRF token to send."""
        return Me(
            name=principal.name,
            role=principal.role.value,
            person=principal.person,
            team=principal.team,
            department=principal.department,
            via=principal.via,
            csrf_token=getattr(request.state, "csrf_token", None),
            auth_required=authenticator.required(),
        )

    return router
