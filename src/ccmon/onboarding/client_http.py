"""One JSON call from a developer's machine to the ccmon API, with the standard library's HTTP client: the commands
Claude Code runs at every prompt (`ccmon hook`, `ccmon statusline`) pay less to import it than a richer client costs.

A call gives the server's JSON object, or a few words saying why there is none (unreachable, too slow, a refused
token, not a ccmon server): the callers fail open on it and show it.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from ccmon.onboarding.caller import DEFAULT_URL

MAX_ANSWER_BYTES = 256 * 1024

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Straight to the server, as the CLI's other commands go (no `http_proxy` from the environment)."""


def call_json(
    url: str,
    path: str,
    body: Mapping[str, Any] | None,
    *,
    token: str | None,
    timeout_s: float,
) -> dict[str, Any] | str:
    """POST `body` as JSON to `url + path` (GET when `body` is None); the JSON object answered, or why there is
    none."""
    url = url.rstrip("/")
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        return f"{url!r} is not a URL such as {DEFAULT_URL}"
    headers = {"accept": "application/json"}
    data = None
    if body is not None:
        headers["content-type"] = "application/json"
        data = json.dumps(dict(body)).encode()
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}{path}", data=data, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            content = response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        with exc:
            return refusal(url, exc.code, exc.read(4096))
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(cause, TimeoutError):
            return f"{url} did not answer within {timeout_s:g} s"
        return f"cannot reach {url}: {reason(cause)}"
    try:
        answer = json.loads(content)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return f"{url}{path} did not answer with JSON (is it a ccmon server?)"
    return answer


def refusal(url: str, status: int, content: bytes) -> str:
    """Why the server said no, in a line."""
    if status == 401:
        return f"{url} refused the token (401): set --token or CCMON_TOKEN to an ingest token or API key"
    try:
        detail = json.loads(content).get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = str(detail)[:200] if detail else content[:200].decode("utf-8", "replace").strip()
    return f"{url} refused (403): {text}" if status == 403 else f"{url} answered {status}: {text}"


def reason(cause: object) -> str:
    """Why a connection failed, in a few words (`connection refused`)."""
    text = re.sub(r"^\[Errno -?\d+\] ", "", str(cause))
    if "refused" in text.lower():
        return "connection refused"
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return "unknown host"
    return text or type(cause).__name__
