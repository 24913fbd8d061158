from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
import pytest

from ccmon.alerts.channels import parse_channel
from ccmon.alerts.deliveries import Deliveries, Delivery
from ccmon.alerts.model import Channel
from ccmon.alerts.payloads import dedup_key, notification_from_json, verify_signature
from ccmon.store.facade import Store
from ccmon.store.records import utc_now
from tests.alerts.receivers import HANG, HttpReceiver, Reply, notification

NOW = utc_now().replace(microsecond=0)
"""Close to the real time: `alert_deliveries` has a TTL on `created_at`, so rows of long ago vanish on insert."""


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as started:
        yield started


def hook(name: str, url: str, **settings: Any) -> Channel:
    return parse_channel(name, {"kind": "webhook", "url": url, "secret": "s3cret", **settings})


def fixed(moment: dt.datetime) -> Any:
    return lambda: moment


def only(deliveries: Deliveries) -> Delivery:
    (delivery,) = deliveries.recent()
    return delivery


def test_every_kind_is_delivered_to_its_receiver(store: Store) -> None:
    with (
        HttpReceiver() as slack,
        HttpReceiver() as teams,
        HttpReceiver() as pd,
        HttpReceiver() as am,
        HttpReceiver() as wh,
    ):
        pd.then(Reply(202, b'{"status":"success"}'))
        channels = {
            "slack": parse_channel("slack", {"kind": "slack", "url": slack.url}),
            "teams": parse_channel("teams", {"kind": "teams", "url": teams.url}),
            "pd": parse_channel("pd", {"kind": "pagerduty", "routing_key": "R0UTINGKEY", "url": pd.url}),
            "am": parse_channel("am", {"kind": "alertmanager", "url": am.url}),
            "hook": hook("hook", wh.url),
        }
        deliveries = Deliveries(store, channels, fixed(NOW))
        assert len(deliveries.enqueue(notification(), [])) == 5  # no names: every channel
        deliveries.run_due(NOW)

        assert "blocks" in orjson.loads(slack.wait_for(1)[0].body)
        assert orjson.loads(teams.wait_for(1)[0].body)["attachments"][0]["content"]["version"] == "1.2"
        event = orjson.loads(pd.wait_for(1)[0].body)
        assert (event["event_action"], event["dedup_key"]) == ("trigger", dedup_key("daily-spend|team=platform"))
        assert orjson.loads(am.wait_for(1)[0].body)["version"] == "4"
        (signed,) = wh.wait_for(1)
        assert signed.headers["content-type"] == "application/json"
        stamp, mark = signed.headers["x-ccmon-timestamp"], signed.headers["x-ccmon-signature"]
        assert stamp == str(int(NOW.timestamp()))
        assert verify_signature("s3cret", stamp, signed.body, mark)
        assert not verify_signature("wrong", stamp, signed.body, mark)
        assert not verify_signature("s3cret", str(int(stamp) + 60), signed.body, mark)
        assert notification_from_json(orjson.loads(signed.body)) == notification()

    recorded = {d.channel: d for d in deliveries.recent()}
    assert {name: (d.state, d.attempts, d.last_status) for name, d in recorded.items()} == {
        "slack": ("sent", 1, 200),
        "teams": ("sent", 1, 200),
        "pd": ("sent", 1, 202),
        "am": ("sent", 1, 200),
        "hook": ("sent", 1, 200),
    }
    assert recorded["pd"].kind == "pagerduty"
    assert recorded["pd"].rule_id == "daily-spend"


def test_a_500_is_retried_with_backoff_and_then_succeeds(store: Store, receiver: HttpReceiver) -> None:
    receiver.then(Reply(500, b"upstream down"))
    deliveries = Deliveries(store, {"hook": hook("hook", receiver.url)}, fixed(NOW), backoff_s=30)
    deliveries.enqueue(notification(), ["hook"])

    deliveries.run_due(NOW)
    first = only(deliveries)
    assert (first.state, first.attempts, first.last_status) == ("retrying", 1, 500)
    assert first.last_error == "HTTP 500: upstream down"
    assert first.next_attempt_at == NOW + dt.timedelta(seconds=30)

    deliveries.run_due(NOW + dt.timedelta(seconds=29))  # not due yet
    assert len(receiver.requests) == 1

    deliveries.run_due(NOW + dt.timedelta(seconds=30))
    second = only(deliveries)
    assert (second.state, second.attempts, second.last_status, second.last_error) == ("sent", 2, 200, "")
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body


