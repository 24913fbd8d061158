"""Decoding export requests into rows: Claude Code's vocabulary on every captured payload, and on small payloads built
in code for the aliases and mixed value types that other Claude Code versions send."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest

from ccmon.ingest.rows import IngestBatch, Row
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.vocabulary import EVENTS, METRICS, SPANS
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.signals import SIGNALS, Encoding
from ccmon.store.facade import Store
from tests.otlp.helpers import (
    Document,
    data_point,
    event,
    log_record,
    logs_request,
    metrics_request,
    span,
    sum_metric,
    to_json,
    to_protobuf,
    traces_request,
)
from tests.support import Payload, claude_result, fixture_runs, payloads

E, M, S = EVENTS.index, METRICS.index, SPANS.index
MAX = 65536

ALL_PAYLOADS = [payload for run in fixture_runs() for payload in payloads(run)]
WRITEFILE_RUNS = ["writefile-http-json", "writefile-http-protobuf", "writefile-grpc"]
STARTUP = ["managed_settings_resolved", "plugin_loaded", "plugin_loaded", "plugin_loaded", "plugin_loaded"]
EVENT_NAMES = {
    "writefile": [
        *STARTUP,
        *["user_prompt", "api_request", "tool_decision", "tool_result", "api_request", "assistant_response"],
    ],
    "tool-rejected": [
        *STARTUP,
        *["user_prompt", "tool_decision", "api_request", "tool_result", "api_request", "assistant_response"],
    ],
    "api-error-500": [*STARTUP, "user_prompt", "internal_error", "api_error", "api_retries_exhausted"],
}


def payload_id(payload: Payload) -> str:
    return f"{payload.path.parent.name}/{payload.path.name}"


class Engine:
    """The real data path for logs and traces: a migrated store and its writer, whose INSERT builds the rows in
    ClickHouse (`ccmon.ingest.engine_rows`). `rows` stores one decoded request, reads its rows back in the form
    `RowBuilder` gives (layout order, times as int ns, `attrs`/`resource` as lists of pairs) and empties the table."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writers: dict[int, BatchWriter] = {}

    def writer(self, max_value_length: int) -> BatchWriter:
        """A writer per value length limit: the engine's SQL is rendered from the writer's settings."""
        if max_value_length not in self.writers:
            writer = BatchWriter(self.store, IngestStats(), max_delay_s=0.01, max_value_length=max_value_length)
            writer.start()
            self.writers[max_value_length] = writer
        return self.writers[max_value_length]

    def rows(self, batch: IngestBatch, max_value_length: int) -> list[Row]:
        layout, table = (EVENTS, "events") if batch.signal == "logs" else (SPANS, "spans")
        # Digest 0: not a retry of an earlier decode of the same payload (request dedup is tested in test_writer).
        self.writer(max_value_length).submit(dataclasses.replace(batch, digest=0)).result(timeout=30)
        order = "ts, event_sequence" if table == "events" else "start_ts, span_id"
        rows = self.store.query(f"SELECT {', '.join(map(_select, layout.names))} FROM {table} ORDER BY {order}")
        self.store.command(f"TRUNCATE TABLE {table}")
        return [
            [list(value) if name in _MAPS else value for name, value in zip(layout.names, row, strict=True)]
            for row in rows
        ]

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


_TIMES = {"ts", "start_ts", "end_ts"}
_MAPS = {"attrs", "resource"}


def _select(name: str) -> str:
    if name in _TIMES:
        return f"toUnixTimestamp64Nano({name}) AS {name}"
    if name in _MAPS:
        return f"arrayZip(mapKeys({name}), mapValues({name})) AS {name}"  # in order, a repeated key included
    return name


_engine: Engine | None = None


@pytest.fixture(scope="module", autouse=True)
def _engine_store(chdb_path: Path, clickhouse_url: str | None) -> Iterator[None]:
    global _engine  # noqa: PLW0603
    database = f"test_{uuid.uuid4().hex[:12]}"
    if clickhouse_url:
        store = Store.open(url=clickhouse_url, database=database)
    else:
        store = Store.open(data_dir=str(chdb_path), database=database)
    store.migrate()
    _engine = Engine(store)
    try:
        yield
    finally:
        _engine.close()
        _engine = None
        store.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        store.close()


