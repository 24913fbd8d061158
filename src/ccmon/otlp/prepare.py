"""Logs and traces requests made ready for the engine: validated, counted and, where needed, rewritten.

The engine builds event and span rows from the protobuf bytes (`ccmon.ingest.engine_rows`); what Python still does
per request is cheap and done here, before the request is queued:

- validate it, so a malformed request is refused alone with a clear message and never fails a group commit. It is
  parsed (by upb, in C) with a copy of the OTLP messages whose AnyValue knows only scalars and bytes: array and
  key-value-list values stay unparsed, as unknown fields;
- find those: a request that shrinks when its unknown fields are discarded holds one (or something else this copy
  does not know). Only then is it parsed with the full messages (which checks their nesting and text too) and
  rewritten with each such value as its JSON text (`to_text`), which the SQL readings take like any string;
- count its records, the times the engine will replace by the time of receipt, and (in records long enough to hold
  one) the strings it will cut, for the counters;
- take out `ccmon doctor`'s test records (`ccmon.ingest.pings`): their ids are kept apart, they become no event row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from ccmon.ingest.pings import MAX_PINGS_PER_REQUEST, PING_EVENT, ping_id_of
from ccmon.ingest.rows import FUTURE_SLACK_NS, MIN_NS
from ccmon.ingest.values import to_text
from ccmon.otlp.errors import MalformedRequest

_FULL: dict[str, Any] = {
    "logs": logs_service_pb2.ExportLogsServiceRequest,
    "traces": trace_service_pb2.ExportTraceServiceRequest,
}
_NESTED_FIELDS = ("array_value", "kvlist_value")


def _scalar_pool() -> descriptor_pool.DescriptorPool:
    """The OTLP logs and trace files, with AnyValue's array and key-value-list members removed (same names, so a
    parse error reads exactly as the full messages' would)."""
    pool = descriptor_pool.DescriptorPool()
    seen: set[str] = set()

    def add(file: Any) -> None:
        for dependency in file.dependencies:
            add(dependency)
        if file.name in seen:
            return
        seen.add(file.name)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        for message in proto.message_type:
            if message.name == "AnyValue":
                kept = [f for f in message.field if f.name not in _NESTED_FIELDS]
                del message.field[:]
                message.field.extend(kept)
        pool.Add(proto)

    for request in _FULL.values():
        add(request.DESCRIPTOR.file)
    return pool


_POOL = _scalar_pool()
_SCALAR = {
    signal: message_factory.GetMessageClass(_POOL.FindMessageTypeByName(request.DESCRIPTOR.full_name))
    for signal, request in _FULL.items()
}


@dataclass(frozen=True)
class Prepared:
    body: bytes
    records: int
    repaired_times: int
    truncated_values: int
    pings: tuple[str, ...] = ()
    """The ids of the doctor's test records taken out of the request."""


def parse(message_type: Any, data: bytes) -> Any:
    """A request parsed by upb, or `MalformedRequest` with upb's own words for what is wrong."""
    try:
        return message_type.FromString(data)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise MalformedRequest(f"invalid protobuf {message_type.DESCRIPTOR.name}: {exc}") from None


def prepare(signal: str, data: bytes, max_value_length: int, now_ns: int) -> Prepared:
    """A logs or traces request as the engine will read it; raises `MalformedRequest`."""
    try:
        request = _SCALAR[signal].FromString(data)
    except (DecodeError, RecursionError, ValueError):
        parse(_FULL[signal], data)  # the full messages' own words for what is wrong
        raise MalformedRequest(f"invalid protobuf {_FULL[signal].DESCRIPTOR.name}") from None
    request.DiscardUnknownFields()
    body = data
    pings: tuple[str, ...] = ()
    if signal == "logs" and _PING_BYTES in data and any(_is_ping(r) for _, rs in _records(signal, request) for r in rs):
        full = parse(_FULL[signal], data)
        pings = _take_pings(full)
        _render_nested(signal, full)
        body = full.SerializeToString()
        request = _SCALAR[signal].FromString(body)
    elif request.ByteSize() != len(data):
        full = parse(_FULL[signal], data)
        if _render_nested(signal, full):
            body = full.SerializeToString()
    records, repaired = _count(signal, request, now_ns)
    truncated = _count_long(signal, request, max_value_length) if len(data) > max_value_length else 0
    return Prepared(body, records, repaired, truncated, pings)


