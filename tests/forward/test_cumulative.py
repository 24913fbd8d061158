"""Delta sums made cumulative for forwarding: exact running totals per series, kept across a restart."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric, NumberDataPoint

from ccmon.forward.cumulative import COMPACT_MIN_LINES, DeltaToCumulative

DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
S = 10**9


def _attrs(**values: str) -> list[KeyValue]:
    return [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in values.items()]


def _request(
    points: list[tuple[str, dict[str, str], float | int, int]],
    *,
    user: str = "a@example.com",
    temporality: AggregationTemporality.ValueType = DELTA,
) -> bytes:
    """One resource (`user.email` = user) holding a sum per metric name; each point (name, attributes, value, time)."""
    request = ExportMetricsServiceRequest()
    scope = request.resource_metrics.add()
    scope.resource.attributes.extend(_attrs(**{"user.email": user}))
    metrics = scope.scope_metrics.add()
    by_name: dict[str, Metric] = {}
    for name, attributes, value, time_s in points:
        if name not in by_name:
            by_name[name] = metrics.metrics.add(name=name)
            by_name[name].sum.aggregation_temporality = temporality
            by_name[name].sum.is_monotonic = True
        point = NumberDataPoint(
            attributes=_attrs(**attributes), start_time_unix_nano=(time_s - 5) * S, time_unix_nano=time_s * S
        )
        if isinstance(value, int):
            point.as_int = value
        else:
            point.as_double = value
        by_name[name].sum.data_points.append(point)
    return request.SerializeToString()


def _points(payload: bytes) -> list[tuple[str, dict[str, str], float | int, int, int]]:
    """(metric, attributes, value, start s, temporality) of every point."""
    out: list[tuple[str, dict[str, str], float | int, int, int]] = []
    for rm in ExportMetricsServiceRequest.FromString(payload).resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for p in m.sum.data_points:
                    value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                    attrs = {kv.key: kv.value.string_value for kv in p.attributes}
                    out.append((m.name, attrs, value, p.start_time_unix_nano // S, int(m.sum.aggregation_temporality)))
    return out


def test_running_totals_per_series_with_the_series_start(tmp_path: Path) -> None:
    conv = DeltaToCumulative(tmp_path / "totals.json")
    cost, tokens = "claude_code.cost.usage", "claude_code.token.usage"
    first = conv.convert(
        _request([(cost, {"model": "opus"}, 0.25, 100), (tokens, {"type": "input"}, 1000, 100)]), now_s=100
    )
    second = conv.convert(
        _request([(cost, {"model": "opus"}, 0.5, 160), (cost, {"model": "haiku"}, 0.125, 160)]), now_s=160
    )
    third = conv.convert(_request([(tokens, {"type": "input"}, 234, 220), (cost, {"model": "opus"}, 1.0, 220)]), 220)
    assert _points(first) == [
        (cost, {"model": "opus"}, 0.25, 95, CUMULATIVE),
        (tokens, {"type": "input"}, 1000, 95, CUMULATIVE),
    ]
    assert _points(second) == [
        (cost, {"model": "opus"}, 0.75, 95, CUMULATIVE),
        (cost, {"model": "haiku"}, 0.125, 155, CUMULATIVE),
    ]
    assert _points(third) == [
        (tokens, {"type": "input"}, 1234, 95, CUMULATIVE),
        (cost, {"model": "opus"}, 1.75, 95, CUMULATIVE),
    ]
    assert isinstance(_points(third)[0][2], int)  # integer sums stay integers


def test_resources_and_attribute_order_tell_series_apart_or_not(tmp_path: Path) -> None:
    conv = DeltaToCumulative(tmp_path / "totals.json")
    conv.convert(_request([("m", {"a": "1", "b": "2"}, 3, 100)]), 100)
    other_user = conv.convert(_request([("m", {"a": "1", "b": "2"}, 4, 110)], user="b@example.com"), 110)
    reordered = conv.convert(_request([("m", {"b": "2", "a": "1"}, 5, 120)]), 120)
    assert _points(other_user)[0][2] == 4
    assert _points(reordered)[0][2] == 8


def test_cumulative_and_gauges_pass_unchanged(tmp_path: Path) -> None:
    conv = DeltaToCumulative(tmp_path / "totals.json")
    payload = _request([("m", {}, 7, 100)], temporality=CUMULATIVE)
    assert conv.convert(payload, 100) == payload
    assert len(conv) == 0


def test_totals_survive_a_restart_and_idle_series_start_again(tmp_path: Path) -> None:
    path = tmp_path / "totals.json"
    conv = DeltaToCumulative(path, idle_s=1000)
    conv.convert(_request([("kept", {}, 10, 100), ("idle", {}, 1, 100)]), 100)
    conv.save(100)
    conv.convert(_request([("kept", {}, 5, 900)]), 900)
    conv.save(900)
    conv.compact(1500)  # at a stop, or when the journal grows: `idle`, last seen at 100, is forgotten
    restarted = DeltaToCumulative(path, idle_s=1000)
    restarted.load()
    out = _points(restarted.convert(_request([("kept", {}, 1, 1600), ("idle", {}, 2, 1600)]), 1600))
    assert [(name, value, start) for name, _, value, start, _ in out] == [("kept", 16, 95), ("idle", 2, 1595)]


def test_a_series_back_after_idle_starts_again_without_waiting_for_a_compaction(tmp_path: Path) -> None:
    path = tmp_path / "totals.json"
    conv = DeltaToCumulative(path, idle_s=1000)
    conv.convert(_request([("busy", {}, 10, 100), ("idle", {}, 1, 100)]), 100)
    conv.convert(_request([("busy", {}, 10, 1000)]), 1000)  # 900 s later: still the same series
    conv.save(1000)  # journaled only, no compaction
    back = _points(conv.convert(_request([("busy", {}, 1, 1100), ("idle", {}, 2, 1100)]), 1100))
    assert [(name, value, start) for name, _, value, start, _ in back] == [("busy", 21, 95), ("idle", 2, 1095)]
    conv.save(1100)
    reloaded = DeltaToCumulative(path, idle_s=1000)  # the restart is journaled: it holds after a restart too
    reloaded.load()
    after = _points(reloaded.convert(_request([("idle", {}, 3, 1200)]), 1200))
    assert [(value, start) for _, _, value, start, _ in after] == [(5, 1095)]


def test_a_crash_keeps_the_journaled_totals_around_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "totals.json"
    conv = DeltaToCumulative(path)
    for number in range(1, 4):
        conv.convert(_request([("m", {"n": "1"}, number, 100 * number)]), 100 * number)
        conv.save(100 * number)  # each request: one journal line per series it touched, no snapshot
    assert not path.exists() and len(conv.journal.read_text().splitlines()) == 3
    with conv.journal.open("a") as journal:
        journal.write('["m-other", 5')  # a line the crash cut short
    crashed = DeltaToCumulative(path)
    crashed.load()
    assert _points(crashed.convert(_request([("m", {"n": "1"}, 4, 400)]), 400))[0][2] == 1 + 2 + 3 + 4
    # The load rewrote the state: what is saved next is not glued to the torn line, and a second crash keeps it.
    assert path.exists() and crashed.journal.read_text() == ""
    crashed.save(400)
    again = DeltaToCumulative(path)
    again.load()
    assert _points(again.convert(_request([("m", {"n": "1"}, 5, 500)]), 500))[0][2] == 1 + 2 + 3 + 4 + 5


def test_the_journal_is_folded_into_the_snapshot_when_it_outgrows_the_state(tmp_path: Path) -> None:
    path = tmp_path / "totals.json"
    conv = DeltaToCumulative(path)
    request = _request([("m", {}, 1, 100)])
    for _ in range(COMPACT_MIN_LINES + 1):
        conv.convert(request, 100)
        conv.save(100)
    assert path.exists() and conv.journal.read_text() == ""
    reloaded = DeltaToCumulative(path)
    reloaded.load()
    assert _points(reloaded.convert(request, 100))[0][2] == COMPACT_MIN_LINES + 2


def test_an_unreadable_totals_file_starts_series_again(tmp_path: Path) -> None:
    path = tmp_path / "totals.json"
    path.write_text("{not json")
    conv = DeltaToCumulative(path)
    conv.load()
    assert _points(conv.convert(_request([("m", {}, 3, 100)]), 100))[0][2] == 3
