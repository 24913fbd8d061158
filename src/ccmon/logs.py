"""Logging: one JSON object per line for machines, or one readable line per event for people at a terminal."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

import orjson

# Record attributes that are not context: the standard ones, and uvicorn's copy of the message with ANSI colours.
_NOT_CONTEXT = {*vars(logging.makeLogRecord({})), "color_message"}

FORMATS = ("auto", "json", "text")
"""`auto`: text when standard error is a terminal, JSON otherwise (a service manager, a file, a pipe)."""


def _context(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _NOT_CONTEXT}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in _context(record).items() if k not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """`05:10:19 info  ccmon listening  api=http://127.0.0.1:3000 ...`: the time in UTC, the message, then its context
    as key=value (nested values as compact JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        time = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        line = f"{time} {record.levelname.lower():<7} {record.getMessage()}"
        pairs = [f"{k}={_text(v)}" for k, v in _context(record).items()]
        if pairs:
            line += "  " + " ".join(pairs)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text(value: object) -> str:
    if isinstance(value, str):
        return value if value and " " not in value else orjson.dumps(value).decode()
    return orjson.dumps(value, default=str).decode()


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    if fmt == "auto":
        fmt = "text" if stream.isatty() else "json"
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's start-up lines come once per listener ("Started server process" twice, one "running on" each);
    # ccmon logs one "ccmon listening" line with every address instead. Its warnings and errors still show.
    # httpx logs every request's full URL at INFO: a forward endpoint's or a webhook's URL may hold its credential.
    for noisy in ("uvicorn.access", "uvicorn.error", "clickhouse_connect", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
