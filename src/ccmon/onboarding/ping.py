"""`ccmon doctor`'s test signal: one OTLP log record sent exactly the way Claude Code would send its events with the
effective settings (protocol, endpoint, headers or `otelHeadersHelper`), and, when it fails, why, in the terms a
developer can act on (server down, wrong port, the wrong protocol for the port, a missing or refused token, TLS,
too slow).

The record is the event `ccmon.doctor.ping` with the attribute `ccmon.ping_id` (32 hex digits, random) and no user
or session attributes. ccmon's ingest recognises it: it keeps the ping id apart (so `GET /api/v1/client/ping/{id}`
can confirm it was stored) and writes no event row, so the test changes no dashboard number. Any other OTLP
collector stores or drops it like any unknown event.

Protocols (claude-code-telemetry.md §6.2): `grpc` calls `LogsService/Export` on the endpoint (`host:port`; TLS when
the scheme is https) with the headers as metadata, names lower-cased; `http/protobuf` and `http/json` POST the
request to `{endpoint}/v1/logs` (or the logs endpoint as it is), protobuf or OTLP/JSON. `otelHeadersHelper` applies
to the HTTP protocols only, as in Claude Code.
"""

from __future__ import annotations

import http.client
import json
import shlex
import ssl
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

from ccmon.onboarding.claude_files import otel_pairs

PING_EVENT = "ccmon.doctor.ping"
PING_ID_KEY = "ccmon.ping_id"
"""The names ccmon's ingest recognises (`ccmon.ingest.pings`; a test checks they agree)."""
PING_ID_LENGTH = 32
SERVICE_NAME = "ccmon-doctor"
PROTOCOLS = ("grpc", "http/protobuf", "http/json")
DEFAULT_ENDPOINTS = {"grpc": "http://localhost:4317", "http/protobuf": "http://localhost:4318"}
EXPORT_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
HELPER_TIMEOUT_S = 10.0
MAX_ANSWER_BYTES = 64 * 1024

# What went wrong, for the doctor's advice.
OK, REFUSED, PROTOCOL, UNAUTHORIZED, TLS, TIMEOUT, HELPER, CONFIG, REJECTED, ERROR = (
    "ok",
    "connection_refused",
    "protocol_mismatch",
    "unauthorized",
    "tls",
    "timeout",
    "headers_helper",
    "configuration",
    "rejected",
    "error",
)


@dataclass(frozen=True)
class PingTarget:
    """Where and how the logs exporter sends: the protocol, the URL (http: the full `/v1/logs` URL; grpc: the
    endpoint), and the headers."""

    protocol: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    resource: Mapping[str, str] = field(default_factory=dict)

    @property
    def token(self) -> str | None:
        """The bearer token among the headers (for asking the API whether the ping arrived)."""
        for name, value in self.headers.items():
            scheme, _, credential = value.strip().partition(" ")
            if name.lower() == "authorization" and scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
        return None


@dataclass(frozen=True)
class PingResult:
    kind: str
    """ok, or what went wrong: connection_refused, protocol_mismatch, unauthorized, tls, timeout, headers_helper,
    configuration, rejected, error."""
    message: str
    status: int | None = None
    """The HTTP status, or the gRPC status code's number."""

    @property
    def ok(self) -> bool:
        return self.kind == OK


def logs_protocol(get: Callable[[str], str | None]) -> str | None:
    return get("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL") or get("OTEL_EXPORTER_OTLP_PROTOCOL")


def logs_url(protocol: str, get: Callable[[str], str | None]) -> str:
    """Where the logs exporter sends: the logs endpoint as it is, else the endpoint (+ `/v1/logs` over HTTP), else
    the OpenTelemetry SDK's default."""
    specific = get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
    if specific:
        return specific.strip()
    base = get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_ENDPOINTS.get(protocol, DEFAULT_ENDPOINTS["http/protobuf"])
    base = base.strip()
    return base if protocol == "grpc" else f"{base.rstrip('/')}/v1/logs"


