from __future__ import annotations

import pytest

from ccmon.ingest.vocabulary import EVENTS, METRICS, SPANS, Layout
from ccmon.ingest.writer import TABLES, BatchWriter
from ccmon.otlp.signals import SIGNALS, Encoding
from ccmon.store.facade import Store, StoreError
from ccmon.store.migrations import MIGRATIONS
from tests.support import payloads

# How Arrow types must land in ClickHouse (LowCardinality and codecs are storage choices, not types).
_CLICKHOUSE_TYPE = {
    "string": "String",
    "timestamp[ns, tz=UTC]": "DateTime64(9, 'UTC')",
    "uint64": "UInt64",
    "int64": "Int64",
    "int32": "Int32",
    "uint8": "UInt8",
    "double": "Float64",
    "bool": "Bool",
    "map<string, string>": "Map(String, String)",
}


def _normalise(clickhouse_type: str) -> str:
    plain = clickhouse_type.replace("LowCardinality(String)", "String")
    return plain.removeprefix("Nullable(").removesuffix(")") if plain.startswith("Nullable(") else plain


@pytest.mark.parametrize(("table", "layout"), [("events", EVENTS), ("metric_points", METRICS), ("spans", SPANS)])
def test_tables_have_exactly_the_layout_columns(store: Store, table: str, layout: Layout) -> None:
    described = store.query(f"DESCRIBE TABLE {table}")
    columns = {row[0]: row[1] for row in described}
    assert set(columns) - set(layout.names) == {"ingested_at"}  # filled by ClickHouse at insert
    for column in layout.columns:
        ch_type = columns[column.name]
        assert _normalise(ch_type) == _CLICKHOUSE_TYPE[str(column.arrow_type)], column.name
        # Columns without a default may be missing from a record: they must be Nullable, and only they.
        assert ch_type.startswith("Nullable(") == (column.default is None and column.name not in {"attrs", "resource"})


def test_writer_tables_cover_every_layout() -> None:
    assert {t.layout for t in TABLES} == {EVENTS, METRICS, SPANS}


def test_migrations_are_applied_once(store: Store) -> None:
    assert store.migrate() == []
    assert store.schema_version() == max(m.version for m in MIGRATIONS)
    assert store.query("SELECT count() FROM schema_migrations")[0][0] == len(MIGRATIONS)


def test_rollups_equal_raw_rows(writer: BatchWriter) -> None:
    for run in ("writefile-http-json", "cumulative-http-json", "api-error-500"):
        for payload in payloads(run):
            encoding = Encoding.JSON if payload.is_json else Encoding.PROTOBUF
            writer.submit(SIGNALS[payload.signal].decode(payload.read(), encoding, 65536)).result(timeout=30)
    store = writer.store
    raw = store.query(
        "SELECT toStartOfHour(ts) AS hour, metric_name, type, team, person, model, round(sum(value), 9), count() "
        "FROM metric_points GROUP BY ALL ORDER BY ALL"
    )
    rolled = store.query(
        "SELECT hour, metric_name, type, team, person, model, round(sum(value), 9), sum(points) "
        "FROM metrics_hourly GROUP BY ALL ORDER BY ALL"
    )
    assert raw and raw == rolled
    raw_events = store.query(
        "SELECT toStartOfHour(ts) AS hour, event_name, team, person, model, count(), round(sum(cost_usd), 9), "
        "sum(input_tokens), sum(cache_read_tokens) FROM events GROUP BY ALL ORDER BY ALL"
    )
    rolled_events = store.query(
        "SELECT hour, event_name, team, person, model, sum(events), round(sum(cost_usd), 9), sum(input_tokens), "
        "sum(cache_read_tokens) FROM events_hourly GROUP BY ALL ORDER BY ALL"
    )
    assert raw_events and raw_events == rolled_events


def test_invalid_database_names_are_refused() -> None:
    with pytest.raises(StoreError, match="letters, digits and underscores"):
        Store.open(data_dir="/nonexistent", database="x; DROP")
