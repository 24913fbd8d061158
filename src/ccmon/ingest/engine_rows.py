"""Event and span rows built by ClickHouse from raw OTLP protobuf, with the Claude Code vocabulary rendered as SQL.

The writer concatenates the request bodies of a group commit (each preceded by its length) and runs one
`INSERT ... SELECT` over them: ClickHouse parses the protobuf (`ccmon.ingest.otlp_schema`), flattens resources,
scopes and records with `ARRAY JOIN`, and computes every column with the expressions below. Those are generated from
the same `Layout` declarations that build metric rows in Python (`ccmon.ingest.vocabulary`, `rows.py`): which keys
fill a column, in which order of preference, with which coercion (`ccmon.ingest.values`, each rule with its Python
and SQL reading), what goes to `attrs` and `resource`, identity, event name, timestamp repair and dedup keys. The
derived dimensions are `ccmon.store.dimensions`' SQL forms and `Attribution.column_sql`.

Last come what the ingest token pins and the privacy settings (`ccmon.ingest.privacy`), so nothing raw or forged is
written: the pins, which the writer appends to each request as a field only ccmon's schema knows
(`otlp_schema.pins_field`), replace the pinned columns and the same-named attributes in `attrs` and `resource`; the
content policy and secret redaction rewrite the content attributes and the error texts; with `hash_emails`, the
email columns and attributes become pseudonyms. The derived dimensions are computed before (the directory and the
email rules read the raw email).

Python renders what SQL cannot render alike: the receiver rewrites array and key-value-list values as their JSON text
(`ccmon.otlp.prepare`) before a request is queued, so the SQL readings only ever see scalars and bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ccmon.ingest import otlp_schema
from ccmon.ingest.attribution import Attribution
from ccmon.ingest.privacy import Privacy
from ccmon.ingest.rows import FUTURE_SLACK_NS, MIN_NS, ORIGINAL_TIME_KEY, PINNABLE
from ccmon.ingest.values import TEXT, Coercion
from ccmon.ingest.vocabulary import EVENT_PREFIX, EVENTS, PERSON_COLUMNS, SPANS, Column, Layout
from ccmon.store.content import CONTENT_COLUMNS
from ccmon.store.dimensions import project_sql, provider_sql, sql_literal

SOURCE = "{source}"
"""Where the rows come from; the store puts `file(...)` (embedded) or `input(...)` (a server) in its place."""


_ENCODINGS: dict[str, tuple[str, str]] = {
    # How each rule's value travels through the `best` map (a String per column) and back, exactly.
    "text": ("{}", "{}"),
    "float": ("reinterpretAsString({})", "reinterpretAsFloat64({})"),
    "int": ("reinterpretAsString({})", "reinterpretAsInt64({})"),
    "count": ("reinterpretAsString({})", "reinterpretAsUInt64({})"),
    "status": ("reinterpretAsString({})", "reinterpretAsInt32({})"),
    "bool": ("if({}, '1', '0')", "({} = '1')"),
}


def _encode(coercion: Coercion, value: str) -> str:
    """A typed rule's (nullable) value as the String that travels through the `best` map."""
    encode = _ENCODINGS[coercion.name][0]
    return f"if({value} IS NULL, NULL, {encode.format(f'assumeNotNull({value})')})"


@dataclass(frozen=True)
class _Slots:
    """The layout's attribute-filled columns as numbered slots (1..), and for each key its slot, its place in the
    column's order of preference and its rule: what lets one vectorized pass pick every column's value."""

    layout: Layout

    @property
    def columns(self) -> list[Column]:
        return [column for _, column in self.layout.keyed_columns]

    @property
    def coercions(self) -> list[Coercion]:
        return list({column.coerce.name: column.coerce for column in self.columns}.values())

    def keyed(self, resource: bool) -> tuple[str, str, str, str]:
        """SQL arrays: keys, slots, ranks (record keys first, then resource ones) and rule numbers."""
        keys, slots, ranks, kinds = [], [], [], []
        rules = [c.name for c in self.coercions]
        for slot, column in enumerate(self.columns, start=1):
            if resource and not column.resource_fallback:
                continue
            for rank, key in enumerate(column.keys):
                keys.append(sql_literal(key))
                slots.append(str(slot))
                ranks.append(str(rank + (100 if resource else 0)))
                kinds.append(str(rules.index(column.coerce.name) + 1))
        return _array(keys), _array(slots), _array(ranks), _array(kinds)

    def defaults(self) -> tuple[str, str]:
        """Per slot: whether the column has a default a value may equal, and that default encoded."""
        has, encoded = [], []
        for column in self.columns:
            if column.default is None:
                has.append("0")
                encoded.append("''")
            elif column.coerce is TEXT:
                has.append("1")
                encoded.append(_default_sql(column))
            else:
                has.append("1")
                typed = f"CAST({_default_sql(column)}, '{_SQL_TYPES[column.coerce.name]}')"
                encoded.append(_ENCODINGS[column.coerce.name][0].format(typed))
        return _array(has), _array(encoded)


