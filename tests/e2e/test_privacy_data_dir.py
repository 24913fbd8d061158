"""With `hash_emails`, no raw email address reaches the data folder: not a table, not a staging file, not a log line.

`ccmon serve` runs as a child process with `--hash-emails true` (its secret generated and kept in the store). Every
captured Claude Code payload of `tests/fixtures` (logs, metrics and traces; OTLP/HTTP JSON and protobuf, and gRPC) is
sent with a person's address added to its resource and to every record, span and data point. After the server has
stopped, the address is looked for (ignoring case):

- in every file under the data folder, as raw bytes and, since ClickHouse compresses column files (LZ4, ZSTD) and a
  grep of those could miss text, in every compressed block of every file decompressed;
- in every row of every table of every database, through SQL (whatever the codecs), in a child process that opens
  the stopped server's folder;
- in the server's log output.

Positive controls keep the search honest: the fixtures' session id is found in the decompressed blocks, and the
address's pseudonym in the tables.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import lz4.block  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support import Payload, ccmon_env, fixture_runs, make_config, payloads, subprocess_server

try:
    from compression import zstd  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # before Python 3.14; a dependency of clickhouse-connect
    from backports import zstd  # type: ignore[no-redef,unused-ignore]

EMAIL = "Privacy.Probe+e2e@Example-Corp.test"
NEEDLE = b"privacy.probe"
"""What is searched for, lower-cased: the address's local part (the pseudonym shares nothing with it)."""
FIXTURE_SESSION = b"5d77c5cb-e7b6-4a18-a97d-3981fbdeac79"  # writefile-http-json's session id
REQUESTS: dict[str, Any] = {
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "traces": ExportTraceServiceRequest,
}
METHODS = {
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
}
_ITEMS = ("logRecords", "spans", "dataPoints", "log_records", "data_points")


# --- the payloads, with a person -------------------------------------------------------------------------------------


def _with_email_json(node: Any) -> Any:
    """An OTLP/JSON document with `user.email` added to every resource, record, span and data point."""
    if isinstance(node, dict):
        out = {key: _with_email_json(value) for key, value in node.items()}
        if "resource" in out:
            out["resource"].setdefault("attributes", []).append(_email_kv())
        for key in _ITEMS:
            for item in out.get(key, []):
                item.setdefault("attributes", []).append(_email_kv())
        return out
    if isinstance(node, list):
        return [_with_email_json(value) for value in node]
    return node


def _email_kv() -> dict[str, Any]:
    return {"key": "user.email", "value": {"stringValue": EMAIL}}


def _with_email_protobuf(signal: str, data: bytes) -> bytes:
    request = REQUESTS[signal].FromString(data)
    for resource, items in _protobuf_items(signal, request):
        _add_email(resource.attributes)
        for item in items:
            _add_email(item.attributes)
    body: bytes = request.SerializeToString()
    return body


def _protobuf_items(signal: str, request: Any) -> Iterator[tuple[Any, list[Any]]]:
    if signal == "logs":
        for resource_logs in request.resource_logs:
            yield resource_logs.resource, [r for s in resource_logs.scope_logs for r in s.log_records]
    elif signal == "traces":
        for resource_spans in request.resource_spans:
            yield resource_spans.resource, [r for s in resource_spans.scope_spans for r in s.spans]
    else:
        for resource_metrics in request.resource_metrics:
            points = []
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    kind = metric.WhichOneof("data")
                    points += list(getattr(metric, kind).data_points) if kind else []
            yield resource_metrics.resource, points


def _add_email(attributes: Any) -> None:
    added = attributes.add()
    added.key = "user.email"
    added.value.string_value = EMAIL


def _body(payload: Payload) -> bytes:
    if payload.is_json:
        return json.dumps(_with_email_json(json.loads(payload.read()))).encode()
    return _with_email_protobuf(payload.signal, payload.read())


# --- looking for the address -----------------------------------------------------------------------------------------

_HEADER = struct.Struct("<BII")  # after a 16-byte checksum: method, compressed size (with this header), plain size
_LZ4, _ZSTD, _NONE = 0x82, 0x90, 0x02


def _blocks(data: bytes) -> Iterator[bytes]:
    """The decompressed blocks of a ClickHouse compressed file (column data, compressed marks and index), as far as
    the file reads as one; other codecs' blocks (Delta, ...: numbers, not text) are skipped."""
    offset = 0
    while offset + 16 + _HEADER.size <= len(data):
        method, size, plain = _HEADER.unpack_from(data, offset + 16)
        end = offset + 16 + size
        if size < _HEADER.size or end > len(data) or plain > 1 << 31:
            return
        payload = data[offset + 16 + _HEADER.size : end]
        try:
            if method == _LZ4:
                yield lz4.block.decompress(payload, uncompressed_size=plain)
            elif method == _ZSTD:
                yield zstd.decompress(payload)
            elif method == _NONE:
                yield payload
        except Exception:  # not a compressed file after all
            return
        offset = end


