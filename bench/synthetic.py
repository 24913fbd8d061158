"""A large synthetic organisation generated inside ClickHouse, for the analytics benchmark (`bench/analytics.py`).

`ccmon demo` sends a realistic organisation through the OpenTelemetry SDK, at ~10k events/s: right for a newcomer's
30 days, far too slow for 100M events. This module writes rows of the same shape straight into ccmon's own tables
with `INSERT ... SELECT ... FROM numbers()`, so they pass through the same materialized views (the hourly rollups)
that ingest feeds. Every value is a hash of the row number: the data set is deterministic and needs no Python per row.

Shape (`Shape`, defaults for 100M events): 1,000 developers in 20 teams, 4 departments, 4 cost centres and 30
repositories (each its own project; a fifth of the developers on Bedrock, the rest on the Anthropic API); 5 sessions
per developer per day, 200 events per session (one prompt every 10 events: the prompt, 3-4 API requests, 2 tool
decisions, 3 tool results, 1 API error in 20 prompts), 15 s apart, in working hours; 120 metric points per session
(12 series x 10 export intervals: cost, 4 token types, active time user/cli, lines added/removed, edit decisions,
commits, pull requests).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ccmon.store.facade import Store

EVENTS_PER_SESSION = 200
SESSIONS_PER_DAY = 5
POINTS_PER_SESSION = 120


@dataclass(frozen=True)
class Shape:
    developers: int = 1000
    days: int = 100
    end: datetime = datetime(2026, 11, 1, tzinfo=UTC)

    @property
    def sessions(self) -> int:
        return self.developers * self.days * SESSIONS_PER_DAY

    @property
    def events(self) -> int:
        return self.sessions * EVENTS_PER_SESSION

    @property
    def points(self) -> int:
        return self.sessions * POINTS_PER_SESSION

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)


def _pick(options: list[str], hash_sql: str) -> str:
    quoted = ", ".join(f"'{o}'" for o in options)
    return f"[{quoted}][1 + ({hash_sql}) % {len(options)}]"


# Per-session columns, from the session number `s`. A session belongs to developer `s % developers`, on day
# `intDiv(s, developers * SESSIONS_PER_DAY)`, and is that developer's `k`-th of the day.
def _session_columns(shape: Shape) -> str:
    d = shape.developers
    start = int(shape.start.timestamp())
    return f"""
        s % {d} AS dev,
        intDiv(s, {d * SESSIONS_PER_DAY}) AS day,
        intDiv(s % {d * SESSIONS_PER_DAY}, {d}) AS k,
        {start} + day * 86400 + 7 * 3600 + k * 7200 + cityHash64(s, 'start') % 3600 AS session_start,
        lower(hex(cityHash64(s, 'session'))) || '-' || lower(hex(cityHash64(s, 'id'))) AS session_id,
        'dev' || leftPad(toString(dev), 4, '0') || '@example.com' AS person,
        'team-' || leftPad(toString(dev % 20), 2, '0') AS team,
        {_pick(["engineering", "platform", "data", "product"], "dev % 20")} AS department,
        'cc-' || toString(100 + (dev % 20) % 4) AS cost_center,
        'repo-' || leftPad(toString((dev + k * 7) % 30), 2, '0') AS repository,
        repository AS project,
        if(dev % 5 = 0, 'bedrock', 'anthropic') AS provider,
        {_pick(["vscode", "iTerm.app", "tmux", "cursor", "Apple_Terminal"], "dev")} AS terminal_type,
        ['2.1.300', '2.1.310', '2.1.320', '2.1.330'][1 + least(3, intDiv(day + dev % 10, 25))] AS version,
        lower(hex(cityHash64(dev, 'account'))) AS user_account_uuid,
        {_pick(["linux", "darwin", "windows"], "dev % 7")} AS os_type,
        map('service.name', 'claude-code', 'os.type', os_type, 'host.arch', 'arm64',
            'service.version', version) AS resource"""


_MODELS = ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5"]
_TOOLS = ["Read", "Read", "Edit", "Bash", "Grep", "Write", "Glob", "TodoWrite", "WebFetch", "MultiEdit"]
_SLOTS = [
    "user_prompt",
    "api_request",
    "tool_decision",
    "tool_result",
    "api_request",
    "tool_decision",
    "tool_result",
    "api_request",
    "tool_result",
    "api_request",
]


def events_sql(shape: Shape) -> str:
    """SELECT of every `events` column for row numbers `n` of `numbers(...)`."""
    return f"""