@dataclasses.dataclass
class Decoded:
    """A request's `IngestBatch` (its points, counters and errors) with the events or spans the engine built."""

    batch: IngestBatch
    events: list[Row] = dataclasses.field(default_factory=list)
    spans: list[Row] = dataclasses.field(default_factory=list)

    @property
    def points(self) -> list[Row]:
        return self.batch.points

    def __getattr__(self, name: str) -> Any:
        return getattr(self.batch, name)


def decode_request(signal: str, data: bytes, encoding: Encoding, max_value_length: int = MAX) -> Decoded:
    """`Signal.decode`, with the events or spans the engine builds from the request."""
    batch = SIGNALS[signal].decode(data, encoding, max_value_length)
    if signal == "metrics":
        return Decoded(batch)
    assert _engine is not None
    rows = _engine.rows(batch, max_value_length)
    return Decoded(batch, events=rows) if signal == "logs" else Decoded(batch, spans=rows)


def decode(payload: Payload) -> Decoded:
    encoding = Encoding.JSON if payload.is_json else Encoding.PROTOBUF
    return decode_request(payload.signal, payload.read(), encoding)


def run_batch(run: str, signal: str) -> Decoded:
    """Every payload of `signal` in `run`, decoded and concatenated."""
    merged = Decoded(IngestBatch())
    for payload in payloads(run):
        if payload.signal == signal:
            batch = decode(payload)
            merged.events += batch.events
            merged.batch.points += batch.points
            merged.spans += batch.spans
    return merged


def events_named(rows: list[Row], name: str) -> list[Row]:
    return [row for row in rows if row[E["event_name"]] == name]


def decode_both(signal: str, document: Document) -> list[Decoded]:
    """The document decoded from OTLP/JSON and from the equivalent protobuf."""
    return [
        decode_request(signal, to_json(document), Encoding.JSON),
        decode_request(signal, to_protobuf(signal, document), Encoding.PROTOBUF),
    ]


def one_event(attrs: Mapping[str, object], resource: Mapping[str, object] | None = None) -> Row:
    """The row of one tool_result event with these attributes, from JSON and from protobuf (checked equal)."""
    record = event("tool_result", "s-1", 3, **attrs)
    json_batch, protobuf_batch = decode_both("logs", logs_request([record], resource))
    assert json_batch.events == protobuf_batch.events
    (row,) = json_batch.events
    return row


def extras(row: Row, layout_index: dict[str, int]) -> dict[str, str]:
    """The attributes no column claimed, minus `event.name` (always kept there)."""
    pairs: Any = row[layout_index["attrs"]]
    return {k: v for k, v in pairs if k != "event.name"}


# --- every captured payload ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=payload_id)
def test_every_fixture_payload_decodes_cleanly(payload: Payload) -> None:
    batch = decode(payload)
    assert (batch.rejected, batch.errors, batch.truncated_values, batch.repaired_times) == (0, [], 0, 0)
    rows = {"logs": batch.events, "metrics": batch.points, "traces": batch.spans}
    assert [len(rows[s]) > 0 for s in ("logs", "metrics", "traces")] == [s == payload.signal for s in rows]
    layout = {"logs": EVENTS, "metrics": METRICS, "traces": SPANS}[payload.signal]
    session_id = claude_result(payload.path.parent.name)["session_id"]
    for row in rows[payload.signal]:
        assert len(row) == len(layout.columns)
        index = layout.index
        assert row[index["session_id"]] == session_id
        # Claude Code with an API key sends no user.email or account uuid: the person is the hashed user.id.
        assert (row[index["user_email"]], row[index["user_account_uuid"]]) == ("", "")
        assert len(str(row[index["user_id"]])) == 64
        assert row[index["person"]] == row[index["user_id"]]
        assert row[index["service_name"]] == "claude-code"
        assert row[index["version"]] == "2.1.330"
    layout.to_arrow(rows[payload.signal])  # the rows fit the table's column types


@pytest.mark.parametrize("run", [*WRITEFILE_RUNS, "cumulative-http-json", "content-logging-on", "tool-rejected"])
def test_event_names_in_order(run: str) -> None:
    names = [row[E["event_name"]] for row in run_batch(run, "logs").events]
    assert names == EVENT_NAMES["tool-rejected" if run == "tool-rejected" else "writefile"]
    sequences = [row[E["event_sequence"]] for row in run_batch(run, "logs").events]
    assert sequences == list(range(11))