def _array(items: Sequence[str]) -> str:
    return f"[{', '.join(items)}]"


_SQL_TYPES = {"float": "Float64", "int": "Int64", "count": "UInt64", "status": "Int32", "bool": "Bool"}


def _default_sql(column: Column) -> str:
    if column.default is None:
        return "NULL"
    if isinstance(column.default, str):
        return sql_literal(column.default)
    return str(column.default)


def _pairs_sql(keys: str, texts: str, mask: str, limit: int) -> tuple[str, str]:
    cut_keys = f"arrayMap(k -> substringUTF8(k, 1, {limit}), arrayFilter((k, m) -> m, {keys}, {mask}))"
    kept_texts = f"arrayMap(t -> assumeNotNull(t), arrayFilter((t, m) -> m, {texts}, {mask}))"
    return cut_keys, kept_texts


def _time_sql(candidates: Sequence[str]) -> str:
    """The first candidate in [2000-01-01, now + 1 day], else the time of receipt (`{now:Int64}`)."""
    branches = ", ".join(
        f"{c} >= {MIN_NS} AND {c} <= {{now:Int64}} + {FUTURE_SLACK_NS}, toInt64({c})" for c in candidates
    )
    return f"multiIf({branches}, {{now:Int64}})"


def _read(record: str, resource: str) -> list[str]:
    """The attributes of the record and of its resource, as keys and values, and the request's pins (the first
    layer). Of the pin sets a request holds, the last is the writer's: one a client sent comes before it."""
    pins = f"{otlp_schema.PINS_COLUMN}[-1].pins"
    return [
        f"arrayMap(kv -> kv.1, {record}.attributes) AS ak",
        f"arrayMap(kv -> kv.2, {record}.attributes) AS av",
        f"arrayMap(kv -> kv.1, {resource}.attributes) AS rk",
        f"arrayMap(kv -> kv.2, {resource}.attributes) AS rv",
        f"{record}.attributes AS record_attributes",
        f"{resource}.attributes AS resource_attributes",
        f"mapFromArrays(arrayMap(p -> p.1, {pins}), arrayMap(p -> p.2, {pins})) AS pins",
    ]


def _texts(body: str | None, limit: int) -> str:
    """Layer 2: every value's text (record attributes, resource attributes, body): one reading in the SQL."""
    values = f"arrayConcat(av, rv{', [' + body + ']' if body else ''})"
    return f"arrayMap(v -> {TEXT.sql('v', limit)}, {values}) AS texts"


def _split(body: bool) -> list[str]:
    """Layer 3: the texts split back into record, resource and body."""
    return [
        "arraySlice(texts, 1, length(av)) AS at",
        "arraySlice(texts, length(av) + 1, length(rv)) AS rt",
        *(["ifNull(texts[length(av) + length(rv) + 1], '') AS bt"] if body else []),
    ]


def _keys(slots: _Slots) -> list[str]:
    """Layer 2: each attribute's slot, rank and rule (0: no column claims it)."""
    keys, slot_ids, ranks, kinds = slots.keyed(resource=False)
    rkeys, rslot_ids, rranks, _ = slots.keyed(resource=True)
    return [
        f"arrayMap(k -> transform(k, {keys}, {slot_ids}, 0), ak) AS slots",
        f"arrayMap(k -> transform(k, {keys}, {ranks}, 0), ak) AS ranks",
        f"arrayMap(k -> transform(k, {keys}, {kinds}, 0), ak) AS kinds",
        f"arrayMap(k -> transform(k, {rkeys}, {rslot_ids}, 0), rk) AS rslots",
        f"arrayMap(k -> transform(k, {rkeys}, {rranks}, 0), rk) AS rranks",
    ]