SELECT
    toDateTime64(session_start + i * 15, 9, 'UTC') + toIntervalMillisecond(cityHash64(n, 'ms') % 15000) AS ts,
    if(slot = 'api_request' AND cityHash64(n, 'err') % 20 = 0, 'api_error', slot) AS event_name,
    session_id || '-p' || toString(intDiv(i, 10)) AS prompt_id,
    toInt64(i) AS event_sequence,
    session_id, person, person AS user_email, user_account_uuid, '' AS user_id, 'org-1' AS organization_id,
    terminal_type, 'claude-code' AS service_name, version, repository, project, provider, team, department,
    cost_center,
    if(event_name IN ('api_request', 'api_error'), {_pick(_MODELS, "cityHash64(n, 'model')")}, '') AS model,
    if(slot IN ('tool_decision', 'tool_result'), {_pick(_TOOLS, "cityHash64(s, intDiv(i, 3))")}, '') AS tool_name,
    if(slot = 'tool_decision', if(cityHash64(n, 'rej') % 20 = 0, 'reject', 'accept'), '') AS decision,
    if(slot = 'tool_decision', {_pick(["config", "user_temporary", "user_permanent"], "cityHash64(n, 'src')")}, '')
        AS decision_source,
    if(slot = 'tool_result', cityHash64(n, 'ok') % 50 != 0, NULL) AS success,
    multiIf(event_name = 'api_request', 400 + pow(cityHash64(n, 'dur') % 1000, 2) / 40,
            slot = 'tool_result', 2 + pow(cityHash64(n, 'dur') % 1000, 2) / 500, NULL) AS duration_ms,
    if(event_name = 'api_request', 200 + cityHash64(n, 'ttft') % 2500, NULL) AS ttft_ms,
    toUInt64(if(event_name = 'api_request', 20 + cityHash64(n, 'in') % 4000, 0)) AS input_tokens,
    toUInt64(if(event_name = 'api_request', 10 + cityHash64(n, 'out') % 1500, 0)) AS output_tokens,
    toUInt64(if(event_name = 'api_request', cityHash64(n, 'cr') % 60000, 0)) AS cache_read_tokens,
    toUInt64(if(event_name = 'api_request', cityHash64(n, 'cc') % 5000, 0)) AS cache_creation_tokens,
    if(event_name = 'api_request',
       multiIf(model LIKE '%opus%', 5.0, model LIKE '%haiku%', 0.333, 1.0)
       * (input_tokens * 3 + output_tokens * 15 + cache_read_tokens * 0.3 + cache_creation_tokens * 3.75) / 1e6,
       0) AS cost_usd,
    if(event_name = 'api_error', [429, 500, 529, 400][1 + cityHash64(n, 'st') % 4], NULL) AS status_code,
    if(event_name = 'api_error', toInt32(1 + cityHash64(n, 'att') % 3), NULL) AS attempt,
    if(event_name = 'api_error', ['Overloaded', 'Internal server error', 'Rate limited', 'Bad request']
       [1 + cityHash64(n, 'st') % 4], '') AS error,
    if(event_name = 'api_request', 'repl_main_thread', '') AS query_source,
    '' AS speed, '' AS effort, '' AS trace_id, '' AS span_id,
    'claude_code.' || event_name AS body,
    map('event.name', event_name, 'event.timestamp', toString(ts), 'terminal.type', terminal_type,
        'prompt.id', prompt_id) AS attrs,
    resource,
    cityHash64(n, 'event') AS dedup_key,
    now() AS ingested_at
