"""The test endpoint that serves ClickHouse's HTTP interface from chDB, driven through clickhouse-connect."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import clickhouse_connect
import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_connect.driver.summary import QuerySummary

from tests.clickhouse_http import ClickHouseHttpServer, serve, split_statement

Client = Any  # clickhouse_connect.driver.Client; untyped upstream


@pytest.fixture(scope="module")
def temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clickhouse-http-bodies")


@pytest.fixture(scope="module")
def endpoint(chdb_path: Path, temp_dir: Path) -> Iterator[ClickHouseHttpServer]:
    with serve(chdb_path, temp_dir=temp_dir) as server:
        yield server


@pytest.fixture
def client(endpoint: ClickHouseHttpServer) -> Iterator[Client]:
    """A client on a fresh database of its own."""
    database = f"http_{uuid.uuid4().hex[:12]}"
    bootstrap = clickhouse_connect.get_client(dsn=endpoint.url)
    bootstrap.command(f"CREATE DATABASE `{database}`")
    connected = clickhouse_connect.get_client(dsn=endpoint.url, database=database)
    try:
        yield connected
    finally:
        connected.close()
        bootstrap.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        bootstrap.close()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def test_connects_like_to_a_server(endpoint: ClickHouseHttpServer) -> None:
    connected = clickhouse_connect.get_client(dsn=endpoint.url, database="default")
    try:
        assert connected.ping()
        assert connected.server_version == endpoint.engine.version
        assert connected.command("SELECT currentDatabase()") == "default"
        assert connected.command("SELECT 1") == 1
    finally:
        connected.close()


def test_commands_return_values_or_summaries(client: Client) -> None:
    created = client.command("CREATE TABLE t (id UInt64, name String) ENGINE = MergeTree ORDER BY id")
    assert isinstance(created, QuerySummary)
    client.command("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
    assert client.command("SELECT count() FROM t") == 2
    assert client.command("SELECT id, name FROM t WHERE id = {id:UInt64}", parameters={"id": 2}) == ["2", "two"]
    assert client.command("SELECT name FROM t WHERE id > 5") == ""  # a result set, empty


def test_query_binds_parameters(client: Client) -> None:
    awkward = "it's\ta \\ back'slash\nand a newline"
    result = client.query(
        "SELECT {n:UInt32} + 1 AS n, {s:String} AS s, {a:Array(String)} AS a, {t:DateTime64(3, 'UTC')} AS t",
        parameters={"n": 41, "s": awkward, "a": ["x'y", "z"], "t": dt.datetime(2025, 1, 2, 3, 4, 5, 678000)},
    )
    assert result.column_names == ("n", "s", "a", "t")
    assert result.result_rows == [(42, awkward, ["x'y", "z"], dt.datetime(2025, 1, 2, 3, 4, 5, 678000))]


def test_long_parameters_travel_as_a_form(client: Client) -> None:
    """clickhouse-connect moves long bound parameters from the URL into a multipart/form-data body."""
    ids = list(range(5000))
    rows = client.query("SELECT count() FROM numbers(10000) WHERE number IN {ids:Array(UInt64)}", {"ids": ids})
    assert rows.result_rows == [(5000,)]


def test_settings_apply_to_their_request_only(client: Client) -> None:
    assert client.command("SELECT getSetting('max_threads')", settings={"max_threads": 3}) == 3
    assert client.command("SELECT getSetting('max_threads')") != 3
    tz = client.query("SELECT timezone()", settings={"session_timezone": "Asia/Tokyo"}).result_rows
    assert tz == [("Asia/Tokyo",)]


@pytest.mark.parametrize("compress", [True, False, "zstd", "gzip"])
def test_insert_arrow_round_trip(endpoint: ClickHouseHttpServer, client: Client, compress: bool | str) -> None:
    client.command(
        "CREATE TABLE events (id UInt64, name LowCardinality(String), ts DateTime64(3, 'UTC'), "
        "tags Array(String), note String DEFAULT 'none') ENGINE = MergeTree ORDER BY id"
    )
    writer = clickhouse_connect.get_client(dsn=endpoint.url, database=client.database, compress=compress)
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.uint64()),
            "name": ["a", "b", "a"],
            "ts": pa.array([1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002], pa.timestamp("ms", tz="UTC")),
            "tags": [["x"], [], ["y", "z"]],
        }
    )
    try:
        summary = writer.insert_arrow("events", table, settings={"optimize_on_insert": 0})
    finally:
        writer.close()
    assert summary.written_rows == 3
    rows = client.query("SELECT id, name, toUnixTimestamp64Milli(ts), tags, note FROM events ORDER BY id").result_rows
    assert rows == [
        (1, "a", 1_700_000_000_000, ["x"], "none"),
        (2, "b", 1_700_000_000_001, [], "none"),
        (3, "a", 1_700_000_000_002, ["y", "z"], "none"),
    ]


def test_insert_native_round_trip(client: Client) -> None:
    client.command("CREATE TABLE kv (k String, v Float64, at DateTime) ENGINE = MergeTree ORDER BY k")
    at = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
    client.insert("kv", [["a", 1.5, at], ["b", -2.0, at]], column_names=["k", "v", "at"])
    assert client.query("SELECT k, v, toUnixTimestamp(at) FROM kv ORDER BY k").result_rows == [
        ("a", 1.5, int(at.timestamp())),
        ("b", -2.0, int(at.timestamp())),
    ]


def test_errors_carry_clickhouse_s_code_and_message(client: Client) -> None:
    with pytest.raises(DatabaseError, match=r"Code: 47\. DB::Exception: Unknown expression identifier `nosuch`") as err:
        client.query("SELECT nosuch")
    assert err.value.code == 47
    with pytest.raises(DatabaseError, match=r"Code: 62\. DB::Exception: Syntax error") as err:
        client.command("SELEC 1")
    assert err.value.code == 62
    with pytest.raises(DatabaseError, match="UNKNOWN_TABLE"):
        client.insert_arrow("missing", pa.table({"x": [1]}))


def test_insert_select_from_input_reads_the_body(client: Client, temp_dir: Path) -> None:
    client.command("CREATE TABLE n (x UInt64, doubled UInt64) ENGINE = MergeTree ORDER BY x")
    client.command("INSERT INTO n (x, doubled) SELECT x, x * 2 FROM input('x UInt64') FORMAT TSV", data=b"1\n2\n3\n")
    assert client.query("SELECT x, doubled FROM n ORDER BY x").result_rows == [(1, 2), (2, 4), (3, 6)]
    assert not list(temp_dir.iterdir())  # the body's temporary file is gone


def test_insert_select_from_input_in_protobuf_with_a_schema_in_the_settings(client: Client) -> None:
    """The form the store uses for OTLP: length-delimited protobuf messages, their .proto text in the settings."""
    client.command("CREATE TABLE p (name String, value UInt64) ENGINE = MergeTree ORDER BY name")

    def message(name: str, value: int) -> bytes:
        encoded = name.encode()
        body = b"\x0a" + _varint(len(encoded)) + encoded + b"\x10" + _varint(value)
        return _varint(len(body)) + body

    schema = 'syntax = "proto3";\npackage t;\nmessage Row {\n  string name = 1;\n  uint64 value = 2;\n}\n'
    schema += "// a long schema: settings ride in the URL, which takes up to 1 MiB as in ClickHouse\n" * 2000
    client.command(
        "INSERT INTO p (name, value) SELECT upper(name), value + 1 FROM input('name String, value UInt64') "
        "FORMAT Protobuf",
        data=message("a", 1) + message("bb", 41),
        settings={"format_schema_source": "string", "format_schema": schema, "format_schema_message_name": "Row"},
    )
    assert client.query("SELECT name, value FROM p ORDER BY name").result_rows == [("A", 2), ("BB", 42)]


def test_raw_insert_with_the_statement_in_the_body(client: Client) -> None:
    client.command("CREATE TABLE r (a UInt8, b String) ENGINE = MergeTree ORDER BY a")
    client.raw_insert("r", ["a", "b"], b"1\tx\n2\ty\n", fmt="TabSeparated")
    client.raw_insert("r", None, "3,z\n", fmt="CSV", settings={"input_format_csv_empty_as_default": 1})
    assert client.query("SELECT a, b FROM r ORDER BY a").result_rows == [(1, "x"), (2, "y"), (3, "z")]


def test_each_client_stays_in_its_database(endpoint: ClickHouseHttpServer, client: Client) -> None:
    client.command("CREATE TABLE mine (x UInt8) ENGINE = Memory")
    other = clickhouse_connect.get_client(dsn=endpoint.url, database="default")
    try:
        assert other.command("EXISTS TABLE mine") == 0
        assert client.command("EXISTS TABLE mine") == 1
    finally:
        other.close()


def test_concurrent_clients(endpoint: ClickHouseHttpServer, client: Client) -> None:
    client.command("CREATE TABLE c (x UInt64) ENGINE = MergeTree ORDER BY x")
    local = threading.local()

    def work(i: int) -> int:
        if not hasattr(local, "client"):
            local.client = clickhouse_connect.get_client(dsn=endpoint.url, database=client.database)
        local.client.insert_arrow("c", pa.table({"x": pa.array([i], pa.uint64())}))
        return int(local.client.command("SELECT count() FROM c WHERE x = {x:UInt64}", parameters={"x": i}))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(work, range(64))) == [1] * 64
    assert client.command("SELECT count() FROM c") == 64


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        (None, b"SELECT 1", ("SELECT 1", None, None)),
        ("SELECT 1", b"", ("SELECT 1", None, None)),
        ("SELECT 1,", b" 2", ("SELECT 1,\n 2", None, None)),
        (
            None,
            b"INSERT INTO t (a, `b c`) FORMAT Native\n\x00\x01",
            ("INSERT INTO t (a, `b c`) FORMAT Native", b"\x00\x01", "Native"),
        ),
        (
            None,
            b"INSERT INTO db.t SETTINGS x = 'FORMAT y' FORMAT CSV\n1\n",
            ("INSERT INTO db.t SETTINGS x = 'FORMAT y' FORMAT CSV", b"1\n", "CSV"),
        ),
        ("INSERT INTO t (a) FORMAT Arrow", b"ARROW1", ("INSERT INTO t (a) FORMAT Arrow", b"ARROW1", "Arrow")),
        ("INSERT INTO t FORMAT TSV", b"", ("INSERT INTO t FORMAT TSV", b"", "TSV")),
        ("INSERT INTO t VALUES", b"(1)", ("INSERT INTO t VALUES\n(1)", None, None)),
        (
            "INSERT INTO t (a) SELECT a FROM input('a UInt8') FORMAT RowBinary",
            b"\x01",
            ("INSERT INTO t (a) SELECT a FROM input('a UInt8') FORMAT RowBinary", b"\x01", "RowBinary"),
        ),
        (
            None,
            b"INSERT INTO t SELECT * FROM input('a String') FORMAT TSV\nFORMAT x\n",
            ("INSERT INTO t SELECT * FROM input('a String') FORMAT TSV", b"FORMAT x\n", "TSV"),
        ),
    ],
)
def test_split_statement(query: str | None, body: bytes, expected: tuple[str, bytes | None, str | None]) -> None:
    assert split_statement(query, body) == expected