def static_headers(get: Callable[[str], str | None]) -> dict[str, str]:
    """The generic headers merged with the logs ones (which win)."""
    return otel_pairs(get("OTEL_EXPORTER_OTLP_HEADERS") or "") | otel_pairs(
        get("OTEL_EXPORTER_OTLP_LOGS_HEADERS") or ""
    )


def run_headers_helper(command: str, timeout_s: float = HELPER_TIMEOUT_S) -> dict[str, str] | str:
    """The headers `otelHeadersHelper` prints (a JSON object of strings), or why there are none."""
    try:
        # A shell command line, as Claude Code runs the setting.
        done = subprocess.run(
            command, shell=True, capture_output=True, timeout=timeout_s, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return f"otelHeadersHelper did not finish within {timeout_s:g} s"
    except OSError as exc:
        return f"otelHeadersHelper could not run: {exc}"
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()[:200]
        return f"otelHeadersHelper exited with status {done.returncode}" + (f": {err}" if err else "")
    try:
        headers = json.loads(done.stdout)
    except ValueError:
        return "otelHeadersHelper did not print a JSON object"
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return 'otelHeadersHelper must print a JSON object of strings, e.g. {"Authorization": "Bearer ..."}'
    return {str(k): v for k, v in headers.items()}


def target_from(get: Callable[[str], str | None], helper: str | None) -> PingTarget | PingResult:
    """The logs exporter Claude Code would build from these settings, or why it would build none."""
    protocol = logs_protocol(get)
    if protocol not in PROTOCOLS:
        shown = "not set" if protocol is None else repr(protocol)
        return PingResult(CONFIG, f"the logs protocol is {shown}: one of {', '.join(PROTOCOLS)} is needed")
    headers = static_headers(get)
    if helper and protocol != "grpc":
        fetched = run_headers_helper(helper)
        if isinstance(fetched, str):
            return PingResult(HELPER, fetched)
        headers |= fetched
    resource = otel_pairs(get("OTEL_RESOURCE_ATTRIBUTES") or "")
    return PingTarget(protocol, logs_url(protocol, get), headers, resource)


def ping_request(ping_id: str, resource: Mapping[str, str], now_ns: int | None = None) -> bytes:
    """The export request: one log record, the ping event with its id, under the given resource attributes."""
    now_ns = time.time_ns() if now_ns is None else now_ns

    def kv(key: str, value: str) -> common_pb2.KeyValue:
        return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=value))

    record = logs_pb2.LogRecord(
        time_unix_nano=now_ns,
        observed_time_unix_nano=now_ns,
        event_name=PING_EVENT,
        body=common_pb2.AnyValue(string_value=PING_EVENT),
        attributes=[kv("event.name", PING_EVENT), kv(PING_ID_KEY, ping_id)],
    )
    attributes = {**resource, "service.name": SERVICE_NAME}
    request = logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=resource_pb2.Resource(attributes=[kv(k, v) for k, v in attributes.items()]),
                scope_logs=[
                    logs_pb2.ScopeLogs(scope=common_pb2.InstrumentationScope(name="ccmon.doctor"), log_records=[record])
                ],
            )
        ]
    )
    return request.SerializeToString()


def send_ping(target: PingTarget, ping_id: str, timeout_s: float = 10.0) -> PingResult:
    """Send the ping to `target`; what happened."""
    body = ping_request(ping_id, target.resource)
    if target.protocol == "grpc":
        return _send_grpc(target, body, timeout_s)
    return _send_http(target, body, timeout_s)


# --- gRPC ------------------------------------------------------------------------------------------------------------


def _grpc_address(url: str) -> tuple[str, bool] | str:
    """`host:port` and whether to use TLS, or why the endpoint is not one."""
    parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in {"http", "https", "grpc", "grpcs"} or not parts.hostname:
        return f"{url!r} is not an endpoint such as http://ccmon.example:4317"
    try:
        port = parts.port or (443 if parts.scheme in {"https", "grpcs"} else 80)
    except ValueError:
        return f"{url!r} has an invalid port"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}", parts.scheme in {"https", "grpcs"}


