"""A local stand-in for the Anthropic Messages API, so the real Claude Code CLI runs offline.

Scenario words in the *first* user message pick the behaviour:

``WRITEFILE``
    answer with a ``Write`` tool call (streamed as ``tool_use``), then a text reply
    once the ``tool_result`` comes back.
``USEBASH``
    answer with a ``Bash`` tool call; with ``--allowedTools Write`` Claude Code
    rejects it and sends the rejection back as a ``tool_result``, which gets a text
    reply.
``MCPCALL:<tool name>``
    answer with a call of that tool (e.g. ``MCPCALL:mcp__ccmon__my_usage``, an MCP server's tool, input ``{}``),
    then a text reply once the ``tool_result`` comes back (read it from :attr:`FakeAnthropic.requests`).
``FAIL500``
    every Messages request fails with HTTP 500.
``FAIL429``
    every Messages request fails with HTTP 429 (``retry-after: 0``).
``SLOW``
    every Messages request takes 1.5 s first, so several metric export intervals
    pass during a run (combine with another word: ``SLOW WRITEFILE``).

Anything else gets a plain text reply (``Done.``). Every successful reply reports the
usage in :data:`USAGE`. ``/v1/messages/count_tokens`` answers
``{"input_tokens": 42}``; any other path (e.g. the CLI's ``HEAD /api/hello``
connectivity check) answers ``200 {}``.

Use it as a context manager::

    with FakeAnthropic() as api:
        run_claude(api_base_url=api.base_url, ...)
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from types import TracebackType

USAGE: dict[str, int] = {
    "input_tokens": 1200,
    "output_tokens": 85,
    "cache_read_input_tokens": 4000,
    "cache_creation_input_tokens": 300,
}
"""Token usage reported for every successful Messages request."""

SLOW_DELAY_S = 1.5
"""How long each request of the ``SLOW`` scenario waits before answering."""

WRITTEN_FILE = "hello.py"
WRITTEN_CONTENT = "print('hello')\nprint('world')\n"
"""What ``WRITEFILE`` asks Claude Code to write (relative to its working directory)."""

REPLY_TEXT = "Done."

Block = dict[str, Any]


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake API received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any = field(default=None)


class _Log:
    """The requests received; shared by the server threads and :class:`FakeAnthropic`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counter = itertools.count()
        self.requests: list[RecordedRequest] = []

    def record(self, request: RecordedRequest) -> int:
        with self.lock:
            self.requests.append(request)
            return next(self.counter)

    def snapshot(self) -> list[RecordedRequest]:
        with self.lock:
            return list(self.requests)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], log: _Log) -> None:
        super().__init__(address, _Handler)
        self.log = log


def _first_message_text(messages: list[Any]) -> str:
    return json.dumps(messages[:1])


def _answers_tool_result(messages: list[Any]) -> bool:
    if not messages or not isinstance(messages[-1], dict):
        return False
    content = messages[-1].get("content")
    return isinstance(content, list) and any(isinstance(c, dict) and c.get("type") == "tool_result" for c in content)


_MCP_CALL = re.compile(r"MCPCALL:([A-Za-z0-9_-]+)")


