"""A local stand-in for Anthropic's Admin API Claude Code usage report, following the documented schema and paging
(../shared/reference/claude-code-admin-surfaces.md §5): one UTC day per `starting_at`, `limit` items per page,
`has_more` / `next_page` (an opaque cursor passed back as `page`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson

from tests.support import http_server

KEY = "sk-ant-admin01-test"
PATH = "/v1/organizations/usage_report/claude_code"


def actor_day(
    day: str, email: str | None, models: dict[str, tuple[int, int, int, int, float]], *, terminal: str = "vscode"
) -> dict[str, Any]:
    """One `data[]` item; `models`: model -> (input, output, cache read, cache creation, cost in cents)."""
    actor = {"type": "user_actor", "email_address": email} if email else {"type": "api_actor", "api_key_name": "ci"}
    return {
        "date": f"{day}T00:00:00Z",
        "actor": actor,
        "organization_id": "org-1",
        "customer_type": "api",
        "terminal_type": terminal,
        "core_metrics": {
            "num_sessions": 3,
            "lines_of_code": {"added": 120, "removed": 30},
            "commits_by_claude_code": 2,
            "pull_requests_by_claude_code": 1,
        },
        "tool_actions": {"edit_tool": {"accepted": 5, "rejected": 1}},
        "model_breakdown": [
            {
                "model": model,
                "tokens": {"input": i, "output": o, "cache_read": r, "cache_creation": c},
                "estimated_cost": {"amount": cents, "currency": "USD"},
            }
            for model, (i, o, r, c, cents) in models.items()
        ],
    }


@dataclass
class FakeAdminApi:
    days: dict[str, list[dict[str, Any]]]
    """`starting_at` -> the day's items."""
    failures: list[int] = field(default_factory=list)
    """Statuses answered, in order, before the real answers (429, 503...)."""
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    retry_after: str | None = None
    """The `retry-after` header sent with each failure, when set."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, bytes]:
        with self.lock:
            self.requests.append(query)
            self.headers.append(headers)
            if self.failures:
                return self.failures.pop(0), b'{"type": "error", "error": {"type": "overloaded_error"}}'
        if headers.get("x-api-key") != KEY:
            return 401, b'{"type": "error", "error": {"type": "authentication_error"}}'
        if path != PATH or headers.get("anthropic-version") != "2023-06-01":
            return 404, b"{}"
        items = self.days.get(query.get("starting_at", [""])[0], [])
        limit = int(query.get("limit", ["20"])[0])
        start = int(query.get("page", ["page_0"])[0].removeprefix("page_"))
        page = items[start : start + limit]
        more = start + limit < len(items)
        body = {"data": page, "has_more": more, "next_page": f"page_{start + limit}" if more else None}
        return 200, orjson.dumps(body)


@contextmanager
def serve(api: FakeAdminApi) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = api.answer(url.path, parse_qs(url.query), headers)
            self.send_response(status)
            if status != 200 and api.retry_after is not None:
                self.send_header("retry-after", api.retry_after)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with http_server(Handler) as url:
        yield url