def test_event_names_of_a_failing_run() -> None:
    batch = run_batch("api-error-500", "logs")
    assert [row[E["event_name"]] for row in batch.events] == EVENT_NAMES["api-error-500"]
    (api_error,) = events_named(batch.events, "api_error")
    assert (api_error[E["status_code"]], api_error[E["attempt"]]) == (500, 2)
    assert (api_error[E["error"]], api_error[E["duration_ms"]]) == ("Internal server error", 9.0)
    (exhausted,) = events_named(batch.events, "api_retries_exhausted")
    assert (exhausted[E["status_code"]], exhausted[E["attempt"]]) == (500, 2)  # `total_attempts` fills `attempt`


def test_tool_result_string_values_are_coerced() -> None:
    """writefile-http-json sends `success` as "true" and `duration_ms` as "20" on tool_result."""
    (tool_result,) = events_named(run_batch("writefile-http-json", "logs").events, "tool_result")
    assert tool_result[E["success"]] is True
    assert tool_result[E["duration_ms"]] == 20.0
    assert tool_result[E["tool_name"]] == "Write"
    assert extras(tool_result, E) == {
        "anthropic.provider": "firstParty",
        "anthropic.custom_base_url": "true",
        "event.timestamp": "2026-11-24T02:24:04.438Z",
        "tool_use_id": "toolu_0000",
        "tool_input_size_bytes": "69",
        "tool_result_size_bytes": "104",
    }


@pytest.mark.parametrize("run", [*WRITEFILE_RUNS, "tool-rejected"])
def test_tool_decision_fills_decision_and_source(run: str) -> None:
    (decision,) = events_named(run_batch(run, "logs").events, "tool_decision")
    tool = "Bash" if run == "tool-rejected" else "Write"
    columns = (decision[E["decision"]], decision[E["decision_source"]], decision[E["tool_name"]])
    assert columns == ("accept", "config", tool)