def test_backoff_doubles_and_gives_up_after_max_attempts(store: Store, receiver: HttpReceiver) -> None:
    receiver.then(Reply(503), Reply(502), Reply(500))
    deliveries = Deliveries(store, {"hook": hook("hook", receiver.url)}, fixed(NOW), backoff_s=10, max_attempts=3)
    deliveries.enqueue(notification(), ["hook"])
    deliveries.run_due(NOW)
    assert only(deliveries).next_attempt_at == NOW + dt.timedelta(seconds=10)
    deliveries.run_due(NOW + dt.timedelta(seconds=10))
    assert only(deliveries).next_attempt_at == NOW + dt.timedelta(seconds=30)
    deliveries.run_due(NOW + dt.timedelta(seconds=30))
    gave_up = only(deliveries)
    assert (gave_up.state, gave_up.attempts, gave_up.last_status) == ("failed", 3, 500)
    assert gave_up.last_error.endswith("(gave up after 3 attempts)")
    deliveries.run_due(NOW + dt.timedelta(days=1))
    assert len(receiver.requests) == 3


def test_429_honours_retry_after(store: Store, receiver: HttpReceiver) -> None:
    receiver.then(Reply(429, b"rate limited", {"Retry-After": "120"}))
    deliveries = Deliveries(store, {"hook": hook("hook", receiver.url)}, fixed(NOW), backoff_s=10)
    deliveries.enqueue(notification(), ["hook"])
    deliveries.run_due(NOW)
    delivery = only(deliveries)
    assert (delivery.state, delivery.last_status) == ("retrying", 429)
    assert delivery.next_attempt_at == NOW + dt.timedelta(seconds=120)


def test_a_400_is_not_retried(store: Store, receiver: HttpReceiver) -> None:
    receiver.then(Reply(400, b"invalid_payload"))
    deliveries = Deliveries(store, {"hook": hook("hook", receiver.url)}, fixed(NOW))
    deliveries.enqueue(notification(), ["hook"])
    deliveries.run_due(NOW)
    deliveries.run_due(NOW + dt.timedelta(days=1))
    delivery = only(deliveries)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 1, 400)
    assert delivery.last_error == "HTTP 400: invalid_payload"
    assert len(receiver.requests) == 1


def test_errors_are_recorded_without_urls_or_secrets(store: Store, receiver: HttpReceiver) -> None:
    secret_url = receiver.url + "/T000/B000/XXXXSECRETXXXX"
    receiver.then(Reply(404, f"no such hook: {secret_url} (path /T000/B000/XXXXSECRETXXXX)".encode()))
    slack = parse_channel("slack", {"kind": "slack", "url": secret_url})
    deliveries = Deliveries(store, {"slack": slack}, fixed(NOW))
    deliveries.enqueue(notification(), ["slack"])
    deliveries.run_due(NOW)
    error = only(deliveries).last_error
    assert error.startswith("HTTP 404: no such hook: <url>")
    assert "XXXXSECRETXXXX" not in error


def test_a_dead_host_is_a_network_error_and_retried(store: Store) -> None:
    with HttpReceiver() as closed:
        url = closed.url
    deliveries = Deliveries(store, {"hook": hook("hook", url)}, fixed(NOW), timeout_s=2)
    deliveries.enqueue(notification(), ["hook"])
    deliveries.run_due(NOW)
    delivery = only(deliveries)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("retrying", 1, 0)
    assert delivery.last_error == "ConnectError: [Errno 111] Connection refused"