def _search_files(folder: Path, needle: bytes) -> tuple[list[str], int]:
    """The files holding `needle` (ignoring case), raw or in a decompressed block; and how many blocks were read."""
    found, blocks = [], 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if needle in data.lower():
            found.append(str(path.relative_to(folder)))
            continue
        for block in _blocks(data):
            blocks += 1
            if needle in block.lower():
                found.append(f"{path.relative_to(folder)} (compressed)")
                break
    return found, blocks


_COUNT_EVERYWHERE = """
import json, sys
from ccmon.store.facade import Store
store = Store.open(data_dir=sys.argv[1], database="ccmon")
tables = store.query(
    "SELECT database, name FROM system.tables WHERE database NOT IN ('INFORMATION_SCHEMA', 'information_schema') "
    "AND (engine LIKE '%MergeTree%' OR engine IN ('Log', 'TinyLog', 'StripeLog', 'Memory'))"
)
counts = {}
for database, name in tables:
    sql = (
        f"SELECT countIf(positionCaseInsensitive(toString(tuple(*)), {{needle:String}}) > 0), "
        f"countIf(position(toString(tuple(*)), {{pseudonym:String}}) > 0), count() FROM `{database}`.`{name}`"
    )
    counts[f"{database}.{name}"] = list(store.query(sql, {"needle": sys.argv[2], "pseudonym": sys.argv[3]})[0])
secret = store.query("SELECT value FROM ccmon.server_secrets WHERE name = 'email_pseudonyms'")
print(json.dumps({"counts": counts, "secret": secret[0][0] if secret else None}))
store.close()
"""


def _count_everywhere(data_dir: Path, pseudonym_of: Any) -> tuple[dict[str, list[int]], str]:
    """Per table of every database: rows holding the address, rows holding its pseudonym, all rows."""
    first = _run_counter(data_dir, "-")
    secret = first["secret"]
    assert secret, "the server kept no pseudonym secret in the store"
    expected = pseudonym_of(bytes.fromhex(secret), EMAIL)
    return _run_counter(data_dir, expected)["counts"], expected


def _run_counter(data_dir: Path, pseudonym: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_EVERYWHERE, str(data_dir), NEEDLE.decode(), pseudonym],
        capture_output=True,
        text=True,
        timeout=300,
        env=ccmon_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the test --------------------------------------------------------------------------------------------------------


def test_no_raw_email_reaches_the_data_folder_or_the_log(tmp_path: Path) -> None:
    from ccmon.directory.pseudonyms import pseudonym

    data_dir = tmp_path / "data"
    log_path = tmp_path / "server.log"
    config = make_config(data_dir)
    sent = 0
    with (
        subprocess_server(config, log_path, "--hash-emails", "true", "--log-level", "debug") as (server, _),
        httpx.Client(timeout=30) as http,
        grpc.insecure_channel(server.otlp_grpc_target) as channel,
    ):
        for run in fixture_runs():
            for payload in payloads(run):
                body = _body(payload)
                assert NEEDLE in body.lower()
                if payload.transport == "grpc":
                    channel.unary_unary(METHODS[payload.signal])(body, timeout=30)
                else:
                    url = f"{server.otlp_http_url}/v1/{payload.signal}"
                    response = http.post(url, content=body, headers={"content-type": payload.content_type})
                    assert response.status_code == 200, response.text
                sent += 1
    assert sent >= 15

    found, blocks = _search_files(data_dir, NEEDLE)
    assert found == []
    assert blocks > 100
    assert _search_files(data_dir, FIXTURE_SESSION)[0], "the search finds nothing at all: it proves nothing"

    log = log_path.read_bytes()
    assert b"ccmon listening" in log
    assert NEEDLE not in log.lower()

    counts, expected = _count_everywhere(data_dir, pseudonym)
    holding = {table: c for table, c in counts.items() if c[0]}
    assert holding == {}
    for table in ("ccmon.events", "ccmon.metric_points", "ccmon.spans", "ccmon.events_by_day_and_person"):
        with_pseudonym, total = counts[table][1], counts[table][2]
        assert total > 0 and with_pseudonym == total, (table, counts[table], expected)