@pytest.mark.parametrize("run", WRITEFILE_RUNS)
def test_api_request_numbers(run: str) -> None:
    requests = events_named(run_batch(run, "logs").events, "api_request")
    columns = ["model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "cost_usd"]
    columns += ["speed", "query_source", "effort", "success"]
    expected = ["claude-opus-5-5", 1200, 85, 4000, 300, 0.0088, "normal", "sdk", "medium", None]
    assert [[row[E[c]] for c in columns] for row in requests] == [expected, expected]
    durations = [row[E["duration_ms"]] for row in requests]
    assert all(isinstance(duration, float) and duration > 0 for duration in durations)


def test_resource_attributes_fill_team_department_and_cost_center() -> None:
    """OTEL_RESOURCE_ATTRIBUTES=team=platform,department=engineering,cost_center=ENG-001 (writefile-http-json)."""
    for signal, layout in (("logs", EVENTS), ("metrics", METRICS), ("traces", SPANS)):
        batch = run_batch("writefile-http-json", signal)
        rows = batch.events + batch.points + batch.spans
        assert rows
        for row in rows:
            org = (row[layout.index["team"]], row[layout.index["department"]], row[layout.index["cost_center"]])
            assert org == ("platform", "engineering", "ENG-001")
    # Runs without OTEL_RESOURCE_ATTRIBUTES leave the columns empty.
    assert {row[E["team"]] for row in run_batch("writefile-http-protobuf", "logs").events} == {""}


def test_trace_and_span_ids_are_hex() -> None:
    events = run_batch("writefile-http-json", "logs").events
    ids = {(row[E["event_name"]], row[E["trace_id"]], row[E["span_id"]]) for row in events}
    assert ("managed_settings_resolved", "", "") in ids
    assert ("user_prompt", "fe1223c53722601ed746e3cbaf60bb92", "464db5f33fc25515") in ids
    assert ("tool_decision", "fe1223c53722601ed746e3cbaf60bb92", "ee973c0ec8760915") in ids
    spans = run_batch("writefile-http-json", "traces").spans
    tree = {(row[S["name"]], row[S["span_id"]], row[S["parent_span_id"]]) for row in spans}
    assert ("claude_code.interaction", "464db5f33fc25515", "") in tree
    assert ("claude_code.tool", "e16a5e860ccd92d2", "464db5f33fc25515") in tree
    assert ("claude_code.tool.blocked_on_user", "ee973c0ec8760915", "e16a5e860ccd92d2") in tree
    assert {row[S["trace_id"]] for row in spans} == {"fe1223c53722601ed746e3cbaf60bb92"}
    # Protobuf ids are bytes on the wire: the same hex text comes out.
    grpc_events = run_batch("writefile-grpc", "logs").events
    (prompt,) = events_named(grpc_events, "user_prompt")
    assert (prompt[E["trace_id"]], prompt[E["span_id"]]) == ("eb058701862743221ccf44fc43a381bf", "99c6404d6f335a15")
    grpc_spans = run_batch("writefile-grpc", "traces").spans
    assert {row[S["trace_id"]] for row in grpc_spans} == {"eb058701862743221ccf44fc43a381bf"}


def test_span_columns() -> None:
    spans = run_batch("writefile-http-json", "traces").spans
    by_name = {row[S["name"]]: row for row in spans}
    llm = by_name["claude_code.llm_request"]
    assert (llm[S["span_type"]], llm[S["model"]], llm[S["kind"]], llm[S["status_code"]]) == (
        "llm_request",
        "claude-opus-5-5",
        1,
        0,
    )
    assert by_name["claude_code.tool"][S["tool_name"]] == "Write"
    for row in spans:
        start, end = row[S["start_ts"]], row[S["end_ts"]]
        assert isinstance(start, int) and isinstance(end, int) and start <= end


@pytest.mark.parametrize("run", ["writefile-http-json", "cumulative-http-json"])
def test_metric_points(run: str) -> None:
    points = run_batch(run, "metrics").points
    temporality = 2 if run == "cumulative-http-json" else 1
    assert {(row[M["temporality"]], row[M["monotonic"]]) for row in points} == {(temporality, True)}
    tokens = {row[M["type"]]: row[M["value"]] for row in points if row[M["metric_name"]] == "claude_code.token.usage"}
    assert tokens == {"input": 2400.0, "output": 170.0, "cacheRead": 8000.0, "cacheCreation": 600.0}
    (edit,) = [row for row in points if row[M["metric_name"]] == "claude_code.code_edit_tool.decision"]
    assert [edit[M[c]] for c in ("decision", "decision_source", "tool_name", "language", "value")] == [
        "accept",
        "config",
        "Write",
        "Python",
        1.0,
    ]
    (cost,) = [row for row in points if row[M["metric_name"]] == "claude_code.cost.usage"]
    assert (cost[M["value"]], cost[M["model"]], cost[M["query_source"]], cost[M["effort"]]) == (
        0.0176,
        "claude-opus-5-5",
        "main",
        "medium",
    )
    assert len({row[M["series_id"]] for row in points}) == len(points)


# --- JSON and protobuf agree --------------------------------------------------------------------------------------

JSON_PAYLOADS = [payload for payload in ALL_PAYLOADS if payload.is_json]


@pytest.mark.parametrize("payload", JSON_PAYLOADS, ids=payload_id)
def test_json_payload_and_its_protobuf_twin_decode_to_the_same_rows(payload: Payload) -> None:
    json_batch = decode(payload)
    protobuf_batch = decode_request(payload.signal, to_protobuf(payload.signal, payload.read()), Encoding.PROTOBUF)
    assert json_batch.events == protobuf_batch.events
    assert json_batch.points == protobuf_batch.points
    assert json_batch.spans == protobuf_batch.spans
    assert json_batch.rows > 0


STABLE_EVENT_COLUMNS = [
    "event_name",
    "event_sequence",
    "tool_name",
    "decision",
    "decision_source",
    "success",
    "model",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "cost_usd",
    "status_code",
    "attempt",
    "error",
    "query_source",
    "speed",
    "effort",
    "terminal_type",
    "service_name",
    "version",
]
STABLE_METRIC_COLUMNS = ["metric_name", "type", "model", "tool_name", "decision", "decision_source", "language"]


def test_runs_of_the_same_kind_decode_to_the_same_promoted_values_in_every_encoding() -> None:
    """The same Claude Code run over HTTP/JSON, HTTP/protobuf and gRPC gives the same columns (but for times, ids and
    durations, which differ between runs)."""

    def events(run: str) -> list[list[object]]:
        return [[row[E[c]] for c in STABLE_EVENT_COLUMNS] for row in run_batch(run, "logs").events]

    def points(run: str) -> list[tuple[object, ...]]:
        rows = run_batch(run, "metrics").points
        values = [
            (*[row[M[c]] for c in STABLE_METRIC_COLUMNS], row[M["value"]])
            for row in rows
            if row[M["metric_name"]] != "claude_code.active_time.total"
        ]
        return sorted(values, key=repr)

    json_events, json_points = events("writefile-http-json"), points("writefile-http-json")
    assert len(json_events) == 11
    assert len(json_points) == 9
    for run in ("writefile-http-protobuf", "writefile-grpc"):
        assert events(run) == json_events, run
        assert points(run) == json_points, run


# --- aliases and mixed types, on payloads built in code -----------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "tool_name"),
    [
        ({"tool_name": "Write"}, "Write"),
        ({"tool": "Bash"}, "Bash"),
        ({"name": "Edit"}, "Edit"),  # tool_result before tool_name existed
        ({"tool": "Bash", "tool_name": "Write"}, "Write"),  # the current key wins, in either order
        ({"tool_name": "Write", "tool": "Bash"}, "Write"),
        # Between aliases, the column's order of keys (`tool` before `name`), not the order sent: the rule the
        # engine's SQL applies (it was "the first one seen" when rows were built in Python).
        ({"name": "Edit", "tool": "Bash"}, "Bash"),
    ],
)
def test_tool_name_aliases(attrs: dict[str, object], tool_name: str) -> None:
    row = one_event(attrs)
    assert row[E["tool_name"]] == tool_name
    assert extras(row, E) == {}  # alias values are not kept twice