def test_a_hung_channel_does_not_delay_another(store: Store) -> None:
    timeout_s = 2.0
    with HttpReceiver() as hung, HttpReceiver() as healthy:
        hung.then(HANG)
        channels = {"hung": hook("hung", hung.url), "healthy": hook("healthy", healthy.url)}
        deliveries = Deliveries(store, channels, timeout_s=timeout_s)
        deliveries.enqueue(notification(), ["hung", "healthy"])
        started_wall, started = utc_now(), time.monotonic()
        deliveries.run_due(utc_now())
        elapsed = time.monotonic() - started
        (arrived,) = healthy.wait_for(1)

    assert arrived.at - started < timeout_s / 2, "the healthy channel waited for the hung one"
    assert elapsed >= timeout_s * 0.9, "the hung channel did not hang"
    recorded = {d.channel: d for d in deliveries.recent()}
    assert recorded["healthy"].state == "sent"
    # Recorded as soon as it was sent, not when the hung channel timed out.
    assert (recorded["healthy"].updated_at - started_wall).total_seconds() < timeout_s / 2
    assert (recorded["hung"].state, recorded["hung"].last_error) == ("retrying", "timed out (127.0.0.1)")


def test_the_queue_survives_a_new_deliveries_object(store: Store, receiver: HttpReceiver) -> None:
    channels = {"hook": hook("hook", receiver.url)}
    Deliveries(store, channels, fixed(NOW)).enqueue(notification(), ["hook"])
    assert receiver.requests == []
    restarted = Deliveries(store, channels, fixed(NOW))
    assert only(restarted).state == "queued"
    restarted.run_due(NOW)
    assert (only(restarted).state, len(receiver.requests)) == ("sent", 1)


def test_a_group_resolve_never_overtakes_its_trigger(store: Store, receiver: HttpReceiver) -> None:
    receiver.then(Reply(500))
    deliveries = Deliveries(store, {"hook": hook("hook", receiver.url)}, fixed(NOW), backoff_s=60)
    deliveries.enqueue(notification("firing"), ["hook"])
    deliveries.run_due(NOW)  # the trigger fails, retry in 60 s
    deliveries.enqueue(notification("resolved"), ["hook"])
    deliveries.run_due(NOW + dt.timedelta(seconds=1))  # the resolve waits for the trigger
    assert len(receiver.requests) == 1
    deliveries.run_due(NOW + dt.timedelta(seconds=60))
    statuses = [orjson.loads(request.body)["status"] for request in receiver.requests]
    assert statuses == ["firing", "firing", "resolved"]
    assert [d.state for d in deliveries.recent()] == ["sent", "sent"]