FROM (
    SELECT number AS n, intDiv(n, {EVENTS_PER_SESSION}) AS s, n % {EVENTS_PER_SESSION} AS i,
           {_SLOTS!r}[1 + i % 10] AS slot, {_session_columns(shape)}
    FROM numbers({{first:UInt64}}, {{count:UInt64}})
)
"""


# The 12 series of a session, in order: (metric name, type, value expression).
_SERIES = [
    ("claude_code.cost.usage", "", "(cityHash64(n, 'v') % 1000) / 2000"),
    ("claude_code.token.usage", "input", "cityHash64(n, 'v') % 20000"),
    ("claude_code.token.usage", "output", "cityHash64(n, 'v') % 8000"),
    ("claude_code.token.usage", "cacheRead", "cityHash64(n, 'v') % 300000"),
    ("claude_code.token.usage", "cacheCreation", "cityHash64(n, 'v') % 25000"),
    ("claude_code.active_time.total", "user", "(cityHash64(n, 'v') % 300) / 2"),
    ("claude_code.active_time.total", "cli", "(cityHash64(n, 'v') % 900) / 2"),
    ("claude_code.lines_of_code.count", "added", "cityHash64(n, 'v') % 120"),
    ("claude_code.lines_of_code.count", "removed", "cityHash64(n, 'v') % 60"),
    ("claude_code.code_edit_tool.decision", "", "1 + cityHash64(n, 'v') % 4"),
    ("claude_code.commit.count", "", "cityHash64(n, 'v') % 8 = 0"),
    ("claude_code.pull_request.count", "", "cityHash64(n, 'v') % 30 = 0"),
]


def points_sql(shape: Shape) -> str:
    """SELECT of every `metric_points` column for row numbers `n` of `numbers(...)`."""
    names = [name for name, _, _ in _SERIES]
    types = [kind for _, kind, _ in _SERIES]
    values = "multiIf(" + ", ".join(f"j = {j}, toFloat64({v})" for j, (_, _, v) in enumerate(_SERIES)) + ", 0)"
    return f"""
SELECT
    toDateTime64(session_start + (interval + 1) * 300, 9, 'UTC') AS ts,
    toDateTime64(session_start + interval * 300, 9, 'UTC') AS start_ts,
    {names!r}[1 + j] AS metric_name,
    toUInt8(1) AS temporality, true AS monotonic,
    {values} AS value, value AS raw_value,
    cityHash64(s, j) AS series_id,
    if(metric_name = 'claude_code.code_edit_tool.decision', decision, {types!r}[1 + j]) AS type,
    session_id, person, person AS user_email, user_account_uuid, '' AS user_id, 'org-1' AS organization_id,
    terminal_type, 'claude-code' AS service_name, version, repository, project, provider, team, department,
    cost_center,
    if(j <= 4, {_pick(_MODELS, "cityHash64(s, interval)")}, '') AS model,
    if(j = 9, {_pick(["Edit", "Write", "MultiEdit"], "cityHash64(n, 'tool')")}, '') AS tool_name,
    if(j = 9, if(cityHash64(n, 'rej') % 10 = 0, 'reject', 'accept'), '') AS decision,
    if(j = 9, {_pick(["config", "user_temporary", "user_permanent"], "cityHash64(n, 'src')")}, '')
        AS decision_source,
    if(j = 9, {_pick(["TypeScript", "Python", "Go", "Markdown"], "cityHash64(n, 'lang')")}, '') AS language,
    '' AS query_source, '' AS speed, '' AS effort,
    map() AS attrs, resource,
    cityHash64(n, 'point') AS dedup_key,
    now() AS ingested_at
FROM (
    SELECT number AS n, intDiv(n, {POINTS_PER_SESSION}) AS s, n % {POINTS_PER_SESSION} AS p,
           p % {len(_SERIES)} AS j, intDiv(p, {len(_SERIES)}) AS interval, {_session_columns(shape)}
    FROM numbers({{first:UInt64}}, {{count:UInt64}})
)
"""


def load(store: Store, shape: Shape, *, chunk: int = 10_000_000, progress: Callable[[str], None] = print) -> float:
    """Insert the whole organisation in chunks; returns the seconds it took."""
    began = time.perf_counter()
    for table, select, total in (
        ("events", events_sql(shape), shape.events),
        ("metric_points", points_sql(shape), shape.points),
    ):
        # INSERT ... SELECT matches columns by position: name them, in the table's order.
        columns = ", ".join(row[0] for row in store.query(f"DESCRIBE TABLE {table}"))
        for first in range(0, total, chunk):
            count = min(chunk, total - first)
            store.command(
                f"INSERT INTO {table} ({columns}) SETTINGS optimize_on_insert = 0 SELECT {columns} FROM ({select})",
                {"first": first, "count": count},
            )
            progress(f"{table}: {first + count:,} / {total:,} rows ({time.perf_counter() - began:.0f} s)")
    return time.perf_counter() - began
