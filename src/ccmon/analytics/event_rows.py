"""One event as the API shows it, shared by the session timeline and the events explorer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ccmon.analytics.content import without_content
from ccmon.analytics.results import integer, number, utc

COLUMNS = (
    "ts, event_name, session_id, prompt_id, event_sequence, person, model, tool_name, decision, success, duration_ms, "
    "cost_usd, input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens, status_code, error, attrs"
)
"""The `events` columns `event_view` reads, in its order."""


class EventView(BaseModel):
    ts: datetime
    name: str
    session_id: str
    prompt_id: str
    sequence: int
    person: str
    model: str
    tool_name: str
    decision: str
    success: bool | None
    duration_ms: float | None
    cost_usd: float
    tokens: int
    status_code: int | None
    error: str
    """The error message; empty for a caller whose scope excludes content."""
    attributes: dict[str, str]
    """Every attribute no column holds (prompt text, tool input, ...): telemetry text, to be shown escaped. For a
    caller whose scope excludes content, the content keys (`content.is_content_key`) are left out."""


def event_view(row: Sequence[Any], *, content: bool = True) -> EventView:
    """An `EventView` from a row of `COLUMNS`; without `content`, its error and content attributes left out."""
    (
        ts,
        name,
        session,
        prompt,
        seq,
        person,
        model,
        tool,
        decision,
        success,
        duration,
        cost,
        tokens,
        status,
        error,
        attrs,
    ) = row
    return EventView(
        ts=utc(ts),
        name=name,
        session_id=session,
        prompt_id=prompt,
        sequence=integer(seq),
        person=person,
        model=model,
        tool_name=tool,
        decision=decision,
        success=success,
        duration_ms=duration,
        cost_usd=number(cost),
        tokens=integer(tokens),
        status_code=status,
        error=error if content else "",
        attributes=dict(attrs) if content else without_content(attrs),
    )