@pytest.mark.parametrize(
    ("attrs", "decision", "source"),
    [
        ({"decision": "reject", "source": "user_reject"}, "reject", "user_reject"),
        ({"decision_type": "accept", "decision_source": "config"}, "accept", "config"),
        ({"decision_type": "reject", "decision": "accept"}, "accept", ""),
        ({"decision_source": "hook", "source": "config"}, "", "config"),
    ],
)
def test_decision_aliases(attrs: dict[str, object], decision: str, source: str) -> None:
    row = one_event(attrs)
    assert (row[E["decision"]], row[E["decision_source"]]) == (decision, source)


@pytest.mark.parametrize(
    ("key", "sent", "stored"),
    [
        ("duration_ms", "22", 22.0),
        ("duration_ms", 22, 22.0),
        ("duration_ms", 22.0, 22.0),
        ("duration_ms", {"intValue": "22"}, 22.0),  # OTLP/JSON int64 as a string
        ("success", "true", True),
        ("success", True, True),
        ("success", " FALSE ", False),
        ("success", 0, False),
        ("input_tokens", "1200", 1200),
        ("input_tokens", 1200, 1200),
        ("input_tokens", 1200.0, 1200),
        ("cost_usd", "0.5", 0.5),
        ("event.sequence", "7", 7),
        ("status_code", "503", 503),
        ("attempt", "3", 3),
    ],
)
def test_mixed_value_types_are_coerced(key: str, sent: object, stored: object) -> None:
    column = {"event.sequence": "event_sequence"}.get(key, key)
    row = one_event({key: sent})
    assert row[E[column]] == stored
    assert type(row[E[column]]) is type(stored)
    assert key not in extras(row, E)


@pytest.mark.parametrize(
    ("key", "sent", "column", "default"),
    [
        ("success", "maybe", "success", None),
        ("input_tokens", "12.5", "input_tokens", 0),
        ("input_tokens", -5, "input_tokens", 0),
        ("status_code", "undefined", "status_code", None),  # sent by Claude Code for non-HTTP errors
        ("duration_ms", "fast", "duration_ms", None),
        ("event.sequence", "x", "event_sequence", -1),
    ],
)
def test_values_that_cannot_be_coerced_are_kept_as_text(key: str, sent: object, column: str, default: object) -> None:
    row = one_event({key: sent})
    assert row[E[column]] == default
    assert extras(row, E)[key] == str(sent)


def test_person_prefers_email_then_account_then_user_id() -> None:
    ids = {"user.id": "hash", "user.account_uuid": "acct", "user.email": "a@example.com"}
    assert one_event(ids)[E["person"]] == "a@example.com"
    assert one_event({"user.id": "hash", "user.account_uuid": "acct"})[E["person"]] == "acct"
    assert one_event({"user.id": "hash"})[E["person"]] == "hash"
    assert one_event({})[E["person"]] == ""


def test_record_attributes_win_over_resource_attributes() -> None:
    resource = {"team": "platform", "dept": "eng", "costcenter": "CC-1", "service.version": "2.1.330"}
    row = one_event({"team": "mobile", "app.version": "2.2.0"}, resource)
    assert [row[E[c]] for c in ("team", "department", "cost_center", "version")] == ["mobile", "eng", "CC-1", "2.2.0"]
    pairs: Any = row[E["resource"]]
    assert dict(pairs) == resource


