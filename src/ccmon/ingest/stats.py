"""ccmon's own metrics about ingestion, exposed in Prometheus format at `GET /metrics`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestStats:
    """Counters shared by the receivers and the writer; one registry per server so tests can run several."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "ccmon_otlp_requests",
            "OTLP export requests answered, by transport, signal and outcome.",
            ["transport", "signal", "outcome"],
            registry=r,
        )
        self.received = Counter(
            "ccmon_received_items",
            "Log records, data points and spans decoded from OTLP requests.",
            ["transport", "signal"],
            registry=r,
        )
        self.rejected = Counter(
            "ccmon_rejected_items",
            "Items rejected inside otherwise valid requests (reported in partial_success).",
            ["signal"],
            registry=r,
        )
        self.truncated = Counter("ccmon_truncated_values", "Attribute values cut to max_attribute_length.", registry=r)
        self.repaired_times = Counter(
            "ccmon_repaired_timestamps",
            "Timestamps outside [2000, now + 1 day] replaced by the time of receipt.",
            registry=r,
        )
        self.stored = Counter("ccmon_stored_rows", "Rows committed to the store, by table.", ["table"], registry=r)
        self.duplicates = Counter(
            "ccmon_duplicate_rows",
            "Rows not stored again because their key was already stored (exporter retries).",
            ["table"],
            registry=r,
        )
        self.stale_points = Counter(
            "ccmon_stale_cumulative_points",
            "Cumulative points older than the series' latest point; kept with an increment of 0.",
            registry=r,
        )
        self.queue_rows = Gauge("ccmon_write_queue_rows", "Rows waiting for the writer.", registry=r)
        self.queue_full = Counter(
            "ccmon_write_queue_full",
            "Requests refused because the write queue was full (the exporter retries).",
            registry=r,
        )
        self.commit_failures = Counter(
            "ccmon_commit_failures",
            "Batches the store refused; their requests were answered with an error.",
            registry=r,
        )
        self.batch_rows = Histogram(
            "ccmon_batch_rows",
            "Rows per committed batch.",
            buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000, 50000),
            registry=r,
        )
        self.batch_seconds = Histogram(
            "ccmon_batch_commit_seconds",
            "Time to build and commit one batch.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