def _reply_blocks(messages: list[Any], n: int) -> tuple[list[Block], str]:
    first = _first_message_text(messages)
    if not _answers_tool_result(messages):
        if called := _MCP_CALL.search(first):
            return [{"type": "tool_use", "id": f"toolu_{n:04d}", "name": called.group(1), "input": {}}], "tool_use"
        if "USEBASH" in first:
            return [
                {
                    "type": "tool_use",
                    "id": f"toolu_{n:04d}",
                    "name": "Bash",
                    "input": {
                        "command": "rm -rf ./build",
                        "description": "clean the build folder",
                    },
                }
            ], "tool_use"
        if "WRITEFILE" in first:
            return [
                {
                    "type": "tool_use",
                    "id": f"toolu_{n:04d}",
                    "name": "Write",
                    "input": {"file_path": WRITTEN_FILE, "content": WRITTEN_CONTENT},
                }
            ], "tool_use"
    return [{"type": "text", "text": REPLY_TEXT}], "end_turn"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any, **kwargs: Any) -> None:
        pass

    def _send_json(self, status: int, obj: object, extra: tuple[tuple[str, str], ...] = ()) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("request-id", "req_fake")
        for key, value in extra:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _record(self, body: object) -> int:
        server = self.server
        if not isinstance(server, _Server):
            raise TypeError("_Handler only serves a _Server")
        return server.log.record(RecordedRequest(self.command, self.path, dict(self.headers.items()), body))

    def do_GET(self) -> None:
        self._record(None)
        self._send_json(200, {})

    def do_HEAD(self) -> None:
        self._record(None)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        req: Any
        try:
            req = json.loads(raw) if raw else {}
        except ValueError:
            req = {}
        if not isinstance(req, dict):
            req = {}
        n = self._record(req)
        path = self.path.split("?", 1)[0]
        if "count_tokens" in path:
            self._send_json(200, {"input_tokens": 42})
            return
        if not path.startswith("/v1/messages"):
            self._send_json(200, {})
            return
        messages = req.get("messages")
        if not isinstance(messages, list):
            messages = []
        first = _first_message_text(messages)
        if "FAIL500" in first:
            self._send_json(
                500,
                {
                    "type": "error",
                    "error": {"type": "api_error", "message": "Internal server error"},
                },
            )
            return
        if "FAIL429" in first:
            self._send_json(
                429,
                {
                    "type": "error",
                    "error": {"type": "rate_limit_error", "message": "rate limited"},
                },
                (("retry-after", "0"),),
            )
            return
        if "SLOW" in first:
            time.sleep(SLOW_DELAY_S)
        blocks, stop = _reply_blocks(messages, n)
        model = str(req.get("model") or "claude-sonnet-4-5")
        if req.get("stream"):
            self._stream(n, model, blocks, stop)
        else:
            self._send_json(
                200,
                {
                    "id": f"msg_{n:04d}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": blocks,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": USAGE,
                },
            )

    def _event(self, name: str, data: dict[str, Any]) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def _stream(self, n: int, model: str, blocks: list[Block], stop: str) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", "req_fake")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        self._event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": f"msg_{n:04d}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": dict(USAGE, output_tokens=1),
                },
            },
        )
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                start: Block = {"type": "text", "text": ""}
                delta: Block = {"type": "text_delta", "text": block["text"]}
            else:
                start = {
                    "type": "tool_use",
                    "id": block["id"],
                    "name": block["name"],
                    "input": {},
                }
                delta = {
                    "type": "input_json_delta",
                    "partial_json": json.dumps(block["input"]),
                }
            self._event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            )
            self._event(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
            self._event("content_block_stop", {"type": "content_block_stop", "index": index})
        self._event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": USAGE["output_tokens"]},
            },
        )
        self._event("message_stop", {"type": "message_stop"})


class FakeAnthropic:
    """The fake Messages API, served from a background thread.

    Binds ``127.0.0.1`` on a free port unless told otherwise. ``host``, ``port`` and
    ``base_url`` are known once started and stay readable after :meth:`stop`, as does
    :attr:`requests`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._log = _Log()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._bound: tuple[str, int] | None = None

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("FakeAnthropic already started")
        self._server = _Server(self._address, self._log)
        bound_host, bound_port = self._server.server_address[:2]
        self._bound = (str(bound_host), int(bound_port))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-anthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _address_bound(self) -> tuple[str, int]:
        if self._bound is None:
            raise RuntimeError("FakeAnthropic has not been started")
        return self._bound

    @property
    def host(self) -> str:
        return self._address_bound()[0]

    @property
    def port(self) -> int:
        return self._address_bound()[1]

    @property
    def base_url(self) -> str:
        """What to put in ``ANTHROPIC_BASE_URL``."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        return self._log.snapshot()

    @property
    def messages_requests(self) -> list[RecordedRequest]:
        """Only the ``POST /v1/messages`` requests (not ``count_tokens`` or others)."""
        return [
            r for r in self.requests if r.method == "POST" and r.path.split("?", 1)[0].rstrip("/") == "/v1/messages"
        ]