def _claimed(slots: _Slots, limit: int) -> str:
    """Layer 4: the record attributes a column claims, as (position, slot, rank, value read by the column's rule and
    encoded as a String; NULL when the rule refuses it). Each rule reads only the attributes it is asked about."""
    parts = []
    for number, coercion in enumerate(slots.coercions, start=1):
        values = "at" if coercion is TEXT else "av"
        value = "x.4" if coercion is TEXT else _encode(coercion, coercion.sql("x.4", limit))
        parts.append(
            f"arrayMap(x -> (x.1, x.2, x.3, {value}), "
            f"arrayFilter(x -> x.5 = {number}, arrayZip(arrayEnumerate({values}), slots, ranks, {values}, kinds)))"
        )
    return f"arrayConcat({', '.join(parts)}) AS claimed"


_REFUSED = "arrayMap(x -> x.1, arrayFilter(x -> x.4 IS NULL, claimed)) AS refused"
"""Layer 5: the positions of the claimed attributes whose value the column's rule refused."""


def _best(slots: _Slots) -> list[str]:
    """Layer 6: per slot, the encoded value of the first key (record before resource) whose value is not the
    column's default; and which record attributes go to `attrs` (unclaimed, or refused by the rule)."""
    has_default, defaults = slots.defaults()
    candidates = (
        "arrayFilter(x -> x.3 IS NOT NULL AND NOT "
        f"({has_default}[x.1] = 1 AND assumeNotNull(x.3) = {defaults}[x.1]), "
        "arrayConcat(arrayMap(x -> (x.2, x.3, x.4), claimed), "
        "arrayFilter(x -> x.1 != 0, arrayZip(rslots, rranks, rt))))"
    )
    ordered = f"arraySort(x -> (x.1, x.2), {candidates})"
    return [
        f"arrayMap(x -> (x.1, assumeNotNull(x.3)), {ordered}) AS chosen",
        "arrayMap((i, t, kind) -> t IS NOT NULL AND (kind = 0 OR has(refused, i)), arrayEnumerate(at), at, kinds) "
        "AS kept",
    ]


_BEST = "mapFromArrays(arrayMap(x -> x.1, chosen), arrayMap(x -> x.2, chosen)) AS best"
"""Layer 7: the chosen values by slot (a map lookup returns the first entry of a slot: the preferred one)."""


def _columns(slots: _Slots) -> list[str]:
    """Layer 8: each attribute-filled column, decoded from its slot's chosen value, else its default."""
    out = []
    for slot, column in enumerate(slots.columns, start=1):
        decode = _ENCODINGS[column.coerce.name][1].format(f"best[{slot}]")
        default = _default_sql(column)
        if column.coerce is TEXT and column.default == "":
            out.append(f"best[{slot}] AS {column.name}")
        else:
            out.append(f"if(mapContains(best, {slot}), {decode}, {default}) AS {column.name}")
    return out


def _layered(layers: Sequence[Sequence[str]], source: str, final: Sequence[str]) -> str:
    """Nested SELECTs, each adding its columns to those of the one inside it, and passing on only the columns a
    later layer (or the final SELECT) names.

    ClickHouse's analyzer expands an alias wherever it is used, so a column built on a heavy alias of the same SELECT
    analyses that alias again at each use (several hundred ms per INSERT at first); a column of the SELECT below is
    just a column. Each layer builds only on the layers below it; and since every column a layer carries costs
    analysis too, it carries only those still needed."""
    sql = ""
    available: list[str] = []
    for number, layer in enumerate(layers):
        later = " ".join([*(e for rest in layers[number + 1 :] for e in rest), *final])
        needed = [name for name in available if re.search(rf"\b{name}\b", later)]
        columns = [*needed, *layer]
        sql = f"SELECT {', '.join(columns)} FROM " + (f"({sql})" if sql else source)
        available = [*needed, *(_alias(expression) for expression in layer)]
    return f"SELECT {', '.join(final)} FROM ({sql})"


def _alias(expression: str) -> str:
    return expression.rpartition(" AS ")[2].strip()


def _derived(attribution: Attribution) -> dict[str, str]:
    """The derived columns, over the row as the client sent it (the directory and email rules read the raw email)
    with its `attrs` and `resource` as they will be stored."""
    return {
        "project": project_sql(attribution.project_keys),
        "provider": provider_sql(),
        **{c: attribution.column_sql(c, c, "user_email") for c in ("team", "department", "cost_center")},
    }


_PSEUDONYM = "email_pseudonym"


def _attributed(attribution: Attribution, privacy: Privacy) -> list[str]:
    """Layer 10: the derived columns (as `derived_<name>`), and the email's pseudonym with `hash_emails`."""
    layer = [f"{sql} AS derived_{name}" for name, sql in _derived(attribution).items()]
    if privacy.hashing:
        layer.append(f"{privacy.email_sql('user_email')} AS {_PSEUDONYM}")
    return layer


