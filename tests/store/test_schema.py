from __future__ import annotations

import pytest

from ccmon.ingest.vocabulary import EVENTS, METRICS, SPANS, Layout
from ccmon.ingest.writer import TABLES
from ccmon.store.facade import Store, StoreError
from ccmon.store.migrations import MIGRATIONS

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


def test_invalid_database_names_are_refused() -> None:
    with pytest.raises(StoreError, match="letters, digits and underscores"):
        Store.open(data_dir="/nonexistent", database="x; DROP")
