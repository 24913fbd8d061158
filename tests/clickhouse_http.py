"""ClickHouse's HTTP interface, served from chDB in this process, for the tests.

No ClickHouse server can be installed where the tests run, yet the store must also be tested the way it talks to one:
through clickhouse-connect's HTTP client. This endpoint speaks enough of ClickHouse's HTTP interface for that client
(connecting, `command`, `query`, `insert`, `insert_arrow`, `raw_insert`, and `INSERT ... SELECT ... FROM input(...)`
with the data in the request body) and runs every statement in chDB, on the data folder the other in-process stores
of the test run use (chDB hosts one engine per process, bound to one folder).

How a request becomes a chDB call:

* The SQL comes from the `query` URL parameter, the request body, or both (ClickHouse reads the parameter, a newline,
  then the body); a multipart/form-data body carries `query` and `param_*` fields instead.
* `INSERT INTO t [(cols)] [SETTINGS ...] FORMAT X` followed by data: the data goes to a temporary file and the
  statement becomes `INSERT INTO t [(cols)] FROM INFILE '<file>' [SETTINGS ...] FORMAT X`.
* `INSERT ... SELECT ... FROM input('<structure>') ... FORMAT X` followed by data: the data goes to a temporary file,
  `input('<structure>')` becomes `file('<file>', 'X', '<structure>')` and the trailing `FORMAT X` goes.
* Every request runs on a chDB connection of its own: `USE <database>`, then one `SET` of the request's settings (every
  URL parameter the HTTP layer does not consume itself), then the statement with its `param_*` values bound by chDB.
  Nothing carries over between requests, sessions included (`session_id` is accepted and ignored).
* Output: the statement's own trailing `FORMAT`, else `default_format`, else TabSeparated; a statement that produces
  a result set is answered with `X-ClickHouse-Format`, as ClickHouse does. Bodies are never compressed; compressed
  request bodies (`Content-Encoding`) are decompressed.
* A failure is HTTP 500 with ClickHouse's `Code: N. DB::Exception: ...` text and `X-ClickHouse-Exception-Code: N`.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import gzip
import hashlib
import importlib
import json
import os
import re
import tempfile
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import chdb
from clickhouse_connect.driver import compression as cc_compression

_chdb_connect = cast(Callable[[str], Any], chdb.connect)  # untyped upstream

# URL parameters ClickHouse's HTTP layer consumes itself; every other one is a setting for the query.
TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "compress",
        "decompress",
        "wait_end_of_query",
        "buffer_size",
        "client_protocol_version",
        "enable_http_compression",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "quota_key",
        "role",
        "user",
        "password",
        "http_native_compression_disable_checksumming_on_decompress",
    }
)

_QUOTED = r"'(?:[^'\\]|\\.)*'"
_IDENT = r"(?:`(?:[^`\\]|\\.)*`|\"(?:[^\"\\]|\\.)*\"|[A-Za-z_][\w$]*)"
# `INSERT INTO t [(cols)] [SETTINGS ...] FORMAT X`, then the data after the blanks and one newline.
_DATA_INSERT = re.compile(
    rf"""\A(?P<head>\s*INSERT\s+INTO\s+(?:TABLE\s+)?(?:FUNCTION\s+\w+\s*\((?:[^()']|{_QUOTED})*\)|{_IDENT}(?:\.{_IDENT})?)
         \s*(?:\((?:[^()`'"]|`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*")*\))?)
        \s*(?P<settings>SETTINGS\s+(?:[^'`]|{_QUOTED})*?)?
        \s*FORMAT\s+(?P<format>\w+)(?P<query_end>)[ \t]*(?:\r?\n)?""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
# `INSERT ... input('<structure>') ... FORMAT X`, then the data after the blanks and one newline.
_INPUT_INSERT = re.compile(
    rf"""\A\s*INSERT\s+INTO\s(?:[^']|{_QUOTED})*?\binput\s*\(\s*{_QUOTED}\s*\)(?:[^']|{_QUOTED})*?
        \s+FORMAT\s+(?P<format>\w+)(?P<query_end>)[ \t]*(?:\r?\n)?""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_INPUT_CALL = re.compile(rf"\binput\s*\(\s*(?P<structure>{_QUOTED})\s*\)", re.IGNORECASE)
_TRAILING_FORMAT = re.compile(r"\s+FORMAT\s+(?P<format>\w+)\s*;?\s*\Z", re.IGNORECASE)
_ERROR_CODE = re.compile(r"Code: (\d+)\.")
_SETTING_NAME = re.compile(r"\A[A-Za-z_]\w*\Z")

MAX_URI_SIZE = 1 << 20
TEMP_PREFIX = "ccmon-clickhouse-http-"  # the request bodies chDB reads as files, deleted after each request
STD_EXCEPTION = 1001  # ClickHouse's code for an error outside the engine


class ClickHouseError(Exception):
    """An error to answer as ClickHouse would: its code and its `Code: N. DB::Exception: ...` text."""

    def __init__(self, message: str, code: int | None = None) -> None:
        start = message.find("Code: ")
        text = message[start:].strip() if start >= 0 else message.strip()
        found = _ERROR_CODE.match(text)
        if code is None:
            code = int(found.group(1)) if found else STD_EXCEPTION
        if not found:
            text = f"Code: {code}. DB::Exception: {text}"
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass
class Request:
    """One HTTP request, decoded: the SQL, any data for an INSERT, and what the URL asked for."""

    sql: str
    data: bytes | None = None
    data_format: str | None = None
    database: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    default_format: str | None = None
    query_id: str = ""


@dataclass
class Response:
    body: bytes
    result_format: str | None = None
    summary: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None


def quote_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def decompress(body: bytes, encoding: str | None) -> bytes:
    """A request body without its `Content-Encoding` (clickhouse-connect compresses inserts by default)."""
    encoding = (encoding or "").strip().lower()
    if not body or encoding in {"", "identity"}:
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "zstd":
        data: bytes = cc_compression._zstd_decompress(body)
        return data
    if encoding == "lz4":  # clickhouse-connect sends one LZ4 frame per block
        frames, rest = [], body
        while rest:
            decompressor = importlib.import_module("lz4.frame").LZ4FrameDecompressor()
            frames.append(decompressor.decompress(rest))
            rest = decompressor.unused_data if decompressor.eof else b""
        return b"".join(frames)
    if encoding == "br":
        unpacked: bytes = importlib.import_module("brotli").decompress(body)
        return unpacked
    raise ClickHouseError(f"Unknown Content-Encoding {encoding!r}", code=STD_EXCEPTION)


def split_statement(query_param: str | None, body: bytes) -> tuple[str, bytes | None, str | None]:
    """The SQL, the data after it (for an INSERT that reads data) and that data's format.

    ClickHouse reads the `query` parameter, a newline, then the body, and an INSERT's data starts after its `FORMAT X`,
    the blanks and one newline that follow.
    """
    if query_param is not None:
        inserting = _DATA_INSERT.match(query_param)
        if inserting and not query_param[inserting.end("query_end") :].strip():
            return query_param, body, inserting.group("format")
        trailing = _TRAILING_FORMAT.search(query_param)
        if trailing and _is_insert(query_param) and _INPUT_CALL.search(query_param):
            return query_param, body, trailing.group("format")
        if not body:
            return query_param, None, None
        return f"{query_param}\n{body.decode()}", None, None
    # The SQL is at the start of the body; an INSERT's data may follow it, and need not be text.
    head = body[:1_000_000].decode("latin-1")  # one character per byte, so offsets are byte offsets
    inserting = _DATA_INSERT.match(head) or _INPUT_INSERT.match(head)
    if inserting:
        return body[: inserting.end("query_end")].decode(), body[inserting.end() :], inserting.group("format")
    return body.decode(), None, None


def rewrite_insert(sql: str, data_path: str, data_format: str) -> str:
    """The INSERT reading its data from `data_path` instead of from the request body, as chDB can."""
    path = quote_string(data_path)
    if _INPUT_CALL.search(sql):
        without_format = _TRAILING_FORMAT.sub("", sql)
        return _INPUT_CALL.sub(
            lambda m: f"file({path}, {quote_string(data_format)}, {m.group('structure')})", without_format
        )
    inserting = _DATA_INSERT.match(sql)
    if not inserting:
        raise ClickHouseError(f"cannot find where the data of this INSERT starts: {sql[:200]}", code=62)
    settings = f" {inserting.group('settings').strip()}" if inserting.group("settings") else ""
    return f"{inserting.group('head')} FROM INFILE {path}{settings} FORMAT {inserting.group('format')}"


class ChdbEngine:
    """Runs decoded requests in chDB, each on a connection of its own, on one data folder."""

    def __init__(self, data_path: str | Path, temp_dir: str | Path | None = None) -> None:
        self.temp_dir = str(temp_dir) if temp_dir is not None else None
        # chDB compares engine paths literally; clickhouse-connect's chdb interface resolves them the same way.
        self.path = os.path.realpath(str(data_path))
        self._connect_lock = threading.Lock()
        self._anchor = self._connect()  # keeps the engine up between requests
        version, timezone = self._anchor.query("SELECT version(), timezone()", "TabSeparated").bytes().split(b"\t")
        self.version = version.decode()
        self.timezone = timezone.decode().strip()

    def _connect(self) -> Any:
        with self._connect_lock:
            return _chdb_connect(self.path)

    def _schema_file(self, schema: str) -> Path:
        """A file holding `schema`, under the data folder, written once per distinct schema."""
        folder = Path(self.path) / "clickhouse-http-schemas"
        folder.mkdir(exist_ok=True)
        path = folder / f"{hashlib.sha256(schema.encode()).hexdigest()[:16]}.proto"
        if not path.exists():
            fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w") as file:
                file.write(schema)
            os.replace(temporary, path)
        return path

    def _disconnect(self, connection: Any) -> None:
        with self._connect_lock:
            connection.close()

    def close(self) -> None:
        self._disconnect(self._anchor)

    def execute(self, request: Request) -> Response:
        data_file: str | None = None
        sql = request.sql
        if request.data is not None:
            fd, data_file = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".data", dir=self.temp_dir)
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(request.data)
            sql = rewrite_insert(sql, data_file, request.data_format or "TabSeparated")
        try:
            connection = self._connect()
            try:
                return self._run(connection, request, sql)
            finally:
                self._disconnect(connection)
        finally:
            if data_file:
                with contextlib.suppress(OSError):
                    os.unlink(data_file)

    def _run(self, connection: Any, request: Request, sql: str) -> Response:
        def query(text: str, fmt: str, params: dict[str, str] | None = None) -> Any:
            try:
                return connection.query(text, fmt, params=params or {})
            except Exception as exc:
                raise ClickHouseError(str(exc)) from exc

        if request.database:
            query(f"USE {quote_identifier(request.database)}", "TabSeparated")
        if request.settings.get("format_schema_source") == "string":
            # A server keeps a schema given as a string in its own format_schemas folder; chDB would put it in the
            # working directory. Hand the engine a file of ours instead.
            request.settings = dict(request.settings)
            schema = request.settings.pop("format_schema_source") and request.settings["format_schema"]
            request.settings["format_schema"] = str(self._schema_file(schema))
        if request.settings:
            for name in request.settings:
                if not _SETTING_NAME.match(name):
                    raise ClickHouseError(
                        f"Setting {name} is neither a builtin setting nor started with 'custom_'", 115
                    )
            query("SET " + ", ".join(f"{k} = {quote_string(v)}" for k, v in request.settings.items()), "TabSeparated")
        timezone = request.settings.get("session_timezone") or self.timezone
        if request.data is not None:
            result = query(sql, "TabSeparated", request.params)
            return Response(b"", summary=_summary(result, written=True), timezone=timezone)
        explicit = _TRAILING_FORMAT.search(sql)
        if explicit or request.default_format:
            fmt = explicit.group("format") if explicit else str(request.default_format)
            result = query(sql, fmt, request.params)
            return Response(result.bytes() or b"", fmt, _summary(result), timezone)
        # Only a statement that produces a result set prints a header line: that tells it from DDL and the like,
        # which ClickHouse answers without X-ClickHouse-Format.
        result = query(sql, "TabSeparatedWithNames", request.params)
        body = result.bytes() or b""
        if not body:
            return Response(b"", summary=_summary(result, written=_is_insert(sql)), timezone=timezone)
        newline = body.find(b"\n")
        return Response(body[newline + 1 :] if newline >= 0 else b"", "TabSeparated", _summary(result), timezone)


def _is_insert(sql: str) -> bool:
    return sql.lstrip().upper().startswith("INSERT")


def _summary(result: Any, *, written: bool = False) -> dict[str, str]:
    try:
        rows, size, elapsed = result.rows_read(), result.bytes_read(), result.elapsed()
    except Exception:
        return {}
    summary = {
        "read_rows": str(rows),
        "read_bytes": str(size),
        "written_rows": str(rows if written else 0),
        "written_bytes": str(size if written else 0),
        "total_rows_to_read": str(0 if written else rows),
        "result_rows": str(0 if written else rows),
        "result_bytes": str(0 if written else size),
        "elapsed_ns": str(int(elapsed * 1_000_000_000)),
    }
    return summary


_CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "JSON": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clickhouse-connect's connection pool expects
    server: ClickHouseHttpServer

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: failures reach the client as ClickHouse errors

    def handle_one_request(self) -> None:
        """The stdlib's, with ClickHouse's 1 MiB URL limit (`http_max_uri_size`) instead of 64 KiB.

        Settings ride in the URL, and a `.proto` schema in `format_schema` can be long.
        """
        try:
            self.raw_requestline = self.rfile.readline(MAX_URI_SIZE + 1)
            if len(self.raw_requestline) > MAX_URI_SIZE:
                self.requestline, self.request_version, self.command = "", "", ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return  # parse_request answered already
            if self.command not in {"GET", "POST", "HEAD"}:
                self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")
                return
            self._serve()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True

    def _serve(self) -> None:
        query_id = str(uuid.uuid4())
        try:
            body = self._read_body()
            url = urlsplit(self.path)
            if url.path.rstrip("/") == "/ping":
                self._reply(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
                return
            if url.path not in {"", "/"}:
                self._reply(404, b"There is no handle " + url.path.encode() + b"\n", {"Content-Type": "text/plain"})
                return
            request = self._decode(dict(parse_qsl(url.query, keep_blank_values=True)), body)
            if request is None:
                self._reply(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
                return
            query_id = request.query_id or query_id
            response = self.server.engine.execute(request)
        except ClickHouseError as error:
            self._fail(error, query_id)
            return
        except Exception as exc:
            self._fail(ClickHouseError(f"{type(exc).__name__}: {exc}", STD_EXCEPTION), query_id)
            return
        headers = {
            "Content-Type": _CONTENT_TYPES.get(response.result_format or "", "application/octet-stream"),
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Server-Display-Name": "chdb-http",
            "X-ClickHouse-Summary": json.dumps(response.summary, separators=(",", ":")),
        }
        if response.timezone:
            headers["X-ClickHouse-Timezone"] = response.timezone
        if response.result_format:
            headers["X-ClickHouse-Format"] = response.result_format
        self._reply(200, response.body, headers)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in {b"\r\n", b"\n", b""}:
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _decode(self, url_params: dict[str, str], body: bytes) -> Request | None:
        body = decompress(body, self.headers.get("Content-Encoding"))
        params = dict(url_params)
        content_type = self.headers.get("Content-Type", "")
        if content_type.lower().startswith("multipart/form-data"):
            params.update(_form_fields(content_type, body))
            body = b""
        query_param = params.get("query")
        if query_param is None and not body:
            return None
        sql, data, data_format = split_statement(query_param, body)
        return Request(
            sql=sql,
            data=data,
            data_format=data_format,
            database=params.get("database") or None,
            settings={k: v for k, v in params.items() if k not in TRANSPORT_PARAMS and not k.startswith("param_")},
            params={k.removeprefix("param_"): v for k, v in params.items() if k.startswith("param_")},
            default_format=params.get("default_format") or None,
            query_id=params.get("query_id", ""),
        )

    def _fail(self, error: ClickHouseError, query_id: str) -> None:
        text = error.text if "(version " in error.text else f"{error.text} (version {self.server.engine.version})"
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-ClickHouse-Exception-Code": str(error.code),
            "X-ClickHouse-Query-Id": query_id,
        }
        self._reply(500, f"{text}\n".encode(), headers)

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of a multipart/form-data body (clickhouse-connect sends long bound parameters this way)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_param("filename", header="content-disposition") is not None:
            raise ClickHouseError("external data (form files) is not supported by this test endpoint", 48)
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode()
    return fields


class ClickHouseHttpServer(ThreadingHTTPServer):
    """ClickHouse's HTTP interface on 127.0.0.1 and a free port, answered by chDB on `data_path`."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, data_path: str | Path, host: str = "127.0.0.1", port: int = 0, temp_dir: str | Path | None = None
    ) -> None:
        self.engine = ChdbEngine(data_path, temp_dir)
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ClickHouseHttpServer:
        self._thread = threading.Thread(target=self.serve_forever, name="clickhouse-http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()
        self.engine.close()


@contextlib.contextmanager
def serve(data_path: str | Path, temp_dir: str | Path | None = None) -> Iterator[ClickHouseHttpServer]:
    """Serve ClickHouse's HTTP interface from chDB on `data_path` until the block ends."""
    server = ClickHouseHttpServer(data_path, temp_dir=temp_dir).start()
    try:
        yield server
    finally:
        server.close()
