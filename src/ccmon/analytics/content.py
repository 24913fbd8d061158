"""What counts as content: the one list of the fields that may carry what people typed, read or ran.

A scope without `content` (finance, viewer) never receives these: prompt text, assistant responses, tool parameters
and inputs, error messages, request and response bodies, span attributes that carry prompts or tool content. They are
blanked where event and span rows become API objects (`event_rows.event_view`, `sessions.session_detail`), so JSON and
CSV alike go without them, and the events explorer refuses to search or filter on them for such callers, which would
otherwise tell, row by row, whether a prompt contained a word.

Two layers, so that a key Claude Code adds later is more likely caught than shown:

- `CONTENT_ATTRIBUTES`: the keys Claude Code is known to send with content, declared once for ingest and analytics
  in `ccmon.store.content`;
- `is_content_key`: those, and any key one of whose words names content (`prompt`, `response`, `body`, `input`,
  ...) unless its last word says it is only a measure or a label of it (`prompt_length`, `input_tokens`,
  `error_type`, `tool_input_size_bytes`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ccmon.store.content import CONTENT_COLUMNS, CONTENT_KEYS

CONTENT_EVENT_COLUMNS = CONTENT_COLUMNS["events"]
"""`events` columns holding content: the error message, and the log record's body. `body` is never shown; `error` is
blanked."""

CONTENT_SPAN_COLUMNS = CONTENT_COLUMNS["spans"]
"""`spans` columns holding content: the status message is the error text of a failed span."""

CONTENT_ATTRIBUTES = CONTENT_KEYS
"""Attribute keys (of events' and spans' `attrs`) known to carry content (declared in `ccmon.store.content`)."""

_CONTENT_WORDS = frozenset(
    {
        "prompt",
        "prompts",
        "response",
        "body",
        "input",
        "output",
        "parameters",
        "params",
        "error",
        "message",
        "messages",
        "content",
        "context",
        "text",
        "command",
        "completion",
        "thinking",
        "stacktrace",
        "instructions",
        "query",
        "args",
        "argv",
    }
)
"""Words that, anywhere in a key, make it content..."""

_MEASURE_WORDS = frozenset(
    {
        "length",
        "len",
        "size",
        "bytes",
        "count",
        "tokens",
        "hash",
        "id",
        "uuid",
        "type",
        "class",
        "category",
        "code",
        "source",
        "ms",
        "truncated",
        "sequence",
        "kind",
        "status",
        "name",
        "safe",
        "argv0",
        "chars",
    }
)
"""... unless the key's last word is one of these: a length, count, identifier or label of the content, not the
content itself, or its first word says it counts (`num_non_blocking_error`). (`name` covers `tool_name`,
`error_name`; `argv0` the program a bash command ran.)"""

_WORD = re.compile(r"[a-z0-9]+")


def is_content_key(key: str) -> bool:
    """Whether an attribute (or column) of this name may carry content; case and separators do not matter."""
    if key in CONTENT_ATTRIBUTES or key in CONTENT_EVENT_COLUMNS or key in CONTENT_SPAN_COLUMNS:
        return True
    words = _WORD.findall(key.lower())
    if not words or words[-1] in _MEASURE_WORDS or words[0] in {"num", "total"}:
        return False
    return any(word in _CONTENT_WORDS for word in words)


def without_content(attributes: Mapping[str, str]) -> dict[str, str]:
    """The attributes but those that may carry content."""
    return {key: value for key, value in attributes.items() if not is_content_key(key)}