def test_event_name_from_body_attribute_or_otlp_field() -> None:
    records = [
        event("api_request", "s", 0),  # body claude_code.api_request
        {**log_record({}, body="plain text"), "eventName": "from_field"},
        log_record({}, body="claude_code.tool_result"),
    ]
    json_batch, protobuf_batch = decode_both("logs", logs_request(records))
    assert [row[E["event_name"]] for row in json_batch.events] == ["api_request", "from_field", "tool_result"]
    assert json_batch.events == protobuf_batch.events


def test_metric_attribute_aliases() -> None:
    points = [
        data_point(1.0, {"tool": "Bash", "decision_source": "hook", "decision": "reject"}),
        data_point(2.0, {"tool_name": "Edit", "source": "config", "decision": "accept", "language": "Go"}),
    ]
    json_batch, protobuf_batch = decode_both("metrics", metrics_request([sum_metric("claude_code.x", points)]))
    assert json_batch.points == protobuf_batch.points
    columns = ("tool_name", "decision", "decision_source", "language", "value")
    assert [[row[M[c]] for c in columns] for row in json_batch.points] == [
        ["Bash", "reject", "hook", "", 1.0],
        ["Edit", "accept", "config", "Go", 2.0],
    ]


def test_span_attribute_aliases() -> None:
    spans = [
        span("claude_code.llm_request", "ab" * 16, "01" * 8, **{"gen_ai.request.model": "m-1", "span.type": "llm"}),
        span("claude_code.llm_request", "ab" * 16, "02" * 8, "01" * 8, **{"model": "m-2", "gen_ai.request.model": "x"}),
    ]
    json_batch, protobuf_batch = decode_both("traces", traces_request(spans))
    assert json_batch.spans == protobuf_batch.spans
    rows = [[row[S[c]] for c in ("model", "span_type", "parent_span_id")] for row in json_batch.spans]
    assert rows == [["m-1", "llm", ""], ["m-2", "", "0101010101010101"]]


def test_nested_values_are_kept_as_json_text_and_too_deep_ones_dropped() -> None:
    deep: Any = "leaf"
    for _ in range(300):
        deep = [deep]
    nested = {"list": [1, "a", True], "map": {"k": 1.5}, "bytes": b"\x00\xff"}
    row = one_event(nested)
    assert extras(row, E) == {"list": '[1,"a",true]', "map": '{"k":1.5}', "bytes": "00ff"}
    # 300 levels fit orjson's parser (900 JSON levels) but not its serializer; protobuf refuses far fewer (upb's
    # depth limit, see test_hostile), so this one is JSON only.
    record = event("tool_result", "s", 0, deep=deep, kept="yes")
    (row,) = decode_request("logs", to_json(logs_request([record])), Encoding.JSON).events
    assert extras(row, E) == {"kept": "yes"}


def test_long_values_are_truncated_and_counted() -> None:
    record = event("tool_result", "s", 0, tool_name="T" * 40, note="n" * 40, short="s" * 30)
    batch = decode_request("logs", to_json(logs_request([record], {"service.name": "r" * 40})), Encoding.JSON, 30)
    (row,) = batch.events
    assert (row[E["event_name"]], row[E["tool_name"]], row[E["service_name"]]) == ("tool_result", "T" * 30, "r" * 30)
    assert extras(row, E)["note"] == "n" * 30
    assert extras(row, E)["short"] == "s" * 30
    assert batch.truncated_values == 3


def test_hostile_names_and_keys_are_cut_like_values() -> None:
    long = "k" * 100
    document = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": long, "value": {"stringValue": "r"}}]},
                "scopeLogs": [
                    {"logRecords": [{"eventName": long, "attributes": [{"key": long, "value": {"intValue": 1}}]}]}
                ],
            }
        ]
    }
    batch = decode_request("logs", orjson.dumps(document), Encoding.JSON, 10)
    row = batch.events[0]
    assert row[EVENTS.index["event_name"]] == "k" * 10
    assert row[EVENTS.index["attrs"]] == [("k" * 10, "1")]
    assert row[EVENTS.index["resource"]] == [("k" * 10, "r")]
    assert batch.truncated_values == 3
    metrics = {
        "resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": long, "histogram": {"dataPoints": [{}]}}]}]}]
    }
    rejected = SIGNALS["metrics"].decode(orjson.dumps(metrics), Encoding.JSON, 10)
    assert rejected.rejected == 1
    assert rejected.errors == [f"metric {long!r}: histogram metrics are not stored"]
