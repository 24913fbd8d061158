from __future__ import annotations

import io
import logging
import re

import httpx
import orjson
import pytest

from ccmon.logs import JsonFormatter, TextFormatter, configure_logging
from tests.forward.recording import Recorder
from tests.support import http_server


def test_json_lines_carry_context_but_not_uvicorn_colours() -> None:
    record = logging.makeLogRecord(
        {
            "name": "ccmon.x",
            "levelname": "INFO",
            "msg": "listening on %s",
            "args": ("here",),
            "api": "http://127.0.0.1:3000",
            "color_message": "\x1b[36mlistening\x1b[0m",
        }
    )
    entry = orjson.loads(JsonFormatter().format(record))
    assert entry["message"] == "listening on here"
    assert entry["level"] == "info"
    assert entry["api"] == "http://127.0.0.1:3000"
    assert "color_message" not in entry


def _record(**extra: object) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "ccmon.x", "levelname": "INFO", "msg": "ccmon listening", **extra})


def test_text_lines_are_one_line_per_event_with_their_context() -> None:
    line = TextFormatter().format(_record(api="http://127.0.0.1:3000", totals={"cost_usd": 1.5}, note="two words"))
    assert re.fullmatch(
        r'\d\d:\d\d:\d\d info    ccmon listening  api=http://127.0.0.1:3000 totals=\{"cost_usd":1.5\} note="two words"',
        line,
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "json_lines"), [(_Terminal(), False), (io.StringIO(), True)])
def test_auto_format_is_text_at_a_terminal_and_json_elsewhere(stream: io.StringIO, json_lines: bool) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("info", "auto", stream)
        logging.getLogger("ccmon.test").info("hello", extra={"port": 4317})
        # One line per listener's start-up from uvicorn would repeat; ccmon logs its own single line instead.
        logging.getLogger("uvicorn.error").info("Started server process [1]")
        logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "Started server process" not in stream.getvalue()
    if json_lines:
        assert orjson.loads(lines[0])["port"] == 4317
    else:
        assert lines[0].endswith("info    hello  port=4317")


def test_a_credential_in_a_request_url_is_not_logged() -> None:
    # Forward endpoints and webhooks may carry their key in the URL; httpx logs each request's URL at INFO.
    stream, root = io.StringIO(), logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("info", "json", stream)
        with http_server(Recorder().handler()) as url:
            httpx.post(url.replace("http://", "http://id:s3cret-pw@") + "/v1/logs?api-key=s3cret-key", content=b"x")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert "s3cret" not in stream.getvalue()