def test_resolved_notifications_skip_channels_that_do_not_want_them(
    store: Store, receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    channels = {"quiet": hook("quiet", receiver.url, send_resolved=False), "loud": hook("loud", receiver.url)}
    deliveries = Deliveries(store, channels, fixed(NOW))
    with caplog.at_level(logging.WARNING, logger="ccmon.alerts.deliveries"):
        deliveries.enqueue(notification("resolved"), ["quiet", "loud", "missing"])
    assert [d.channel for d in deliveries.recent()] == ["loud"]
    assert "no channel named 'missing'" in caplog.text
    deliveries.enqueue(notification("firing"), ["quiet"])
    assert sorted(d.channel for d in deliveries.recent()) == ["loud", "quiet"]


def test_a_channel_removed_from_the_config_fails_its_queued_deliveries(store: Store, receiver: HttpReceiver) -> None:
    Deliveries(store, {"old": hook("old", receiver.url)}, fixed(NOW)).enqueue(notification(), ["old"])
    deliveries = Deliveries(store, {}, fixed(NOW))
    deliveries.run_due(NOW)
    delivery = only(deliveries)
    assert (delivery.state, delivery.last_error) == ("failed", "channel 'old' is no longer configured")
    assert receiver.requests == []


def test_recent_is_newest_first_and_filters_by_channel(store: Store, receiver: HttpReceiver) -> None:
    channels = {"a": hook("a", receiver.url), "b": hook("b", receiver.url)}
    deliveries = Deliveries(store, channels, fixed(NOW))
    for rule in ("one", "two", "three"):
        deliveries.enqueue(notification(rule_id=rule), ["a", "b"])
    assert [d.rule_id for d in deliveries.recent(channel="a")] == ["three", "two", "one"]
    assert [(d.channel, d.rule_id) for d in deliveries.recent(limit=2)] == [("b", "three"), ("a", "three")]
    shown = deliveries.recent(limit=1)[0].to_json()
    assert set(shown) == {
        "id", "channel", "kind", "rule_id", "group_key", "status", "state", "attempts", "last_status", "last_error",
        "next_attempt_at", "created_at", "updated_at",
    }  # fmt: skip
    assert shown["created_at"].startswith(NOW.isoformat()[:19]) and shown["created_at"].endswith("Z")
    assert shown["next_attempt_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert "s3cret" not in orjson.dumps(shown).decode()


def test_send_test_sends_to_one_channel_now(store: Store, receiver: HttpReceiver) -> None:
    with HttpReceiver() as other:
        channels = {"hook": hook("hook", receiver.url), "other": hook("other", other.url)}
        deliveries = Deliveries(store, channels, fixed(NOW), external_url="https://ccmon.example.com")
        delivery = deliveries.send_test("hook")
        assert (delivery.state, delivery.attempts, delivery.last_status, delivery.channel) == ("sent", 1, 200, "hook")
        assert other.requests == []
    sent = orjson.loads(receiver.requests[0].body)
    assert sent["rule_id"] == "ccmon-test"
    assert "this channel works" in sent["alerts"][0]["annotations"]["summary"]
    assert only(deliveries) == delivery
    with pytest.raises(KeyError, match="no channel named 'nope'"):
        deliveries.send_test("nope")


def test_send_test_reports_a_failure(store: Store, receiver: HttpReceiver) -> None:
    receiver.then(Reply(403, b"forbidden"))
    deliveries = Deliveries(store, {"hook": hook("hook", receiver.url)}, fixed(NOW))
    delivery = deliveries.send_test("hook")
    assert (delivery.state, delivery.last_status, delivery.last_error) == ("failed", 403, "HTTP 403: forbidden")


def test_an_unforeseen_error_fails_the_delivery_and_not_the_run(store: Store, receiver: HttpReceiver) -> None:
    """Settings parse_channel would refuse (a non-ASCII header value, a host httpx cannot encode) stand for anything
    an attempt did not expect: the delivery fails, counted and scrubbed; the run goes on and nothing stays stuck."""
    plain = hook("accented", receiver.url)
    accented = replace(plain, settings={**plain.settings, "headers": ("X-Key: clé-s3cr3t-v4lue",)})
    snowman = Channel("snowman", "slack", {"url": "https://\u2603.example/services/T0/B0/XXXXSECRETXXXX"})
    channels = {"accented": accented, "snowman": snowman, "healthy": hook("healthy", receiver.url)}
    deliveries = Deliveries(store, channels, fixed(NOW))
    deliveries.enqueue(notification("firing"), [])
    deliveries.enqueue(notification("resolved"), ["accented"])  # the same group: must not wait forever behind it
    deliveries.run_due(NOW)
    deliveries.run_due(NOW + dt.timedelta(seconds=1))

    recorded = {(d.channel, d.status): d for d in deliveries.recent()}
    assert {key: (d.state, d.attempts, d.last_status) for key, d in recorded.items()} == {
        ("accented", "firing"): ("failed", 1, 0),
        ("accented", "resolved"): ("failed", 1, 0),
        ("snowman", "firing"): ("failed", 1, 0),
        ("healthy", "firing"): ("sent", 1, 200),
    }
    assert recorded["accented", "firing"].last_error.startswith("could not send: UnicodeEncodeError: ")
    assert recorded["snowman", "firing"].last_error.startswith("could not send: InvalidURL: ")
    errors = " ".join(d.last_error for d in recorded.values())
    assert "s3cr3t" not in errors and "XXXXSECRETXXXX" not in errors
    assert len(receiver.requests) == 1

    tested = deliveries.send_test("snowman")  # the channel test answers with the failure, not a 500
    assert (tested.state, tested.attempts) == ("failed", 1)
