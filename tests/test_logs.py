from __future__ import annotations

import logging

import orjson

from ccmon.logs import JsonFormatter


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
