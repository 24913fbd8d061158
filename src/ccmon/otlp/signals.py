"""The three OTLP signals and how each wire format becomes an `IngestBatch`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ccmon.ingest.attribution import Attribution
from ccmon.ingest.rows import IngestBatch, RowBuilder, request_digest
from ccmon.otlp import json as otlp_json
from ccmon.otlp import protobuf as otlp_protobuf
from ccmon.otlp.prepare import prepare

Decoder = Callable[[bytes, RowBuilder], None]


class Encoding(Enum):
    PROTOBUF = "protobuf"
    JSON = "json"


@dataclass(frozen=True)
class Signal:
    name: str
    """`logs`, `metrics` or `traces`: the HTTP path is `/v1/<name>`."""
    rejected_field: str
    """The partial_success field counting this signal's rejected items."""
    rows: tuple[Decoder, Decoder] | None = None
    """Metrics: the protobuf and JSON decoders that build rows in Python. Logs and traces have none: the engine
    builds their rows from the protobuf request, which a JSON request is first converted to."""
    to_protobuf: Callable[[bytes], bytes] | None = None

    def decode(
        self, data: bytes, encoding: Encoding, max_value_length: int, attribution: Attribution | None = None
    ) -> IngestBatch:
        digest = request_digest(self.name, data)
        if self.rows is not None:
            builder = RowBuilder(max_value_length, attribution=attribution)
            self.rows[encoding is Encoding.JSON](data, builder)
            builder.batch.digest = digest
            return builder.batch
        assert self.to_protobuf is not None
        body = self.to_protobuf(data) if encoding is Encoding.JSON else data
        prepared = prepare(self.name, body, max_value_length, time.time_ns())
        return IngestBatch(
            signal=self.name,
            body=prepared.body,
            records=prepared.records,
            digest=digest,
            truncated_values=prepared.truncated_values,
            repaired_times=prepared.repaired_times,
            pings=prepared.pings,
        )


LOGS = Signal("logs", "rejected_log_records", to_protobuf=otlp_json.logs_request)
METRICS = Signal("metrics", "rejected_data_points", rows=(otlp_protobuf.decode_metrics, otlp_json.decode_metrics))
TRACES = Signal("traces", "rejected_spans", to_protobuf=otlp_json.traces_request)
SIGNALS = {s.name: s for s in (LOGS, METRICS, TRACES)}