def _send_grpc(target: PingTarget, body: bytes, timeout_s: float) -> PingResult:
    address = _grpc_address(target.url)
    if isinstance(address, str):
        return PingResult(CONFIG, address)
    host, secure = address
    metadata = tuple((name.lower(), value) for name, value in target.headers.items())
    options = [("grpc.enable_retries", 0), ("grpc.max_receive_message_length", MAX_ANSWER_BYTES)]
    channel = (
        grpc.secure_channel(host, grpc.ssl_channel_credentials(), options=options)
        if secure
        else grpc.insecure_channel(host, options=options)
    )
    try:
        export = channel.unary_unary(EXPORT_METHOD, request_serializer=None, response_deserializer=None)
        answer = export(body, timeout=timeout_s, metadata=metadata, wait_for_ready=False)
    except grpc.RpcError as exc:
        return _grpc_failure(exc, target.url, secure)
    except ValueError as exc:  # a header grpc refuses as metadata
        return PingResult(CONFIG, f"a header cannot be sent as gRPC metadata: {exc}")
    finally:
        channel.close()
    return _accepted(logs_service_pb2.ExportLogsServiceResponse.FromString(answer), target.url)


def _grpc_failure(exc: grpc.RpcError, url: str, secure: bool) -> PingResult:
    code: grpc.StatusCode = exc.code()
    details = str(exc.details() or "")
    number = code.value[0]
    lowered = details.lower()
    if code in {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}:
        return PingResult(UNAUTHORIZED, f"{url} refused the token (gRPC {code.name}: {details[:200]})", number)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return PingResult(TIMEOUT, f"{url} did not answer in time (is a firewall dropping the connection?)", number)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return PingResult(PROTOCOL, f"{url} answers gRPC but has no OTLP logs service (gRPC UNIMPLEMENTED)", number)
    if "refused" in lowered:
        return PingResult(REFUSED, f"connection refused at {url}: nothing listens there (server down or wrong port)")
    if "ssl" in lowered or "tls" in lowered or "handshake" in lowered or "certificate" in lowered:
        return PingResult(TLS, f"TLS failed with {url}: {details[:200]}", number)
    if "http1" in lowered or "http/1" in lowered or "bad_status" in lowered or "http2" in lowered:
        return PingResult(PROTOCOL, f"{url} is not a gRPC port: it answered HTTP/1 ({_short(details)})", number)
    if code == grpc.StatusCode.UNAVAILABLE and ("socket closed" in lowered or "connection reset" in lowered):
        hint = " (a TLS port spoken to without TLS?)" if not secure else ""
        return PingResult(PROTOCOL, f"{url} closed the gRPC connection{hint}: {_short(details)}", number)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return PingResult(REJECTED, f"{url} refused the ping: {_short(details)} (rate limit?)", number)
    kind = TIMEOUT if "timeout" in lowered or "timed out" in lowered else ERROR
    return PingResult(kind, f"gRPC {code.name} from {url}: {_short(details)}", number)


def _short(text: str) -> str:
    return " ".join(text.split())[:200]


# --- HTTP ------------------------------------------------------------------------------------------------------------


def _send_http(target: PingTarget, body: bytes, timeout_s: float) -> PingResult:
    parts = urllib.parse.urlsplit(target.url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return PingResult(CONFIG, f"{target.url!r} is not an endpoint such as http://ccmon.example:4318")
    try:
        port = parts.port
    except ValueError:
        return PingResult(CONFIG, f"{target.url!r} has an invalid port")
    content_type = "application/x-protobuf"
    if target.protocol == "http/json":
        content_type = "application/json"
        message = logs_service_pb2.ExportLogsServiceRequest.FromString(body)
        body = json_format.MessageToJson(message, indent=None).encode()
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout_s)
    else:
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout_s)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {**target.headers, "content-type": content_type, "user-agent": "ccmon-doctor"}
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        status, answer = response.status, response.read(MAX_ANSWER_BYTES)
    except ssl.SSLError as exc:
        return PingResult(TLS, f"TLS failed with {target.url}: {exc.reason or exc}")
    except ConnectionRefusedError:
        return PingResult(
            REFUSED, f"connection refused at {target.url}: nothing listens there (server down or wrong port)"
        )
    except TimeoutError:
        return PingResult(TIMEOUT, f"{target.url} did not answer within {timeout_s:g} s")
    except (http.client.BadStatusLine, http.client.RemoteDisconnected, ConnectionResetError) as exc:
        return PingResult(PROTOCOL, f"{target.url} did not answer HTTP/1.1 ({_http2_hint(exc)}): is it the gRPC port?")
    except (OSError, http.client.HTTPException) as exc:
        return PingResult(ERROR, f"cannot reach {target.url}: {exc}")
    finally:
        connection.close()
    return _http_answer(target, status, answer)


