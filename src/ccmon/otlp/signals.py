"""The three OTLP signals and their decoders, by wire format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ccmon.ingest.attribution import Attribution
from ccmon.ingest.rows import IngestBatch, RowBuilder
from ccmon.otlp import json as otlp_json
from ccmon.otlp import protobuf as otlp_protobuf

Decoder = Callable[[bytes, RowBuilder], None]


class Encoding(Enum):
    PROTOBUF = "protobuf"
    JSON = "json"


@dataclass(frozen=True)
class Signal:
    name: str
    """`logs`, `metrics` or `traces`: the HTTP path is `/v1/<name>`."""
    protobuf: Decoder
    json: Decoder
    rejected_field: str
    """The partial_success field counting this signal's rejected items."""

    def decode(
        self, data: bytes, encoding: Encoding, max_value_length: int, attribution: Attribution | None = None
    ) -> IngestBatch:
        builder = RowBuilder(max_value_length, attribution=attribution)
        (self.json if encoding is Encoding.JSON else self.protobuf)(data, builder)
        return builder.batch


LOGS = Signal("logs", otlp_protobuf.decode_logs, otlp_json.decode_logs, "rejected_log_records")
METRICS = Signal("metrics", otlp_protobuf.decode_metrics, otlp_json.decode_metrics, "rejected_data_points")
TRACES = Signal("traces", otlp_protobuf.decode_traces, otlp_json.decode_traces, "rejected_spans")
SIGNALS = {s.name: s for s in (LOGS, METRICS, TRACES)}
