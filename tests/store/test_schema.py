from __future__ import annotations

import hashlib

import pytest

from ccmon.ingest.attribution import Attribution
from ccmon.ingest.engine_rows import events_sql, spans_sql
from ccmon.ingest.vocabulary import EVENTS, METRICS, SPANS, Layout
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


def test_the_engine_inserts_every_column_of_the_event_and_span_layouts() -> None:
    rows = [events_sql(Attribution(), 100), spans_sql(Attribution(), 100)]
    assert [(r.table, r.columns) for r in rows] == [("events", EVENTS.names), ("spans", SPANS.names)]


def test_migrations_are_applied_once(store: Store) -> None:
    assert store.migrate() == []
    assert store.schema_version() == max(m.version for m in MIGRATIONS)
    assert store.query("SELECT count() FROM schema_migrations")[0][0] == len(MIGRATIONS)


def test_invalid_database_names_are_refused() -> None:
    with pytest.raises(StoreError, match="letters, digits and underscores"):
        Store.open(data_dir="/nonexistent", database="x; DROP")


# The statements of released migrations, by digest: a store that applied one must never see it change (schema
# changes are new migrations). Building them from shared code (`store.rollups`) makes an accidental edit easy.
RELEASED = {
    1: "2f28a58ee62f0aff1565070287767556867a6c0c4ad368f460ea1291cce77632",
    2: "63df7032d88615cd8524d5a7afa86abea7f85b492225bfdb364cad27f5884ad0",
    3: "c28617e56f3a851300a411238747cccc668a864019108fefa7125283e21500d0",
}


@pytest.mark.parametrize("version", sorted(RELEASED))
def test_released_migrations_never_change(version: int) -> None:
    (migration,) = [m for m in MIGRATIONS if m.version == version]
    assert hashlib.sha256("\n".join(migration.statements).encode()).hexdigest() == RELEASED[version]