def _final(layout: Layout, table: str, attribution: Attribution, privacy: Privacy) -> list[str]:
    """The stored columns, in layout order: derived, then pinned (a pin beats everything), then pseudonymised or
    redacted. Each expression reads only columns of the layer below whose names no other final column takes (an
    alias of the same SELECT would win over them)."""
    derived = _derived(attribution)
    columns = []
    for name in layout.names:
        value = f"derived_{name}" if name in derived else name
        if name in PINNABLE:
            value = f"if(mapContains(pins, {sql_literal(name)}), pins[{sql_literal(name)}], {value})"
        if privacy.hashing and name == "user_email":
            value = _PSEUDONYM
        if privacy.hashing and name == "person":
            value = f"if({_PSEUDONYM} != '', {_PSEUDONYM}, person)"
        if name in CONTENT_COLUMNS[table]:  # their secrets are always redacted
            value = privacy.redact_sql(value)
        columns.append(name if value == name else f"{value} AS {name}")
    return columns


def _stored_texts(layout: Layout, keys: str, texts: str, privacy: Privacy) -> str:
    """The texts of attribute pairs (`keys`, `texts`: SQL arrays) as `attrs` and `resource` keep them: the keys of
    a pinned column take the pin, then the privacy rules (`Privacy.attribute_branches`) apply."""
    pinned = [(key, column.name) for column in layout.columns if column.name in PINNABLE for key in column.keys]
    keys_of, columns_of = _array([sql_literal(k) for k, _ in pinned]), _array([sql_literal(c) for _, c in pinned])
    column = f"transform(k, {keys_of}, {columns_of}, '')"
    branches = [f"notEmpty(pins) AND mapContains(pins, {column})", f"pins[{column}]"]
    branches += privacy.attribute_branches("k", "t")
    return f"arrayMap((k, t) -> multiIf({', '.join(branches)}, t), {keys}, {texts})"


