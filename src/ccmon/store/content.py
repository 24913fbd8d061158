"""Which stored fields hold content: what people typed, read or ran, declared once.

Two layers read this: ingest applies the content policy and secret redaction to these fields before anything is
stored (`ccmon.ingest.privacy`), and analytics withholds them from callers whose scope excludes content
(`ccmon.analytics.content`). Sources: ../shared/reference/claude-code-telemetry.md sections 3.3, 4 and 6.4.
"""

from __future__ import annotations

PROMPT_KEYS = (
    "prompt",  # user_prompt events, with OTEL_LOG_USER_PROMPTS
    "prompt_text",
    "user_prompt",  # the interaction span
    "new_context",
    "system_prompt_preview",
    "gen_ai.prompt",
    "gen_ai.input.messages",
    "gen_ai.system_instructions",
)
"""Prompt text (the `content_prompts` setting)."""
RESPONSE_KEYS = (
    "response",  # assistant_response events
    "response.model_output",
    "response.thinking_output",
    "gen_ai.completion",
    "gen_ai.output.messages",
)
"""Assistant responses (`content_responses`)."""
TOOL_DETAIL_KEYS = (
    "tool_parameters",  # tool_result, tool_decision: JSON with bash commands and file paths
    "tool_input",
    "tool.output",
    "tool_output",
    "input",
    "output",
    "full_command",
    "bash_command",
)
"""Tool parameters, inputs and outputs (`content_tool_details`)."""
BODY_KEYS = ("body",)
"""api_request_body / api_response_body: the raw API body, which holds prompts, responses and tool calls alike."""
DIAGNOSTIC_KEYS = (
    "error",
    "error.message",
    "exception.message",
    "exception.stacktrace",
    "hook_definitions",
    "managed_settings.settings",
)
"""Error texts and definitions: kept readable for diagnosis, but their secrets are always redacted."""
REFERENCE_KEYS = ("body_ref", "hook_matcher")
"""Not content themselves, but they point at it or quote it: withheld with it."""

CONTENT_COLUMNS = {"events": ("error", "body"), "spans": ("status_message",)}
"""Columns holding content: the error message, a log record's body (any log record's text), a span's status message
(the error text of a failed span)."""

CONTENT_KEYS = frozenset(PROMPT_KEYS + RESPONSE_KEYS + TOOL_DETAIL_KEYS + BODY_KEYS + DIAGNOSTIC_KEYS + REFERENCE_KEYS)
"""Every attribute key (of events' and spans' `attrs`) known to carry content."""
