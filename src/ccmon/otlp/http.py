"""OTLP/HTTP receiver: `POST /v1/logs`, `/v1/metrics` and `/v1/traces`, protobuf or JSON, optionally gzipped.

Answers follow the OTLP/HTTP spec: 200 with an Export*ServiceResponse (with `partial_success` when items were
rejected) in the request's encoding; errors carry a `google.rpc.Status` in the same encoding: 400 malformed, 401 no
or wrong token, 413 too large, 415 unknown content type or encoding, 429 queue full or the token's rate limit spent
and 503 store unavailable, both with `Retry-After` so exporters back off and retry.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

import orjson
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ccmon.ingest.writer import CommitFailed, QueueFull, WriterClosed
from ccmon.otlp.errors import MalformedRequest, RequestTooLarge
from ccmon.otlp.receiver import RETRY_AFTER_S, RateLimited, Receiver
from ccmon.otlp.signals import SIGNALS, Encoding, Signal

log = logging.getLogger(__name__)

_RESPONSES: dict[str, Any] = {
    "logs": ExportLogsServiceResponse,
    "metrics": ExportMetricsServiceResponse,
    "traces": ExportTraceServiceResponse,
}
_CONTENT_TYPES = {
    "application/x-protobuf": Encoding.PROTOBUF,
    "application/protobuf": Encoding.PROTOBUF,
    "application/json": Encoding.JSON,
}
_MEDIA = {Encoding.PROTOBUF: "application/x-protobuf", Encoding.JSON: "application/json"}
# gRPC status codes carried in google.rpc.Status bodies.
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _UNAUTHENTICATED, _UNAVAILABLE, _UNIMPLEMENTED = 3, 8, 16, 14, 12


def decompress(data: bytes, content_encoding: str, limit: int) -> bytes:
    """Undo `Content-Encoding`, never producing more than `limit` bytes (a gzip bomb costs nothing)."""
    encoding = content_encoding.strip().lower()
    if encoding in {"", "identity"}:
        if len(data) > limit:
            raise RequestTooLarge(f"body of {len(data)} bytes exceeds the {limit}-byte limit")
        return data
    if encoding not in {"gzip", "deflate"}:
        raise _UnsupportedMedia(f"unsupported Content-Encoding {content_encoding!r} (use gzip or none)")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    out = bytearray()
    remaining = data
    try:
        while remaining:
            inflater = zlib.decompressobj(wbits)
            out += inflater.decompress(remaining, limit + 1 - len(out))
            if len(out) > limit or inflater.unconsumed_tail:
                raise RequestTooLarge(f"body exceeds the {limit}-byte limit once decompressed")
            if not inflater.eof:
                raise MalformedRequest(f"truncated {encoding} body")
            remaining = inflater.unused_data  # gzip allows several members back to back
    except zlib.error as exc:
        raise MalformedRequest(f"invalid {encoding} body: {exc}") from None
    return bytes(out)


class _UnsupportedMedia(ValueError):
    pass


class OtlpHttpApp:
    """The ASGI application listening on the OTLP/HTTP port."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        response = await self._handle(Request(scope, receive))
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        path = request.url.path.rstrip("/")
        signal = SIGNALS.get(path.removeprefix("/v1/")) if path.startswith("/v1/") else None
        if signal is None:
            return _status(
                404,
                _UNIMPLEMENTED,
                f"no OTLP endpoint at {path!r}; use /v1/logs, /v1/metrics or /v1/traces",
                Encoding.JSON,
            )
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        encoding = _CONTENT_TYPES.get(media)
        reply_encoding = encoding or Encoding.JSON
        if request.method != "POST":
            return _status(405, _UNIMPLEMENTED, "OTLP export requests are POSTs", reply_encoding, {"Allow": "POST"})
        outcome_label = "error"
        try:
            grant = self.receiver.authorize(request.headers.get("authorization"))
            if grant is None:
                outcome_label = "unauthenticated"
                return _status(
                    401,
                    _UNAUTHENTICATED,
                    "missing or invalid bearer token",
                    reply_encoding,
                    {"WWW-Authenticate": "Bearer"},
                )
            if encoding is None:
                outcome_label = "unsupported"
                return _status(
                    415,
                    _INVALID_ARGUMENT,
                    f"unsupported Content-Type {media!r}; use application/x-protobuf or application/json",
                    Encoding.JSON,
                )
            body = await self._read_body(request)
            data = decompress(body, request.headers.get("content-encoding", ""), self.receiver.max_request_bytes)
            outcome = await self.receiver.export(signal, encoding, data, "http", grant)
            outcome_label = "partial" if outcome.rejected else "ok"
            return _success(signal, encoding, outcome.rejected, outcome.message)
        except RequestTooLarge as exc:
            outcome_label = "too_large"
            return _status(413, _RESOURCE_EXHAUSTED, str(exc), reply_encoding)
        except _UnsupportedMedia as exc:
            outcome_label = "unsupported"
            return _status(415, _INVALID_ARGUMENT, str(exc), reply_encoding)
        except MalformedRequest as exc:
            outcome_label = "malformed"
            return _status(400, _INVALID_ARGUMENT, str(exc), reply_encoding)
        except RateLimited as exc:
            outcome_label = "rate_limited"
            retry = {"Retry-After": str(exc.retry_after_s)}
            return _status(429, _RESOURCE_EXHAUSTED, str(exc), reply_encoding, retry)
        except QueueFull as exc:
            outcome_label = "queue_full"
            return _status(429, _RESOURCE_EXHAUSTED, str(exc), reply_encoding, {"Retry-After": str(RETRY_AFTER_S)})
        except (CommitFailed, WriterClosed) as exc:
            outcome_label = "unavailable"
            return _status(503, _UNAVAILABLE, str(exc), reply_encoding, {"Retry-After": str(RETRY_AFTER_S)})
        except ClientDisconnect:
            outcome_label = "disconnected"
            return Response(status_code=400)
        finally:
            self.receiver.stats.requests.labels("http", signal.name, outcome_label).inc()

    async def _read_body(self, request: Request) -> bytes:
        """The raw body, refusing early (by Content-Length, or while streaming a chunked body) past the cap."""
        limit = self.receiver.max_request_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise MalformedRequest(f"invalid Content-Length {declared!r}") from None
            # Outside the try: RequestTooLarge is itself a ValueError.
            if size > limit:
                raise RequestTooLarge(f"body of {size} bytes exceeds the {limit}-byte limit")
        chunks = bytearray()
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > limit:
                raise RequestTooLarge(f"body exceeds the {limit}-byte limit")
        return bytes(chunks)


def _success(signal: Signal, encoding: Encoding, rejected: int, message: str) -> Response:
    response_type = _RESPONSES[signal.name]
    if encoding is Encoding.JSON:
        body: dict[str, Any] = {}
        if rejected:
            field = "".join(w.capitalize() if i else w for i, w in enumerate(signal.rejected_field.split("_")))
            body["partialSuccess"] = {field: str(rejected), "errorMessage": message}
        return Response(orjson.dumps(body), media_type=_MEDIA[encoding])
    message_pb = response_type()
    if rejected:
        setattr(message_pb.partial_success, signal.rejected_field, rejected)
        message_pb.partial_success.error_message = message
    return Response(message_pb.SerializeToString(), media_type=_MEDIA[encoding])


def _status(
    http_status: int, code: int, message: str, encoding: Encoding, headers: dict[str, str] | None = None
) -> Response:
    if encoding is Encoding.JSON:
        body = orjson.dumps({"code": code, "message": message})
    else:
        body = status_pb2.Status(code=code, message=message).SerializeToString()
    return Response(body, status_code=http_status, media_type=_MEDIA[encoding], headers=headers)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