@dataclass(frozen=True)
class EngineRows:
    """The SQL that builds one table's rows from a stream of export requests, for given settings."""

    table: str
    signal: str
    structure: str
    select: str
    columns: tuple[str, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """Query parameters the SQL needs besides `{now:Int64}` (the pseudonyms' key)."""

    @property
    def sql(self) -> str:
        return f"INSERT INTO {self.table} ({', '.join(self.columns)}) {self.select}"

    @property
    def sql_without_suspects(self) -> str:
        """The INSERT leaving out rows whose key is among `ingest_suspects`: those stored just before a crash whose
        request's digest was not recorded (`ccmon.ingest.writer.BatchWriter.start`)."""
        return f"{self.sql} WHERE dedup_key NOT IN (SELECT dedup_key FROM ingest_suspects)"


def _person_sql() -> str:
    *first, last = PERSON_COLUMNS
    branches = ", ".join(f"{column} != '', {column}" for column in first)
    return f"multiIf({branches}, {last}) AS person"


@dataclass(frozen=True)
class _Signal:
    """What differs between the event and the span INSERT; the vocabulary layers between are the same."""

    table: str
    layout: Layout
    signal: str
    structure: str
    source: str
    record: str
    read: Sequence[str]
    """The record's own fields (layer 1)."""
    body: str | None
    timing: Sequence[str]
    """Layer 2, next to the texts: the record's time."""
    named: Sequence[str]
    """Layer 8, next to the attribute-filled columns."""
    last: Sequence[str]
    """Layer 9, next to `person` and `resource`: times, `attrs`, the dedup key."""


def _rows(spec: _Signal, attribution: Attribution, privacy: Privacy, limit: int) -> EngineRows:
    slots = _Slots(spec.layout)
    resource_keys, resource_texts = _pairs_sql("rk", "rt", "arrayMap(t -> t IS NOT NULL, rt)", limit)
    resource_texts = _stored_texts(spec.layout, resource_keys, resource_texts, privacy)
    layers = [
        [*_read(spec.record, "rl.resource"), *spec.read],
        [_texts(spec.body, limit), *_keys(slots), *spec.timing],
        _split(body=spec.body is not None),
        [_claimed(slots, limit)],
        [_REFUSED],
        _best(slots),
        [_BEST],
        [*_columns(slots), *spec.named],
        [_person_sql(), f"mapFromArrays({resource_keys}, {resource_texts}) AS resource", *spec.last],
        _attributed(attribution, privacy),
    ]
    select = _layered(layers, spec.source, _final(spec.layout, spec.table, attribution, privacy))
    return EngineRows(spec.table, spec.signal, spec.structure, select, spec.layout.names, privacy.parameters)


def events_sql(attribution: Attribution, limit: int, privacy: Privacy | None = None) -> EngineRows:
    privacy = privacy or Privacy()
    original = "ts_ns != toInt64(time_ns) AND time_ns != 0"
    keys, texts = _pairs_sql("ak", "at", "kept", limit)
    texts = _stored_texts(EVENTS, keys, texts, privacy)
    attrs = (
        f"mapFromArrays(arrayConcat({keys}, if({original}, [{sql_literal(ORIGINAL_TIME_KEY)}], [])), "
        f"arrayConcat({texts}, if({original}, [toString(time_ns)], [])))"
    )
    keyed = "session_id != '' AND event_sequence >= 0"
    identity = r"concat(session_id, '\x1f', toString(event_sequence), '\x1f', event_name, '\x1f', toString(time_ns))"
    content = (
        r"concat(toString(time_ns), '\x1f', toString(observed_ns), '\x1f', bt, '\x1f', "
        r"toString(record_attributes), '\x1f', toString(resource_attributes), '\x1f', event_name_field)"
    )
    spec = _Signal(
        table="events",
        layout=EVENTS,
        signal="logs",
        structure=otlp_schema.LOGS,
        source=f"{SOURCE} ARRAY JOIN resource_logs AS rl ARRAY JOIN rl.scope_logs AS sl "
        "ARRAY JOIN sl.log_records AS rec",
        record="rec",
        read=[
            "rec.body AS body_value",
            "rec.time_unix_nano AS time_ns",
            "rec.observed_time_unix_nano AS observed_ns",
            "rec.event_name AS event_name_field",
            "lower(hex(rec.trace_id)) AS trace_id",
            "lower(hex(rec.span_id)) AS span_id",
        ],
        body="body_value",
        timing=[_time_sql(["time_ns", "observed_ns"]) + " AS ts_ns"],
        named=[
            f"if(startsWith(bt, {sql_literal(EVENT_PREFIX)}), substring(bt, {len(EVENT_PREFIX) + 1}), "
            f"substringUTF8(event_name_field, 1, {limit})) AS event_name",
        ],
        last=[
            "fromUnixTimestamp64Nano(ts_ns, 'UTC') AS ts",
            "bt AS body",
            f"{attrs} AS attrs",
            f"if({keyed}, xxh3({identity}), xxh3({content})) AS dedup_key",
        ],
    )
    return _rows(spec, attribution, privacy, limit)


def spans_sql(attribution: Attribution, limit: int, privacy: Privacy | None = None) -> EngineRows:
    privacy = privacy or Privacy()
    keys, texts = _pairs_sql("ak", "at", "kept", limit)
    texts = _stored_texts(SPANS, keys, texts, privacy)
    spec = _Signal(
        table="spans",
        layout=SPANS,
        signal="traces",
        structure=otlp_schema.TRACES,
        source=f"{SOURCE} ARRAY JOIN resource_spans AS rl ARRAY JOIN rl.scope_spans AS sl ARRAY JOIN sl.spans AS s",
        record="s",
        read=[
            "lower(hex(s.trace_id)) AS trace_id",
            "lower(hex(s.span_id)) AS span_id",
            "lower(hex(s.parent_span_id)) AS parent_span_id",
            f"substringUTF8(s.name, 1, {limit}) AS name",
            "toUInt8(if(s.kind BETWEEN 0 AND 255, s.kind, 0)) AS kind",
            "toUInt8(if(s.status.code BETWEEN 0 AND 255, s.status.code, 0)) AS status_code",
            f"substringUTF8(s.status.message, 1, {limit}) AS status_message",
            _time_sql(["s.start_time_unix_nano"]) + " AS start_ns",
            "s.end_time_unix_nano AS end_ns",
        ],
        body=None,
        timing=[],
        named=[],
        last=[
            "fromUnixTimestamp64Nano(start_ns, 'UTC') AS start_ts",
            f"fromUnixTimestamp64Nano(greatest(start_ns, {_time_sql(['end_ns', 'start_ns'])}), 'UTC') AS end_ts",
            f"mapFromArrays({keys}, {texts}) AS attrs",
            r"xxh3(concat(trace_id, '\x1f', span_id)) AS dedup_key",
        ],
    )
    return _rows(spec, attribution, privacy, limit)