_PING_BYTES = PING_EVENT.encode()


def _is_ping(record: Any) -> bool:
    return bool(record.event_name == PING_EVENT or (not record.event_name and record.body.string_value == PING_EVENT))


def _take_pings(request: Any) -> tuple[str, ...]:
    """Remove the ping records from a logs request; their well-formed ids (a few at most)."""
    found: list[str] = []
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            if not any(_is_ping(record) for record in scope_logs.log_records):
                continue
            kept = []
            for record in scope_logs.log_records:
                if not _is_ping(record):
                    kept.append(record)
                elif (ping_id := ping_id_of(record.attributes)) and len(found) < MAX_PINGS_PER_REQUEST:
                    found.append(ping_id)
            copies = [type(record)() for record in kept]
            for copy, record in zip(copies, kept, strict=True):
                copy.CopyFrom(record)
            del scope_logs.log_records[:]
            scope_logs.log_records.extend(copies)
    return tuple(dict.fromkeys(found))


def _records(signal: str, request: Any) -> Any:
    if signal == "logs":
        for resource_logs in request.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                yield resource_logs.resource, scope_logs.log_records
    else:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                yield resource_spans.resource, scope_spans.spans


def _count(signal: str, request: Any, now_ns: int) -> tuple[int, int]:
    """Records, and those whose times all lie outside [2000-01-01, now + 1 day] (as the engine's `_time_sql`)."""
    latest = now_ns + FUTURE_SLACK_NS
    records = repaired = 0
    for _, items in _records(signal, request):
        records += len(items)
        for item in items:
            if signal == "logs":
                if not (MIN_NS <= item.time_unix_nano <= latest or MIN_NS <= item.observed_time_unix_nano <= latest):
                    repaired += 1
            elif not MIN_NS <= item.start_time_unix_nano <= latest:
                repaired += 1
    return records, repaired


def _count_long(signal: str, request: Any, limit: int) -> int:
    """The keys and strings the engine will cut at `limit` characters. Only a message of more than `limit` bytes
    can hold one, so the others are not walked."""
    resources = request.resource_logs if signal == "logs" else request.resource_spans
    long = sum(
        _long_attributes(items.resource.attributes, limit) for items in resources if items.resource.ByteSize() > limit
    )
    for _, records in _records(signal, request):
        for item in records:
            if item.ByteSize() <= limit:
                continue
            long += _long_attributes(item.attributes, limit)
            texts = (item.body.string_value, item.event_name) if signal == "logs" else (item.name, item.status.message)
            long += sum(len(text) > limit for text in texts)
    return long


def _long_attributes(attributes: Any, limit: int) -> int:
    return sum((len(kv.key) > limit) + (len(kv.value.string_value) > limit) for kv in attributes)


def _render_nested(signal: str, request: Any) -> bool:
    """Replace each array and key-value-list value by its JSON text; True when there was one."""
    changed = False
    for resource, items in _records(signal, request):
        changed |= _render_values(resource.attributes)
        for item in items:
            changed |= _render_values(item.attributes)
            if signal == "logs":
                changed |= _render(item.body)
    return changed


def _render_values(attributes: Any) -> bool:
    changed = False
    for kv in attributes:
        changed |= _render(kv.value)
    return changed


def _render(value: Any) -> bool:
    if value.WhichOneof("value") not in _NESTED_FIELDS:
        return False
    text = to_text(plain_value(value))
    if text is None:
        value.Clear()
    else:
        value.string_value = text
    return True


def plain_value(any_value: Any) -> object:
    """A protobuf AnyValue as a plain Python value (None when unset)."""
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [plain_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: plain_value(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return bytes(any_value.bytes_value)
    return getattr(any_value, kind) if kind else None
