"""Transcript lines shaped as Claude Code 2.1.330 writes them (checked against a real run's file), built in code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

MODEL = "claude-sonnet-4-5"


def assistant(
    message_id: str,
    request_id: str,
    *,
    ts: str = "2026-11-19T10:00:00.000Z",
    session: str = "s-1",
    cwd: str = "/work/repo",
    model: str = MODEL,
    input_tokens: int = 100,
    output_tokens: int = 20,
    cache_read: int = 1000,
    cache_creation: int = 50,
    one_hour: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
        "output_tokens": output_tokens,
        "service_tier": "standard",
        "cache_creation": {
            "ephemeral_1h_input_tokens": one_hour,
            "ephemeral_5m_input_tokens": cache_creation - one_hour,
        },
    }
    return {
        "type": "assistant",
        "requestId": request_id,
        "sessionId": session,
        "cwd": cwd,
        "version": "2.1.330",
        "timestamp": ts,
        "uuid": f"u-{message_id}-{output_tokens}",
        "message": {"id": message_id, "type": "message", "role": "assistant", "model": model, "usage": usage},
        **extra,
    }


def user(ts: str = "2026-11-19T09:59:00.000Z") -> dict[str, Any]:
    return {"type": "user", "timestamp": ts, "sessionId": "s-1", "message": {"role": "user", "content": "hi"}}


def write(path: Path, *entries: dict[str, Any] | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join((e if isinstance(e, bytes) else orjson.dumps(e)) + b"\n" for e in entries))
    return path