def _http2_hint(exc: Exception) -> str:
    text = str(exc)
    return "an HTTP/2 answer" if "\x00" in text or "@" in text else type(exc).__name__


def _http_answer(target: PingTarget, status: int, answer: bytes) -> PingResult:
    url = target.url
    detail = answer[:200].decode("utf-8", "replace").strip()
    if status == 200:
        try:
            if target.protocol == "http/json":
                response = json_format.Parse(answer or b"{}", logs_service_pb2.ExportLogsServiceResponse())
            else:
                response = logs_service_pb2.ExportLogsServiceResponse.FromString(answer)
        except (ValueError, json_format.ParseError, Exception):  # an OTLP server answers an ExportLogsServiceResponse
            return PingResult(PROTOCOL, f"{url} answered 200 but not as an OTLP receiver: is it the right URL?", 200)
        return _accepted(response, url)
    if status in {401, 403}:
        return PingResult(UNAUTHORIZED, f"{url} refused the token ({status}): {detail}", status)
    if status in {404, 405}:
        return PingResult(PROTOCOL, f"{url} has no OTLP logs receiver ({status}): wrong port or path?", status)
    if status == 415 or (status == 400 and "content" in detail.lower()):
        return PingResult(PROTOCOL, f"{url} does not take {target.protocol} ({status}): {detail}", status)
    if status == 429:
        return PingResult(REJECTED, f"{url} is rate limiting this token (429): try again shortly", status)
    return PingResult(ERROR, f"{url} answered {status}: {detail}", status)


def _accepted(response: logs_service_pb2.ExportLogsServiceResponse, url: str) -> PingResult:
    rejected = response.partial_success.rejected_log_records
    if rejected:
        message = response.partial_success.error_message
        return PingResult(REJECTED, f"{url} rejected the ping record: {message[:200]}")
    return PingResult(OK, f"{url} accepted the ping")


def describe(target: PingTarget) -> str:
    """The target in a line, headers masked."""
    names = ", ".join(sorted(shlex.quote(name) for name in target.headers)) or "none"
    return f"{target.protocol} to {target.url} (headers: {names})"


def advice(result: PingResult, protocol: str, port: int | None) -> str:
    """What to do about a failed ping; `port` is the server's OTLP port for the protocol, when known."""
    usual = port or (4317 if protocol == "grpc" else 4318)
    fixes = {
        REFUSED: f"start ccmon (`ccmon serve`), or point OTEL_EXPORTER_OTLP_ENDPOINT at its {protocol} port ({usual})",
        PROTOCOL: f"match the protocol to the port: {protocol} goes to port {usual}"
        + ("" if port else " (ccmon: gRPC 4317, HTTP 4318 by default)"),
        UNAUTHORIZED: "set OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer <ingest token>' with a valid ingest token "
        "(ask your ccmon admin: `ccmon tokens create`)",
        TLS: "use http:// for a server without TLS, or trust its certificate (NODE_EXTRA_CA_CERTS for HTTP, "
        "OTEL_EXPORTER_OTLP_CERTIFICATE for gRPC)",
        TIMEOUT: "check the host, and the firewall or proxy between this machine and ccmon",
        REJECTED: "read the message; if rate limited, try again shortly",
        CONFIG: "fix the endpoint and protocol settings",
        HELPER: "fix the otelHeadersHelper script: it must print a JSON object of header names and values",
    }
    return fixes.get(result.kind, "read the message, and the server's log")
