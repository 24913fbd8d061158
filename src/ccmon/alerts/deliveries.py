"""The delivery queue: each notification becomes one row per channel in `alert_deliveries`, sent, retried with
exponential backoff, and recorded attempt by attempt (a new version of the row each time), so the queue survives a
restart and the UI can show what was sent where and why something was not.

Sending: channels are independent and sent in parallel, each in its own worker with a short timeout, so a dead
channel costs its own timeout and never delays another. Within one channel deliveries go out oldest first, and a
channel that just failed transiently is left alone until the next run (one timeout per run, not one per queued
message). Two deliveries of one group to one channel never overtake each other: the newer waits while the older is
unsettled, so PagerDuty never sees a group's `resolve` before its `trigger`.

What is retried follows the receivers' own documentation (PagerDuty, Slack): 429, 5xx and network errors are retried
(honouring `Retry-After`), other 4xx are permanent (the payload or the key is wrong, and resending changes nothing).
Errors are recorded short and scrubbed of the channel's URL and secrets (Slack and Teams URLs are credentials).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import Any

import httpx
import orjson
import pyarrow as pa

from ccmon.alerts.channels import describe, secrets_of
from ccmon.alerts.email import send_email
from ccmon.alerts.model import Channel, Notification, NotifiedAlert, Severity
from ccmon.alerts.payloads import Request, build, notification_from_json, notification_to_json
from ccmon.analytics.timerange import rfc3339
from ccmon.http_retry import retry_after_seconds
from ccmon.store.facade import Store
from ccmon.store.records import TIMESTAMP, VersionClock, as_utc, insert_rows, utc_now

log = logging.getLogger(__name__)

QUEUED, RETRYING, SENT, FAILED = "queued", "retrying", "sent", "failed"
MAX_BACKOFF_S = 3600.0
MAX_WORKERS = 16
TEST_RULE_ID = "ccmon-test"

_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("channel", pa.string()),
        ("kind", pa.string()),
        ("rule_id", pa.string()),
        ("group_key", pa.string()),
        ("status", pa.string()),
        ("notification", pa.string()),
        ("state", pa.string()),
        ("attempts", pa.uint16()),
        ("last_status", pa.uint16()),
        ("last_error", pa.string()),
        ("next_attempt_at", TIMESTAMP),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
    ]
)
_COLUMNS = ", ".join(_SCHEMA.names)
_Results = queue.Queue[tuple["Delivery", "_Outcome"] | None]
"""Attempts as they end, from the channel workers to the thread that records them; None: a worker is done."""
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Delivery:
    """One notification to one channel, as last recorded."""

    id: str
    channel: str
    kind: str
    rule_id: str
    group_key: str
    status: str
    """The notification's: firing or resolved."""
    notification: str
    """The notification as ccmon's JSON (`payloads.notification_to_json`)."""
    state: str
    """queued, retrying, sent or failed."""
    attempts: int
    last_status: int
    """The last HTTP status (or SMTP reply code); 0 when there was none (not tried yet, network error)."""
    last_error: str
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        """The API's shape (`GET /api/v1/alerts/deliveries`); the notification itself is left out."""
        return {
            "id": self.id,
            "channel": self.channel,
            "kind": self.kind,
            "rule_id": self.rule_id,
            "group_key": self.group_key,
            "status": self.status,
            "state": self.state,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "next_attempt_at": rfc3339(self.next_attempt_at) if self.state in (QUEUED, RETRYING) else None,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        }


@dataclass(frozen=True)
class _Outcome:
    state: str
    """sent, retrying or failed"""
    status: int
    error: str
    retry_after_s: float | None = None


class Deliveries:
    """The queue over `alert_deliveries`. Several objects (or processes) may share a store; one process sends at a
    time (the engine's lease), and within a process a delivery is never sent by two threads at once."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        clock: Callable[[], dt.datetime] = utc_now,
        *,
        timeout_s: float = 10,
        max_attempts: int = 8,
        backoff_s: float = 10,
        external_url: str = "",
    ) -> None:
        self._store = store
        self._channels = dict(channels)
        self._clock = clock
        self._versions = VersionClock(clock)
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._external_url = external_url
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()

    @property
    def channels(self) -> Mapping[str, Channel]:
        return self._channels

    def replace_channels(self, channels: Mapping[str, Channel]) -> None:
        """The alerts file was reloaded: its channels from now on (a mapping swapped whole, so a delivery run reads
        either the old set or the new one)."""
        self._channels = dict(channels)

    def describe_channels(self) -> list[dict[str, Any]]:
        """Every channel as the API may show it (`channels.describe`: no URL, key or password)."""
        return [describe(self._channels[name]) for name in sorted(self._channels)]

    def enqueue(self, notification: Notification, channel_names: Sequence[str]) -> list[str]:
        """Queue `notification` for each named channel (every channel when none is named); returns the new ids.

        Unknown names are logged and skipped (the alerts-file validator reports them); a resolved notification is not
        queued for a channel with `send_resolved: false`."""
        return [delivery.id for delivery in self._enqueue(notification, channel_names, claim=False)]

    def run_due(self, now: dt.datetime | None = None) -> None:
        """Send every delivery that is due at `now`, channels in parallel; returns when each has had its attempt."""
        now = now or self._clock()
        due = self._claim_due(now)
        if not due:
            return
        # Workers do only the network; attempts are recorded here, as each ends, so the store is used from this
        # thread alone (a store handle is per thread, and workers are short-lived).
        results: _Results = queue.Queue()
        try:
            with ThreadPoolExecutor(max_workers=min(len(due), MAX_WORKERS), thread_name_prefix="ccmon-notify") as pool:
                workers = [pool.submit(self._drain, name, items, now, results) for name, items in due.items()]
                running = len(workers)
                while running:
                    result = results.get()
                    if result is None:
                        running -= 1
                    else:
                        self._record(*result, now)
                for worker in workers:
                    worker.result()
        finally:
            self._release([delivery.id for items in due.values() for delivery in items])

    def recent(self, limit: int = 100, channel: str | None = None) -> list[Delivery]:
        """The latest deliveries, newest first (optionally of one channel)."""
        where = "WHERE channel = {channel:String}" if channel is not None else ""
        rows = self._store.query(
            f"SELECT {_COLUMNS} FROM alert_deliveries FINAL {where} ORDER BY created_at DESC, id DESC "
            "LIMIT {limit:UInt32}",
            {"channel": channel or "", "limit": max(0, limit)},
        )
        return [_delivery(row) for row in rows]

    def send_test(self, channel_name: str, now: dt.datetime | None = None) -> Delivery:
        """Send a test notification to one channel now and return how it went (KeyError for an unknown channel).
        A transient failure leaves it queued for retry like any other delivery."""
        channel = self._channels.get(channel_name)
        if channel is None:
            raise KeyError(f"no channel named {channel_name!r}")
        now = now or self._clock()
        (delivery,) = self._enqueue(_test_notification(channel_name, now, self._external_url), [channel_name], True)
        try:
            for attempted, outcome in self._attempts(channel_name, [delivery], now):
                return self._record(attempted, outcome, now)
            raise AssertionError("unreachable: one delivery, one attempt")
        finally:
            self._release([delivery.id])

    # --- queue -------------------------------------------------------------------------------------------------------

    def _enqueue(self, notification: Notification, channel_names: Sequence[str], claim: bool) -> list[Delivery]:
        body = orjson.dumps(notification_to_json(notification)).decode()
        names = list(dict.fromkeys(channel_names)) or sorted(self._channels)
        deliveries = []
        for name in names:
            channel = self._channels.get(name)
            if channel is None:
                log.warning("alert %s: no channel named %r, not notified there", notification.rule_id, name)
                continue
            if notification.status == "resolved" and not channel.send_resolved:
                continue
            created = self._versions.version()
            deliveries.append(
                Delivery(
                    id=uuid.uuid4().hex,
                    channel=name,
                    kind=channel.kind,
                    rule_id=notification.rule_id,
                    group_key=notification.group_key,
                    status=notification.status,
                    notification=body,
                    state=QUEUED,
                    attempts=0,
                    last_status=0,
                    last_error="",
                    next_attempt_at=self._clock(),
                    created_at=created,
                    updated_at=created,
                )
            )
        if claim:
            with self._lock:
                self._in_flight.update(delivery.id for delivery in deliveries)
        insert_rows(self._store, "alert_deliveries", _SCHEMA, [_row(delivery) for delivery in deliveries])
        return deliveries

    def _claim_due(self, now: dt.datetime) -> dict[str, list[Delivery]]:
        """The due deliveries by channel, oldest first, marked in flight. A delivery goes only after every older
        unsettled one of its (channel, group): a newer one waits, whatever its own time. (Sending stops at a channel's
        first transient failure, so a group's deliveries taken together here still go out in order.)"""
        rows = self._store.query(
            f"SELECT {_COLUMNS} FROM alert_deliveries FINAL WHERE state IN ('{QUEUED}', '{RETRYING}') "
            "ORDER BY created_at, id"
        )
        chains: dict[tuple[str, str], list[Delivery]] = {}
        for delivery in map(_delivery, rows):
            chains.setdefault((delivery.channel, delivery.group_key), []).append(delivery)
        due: dict[str, list[Delivery]] = {}
        with self._lock:
            for chain in chains.values():
                for delivery in chain:  # oldest first; the first one not due holds back the rest of its group
                    if delivery.next_attempt_at > now or delivery.id in self._in_flight:
                        break
                    self._in_flight.add(delivery.id)
                    due.setdefault(delivery.channel, []).append(delivery)
        for items in due.values():
            items.sort(key=lambda d: (d.created_at, d.id))
        return due

    def _release(self, ids: list[str]) -> None:
        with self._lock:
            self._in_flight.difference_update(ids)

    # --- sending -----------------------------------------------------------------------------------------------------

    def _drain(
        self,
        name: str,
        deliveries: list[Delivery],
        now: dt.datetime,
        results: _Results,
    ) -> None:
        try:
            for attempt in self._attempts(name, deliveries, now):
                results.put(attempt)
        finally:
            results.put(None)

    def _attempts(self, name: str, deliveries: list[Delivery], now: dt.datetime) -> Iterator[tuple[Delivery, _Outcome]]:
        """Send one channel's due deliveries in order, stopping at the first transient failure (the rest wait for
        the next run: a channel that is down costs one timeout per run)."""
        channel = self._channels.get(name)
        with httpx.Client(timeout=self._timeout_s, follow_redirects=False) as client:
            for delivery in deliveries:
                if channel is None:
                    outcome = _Outcome(FAILED, 0, f"channel {name!r} is no longer configured")
                else:
                    outcome = self._attempt(client, channel, delivery, now)
                yield delivery, outcome
                if outcome.state == RETRYING:
                    return

    def _attempt(self, client: httpx.Client, channel: Channel, delivery: Delivery, now: dt.datetime) -> _Outcome:
        """One attempt, whatever happens in it: an error nobody foresaw (a setting httpx or smtplib refuses, a bug)
        fails this delivery, recorded and counted, rather than aborting the run and leaving it queued forever,
        holding back its group and answering the channel test with a 500. Only the store failing stops a run."""
        try:
            message = build(channel, notification_from_json(orjson.loads(delivery.notification)), now)
        except Exception as exc:
            return _Outcome(FAILED, 0, _scrub(f"could not build the message: {exc}", channel))
        try:
            if isinstance(message, EmailMessage):
                sent = send_email(channel, message, self._timeout_s)
                state = SENT if sent.sent else RETRYING if sent.retryable else FAILED
                return _Outcome(state, sent.code, _scrub(sent.error, channel))
            return _send_http(client, channel, message)
        except Exception as exc:
            return _Outcome(FAILED, 0, _scrub(f"could not send: {type(exc).__name__}: {exc}", channel))

    def _record(self, delivery: Delivery, outcome: _Outcome, now: dt.datetime) -> Delivery:
        attempts = delivery.attempts + 1
        state, error, next_attempt = outcome.state, outcome.error, now
        if state == RETRYING:
            if attempts >= self._max_attempts:
                state, error = FAILED, f"{error} (gave up after {attempts} attempts)"
            else:
                delay = self._backoff_s * 2 ** (attempts - 1)
                if outcome.retry_after_s is not None:
                    delay = outcome.retry_after_s
                next_attempt = now + dt.timedelta(seconds=min(max(delay, 0.0), MAX_BACKOFF_S))
        if state != SENT:
            log.warning("alert delivery %s to %s: %s (%s)", delivery.id, delivery.channel, error, state)
        updated = replace(
            delivery,
            state=state,
            attempts=min(attempts, 65535),
            last_status=outcome.status,
            last_error=error[:500],
            next_attempt_at=next_attempt,
            updated_at=self._versions.version(),
        )
        insert_rows(self._store, "alert_deliveries", _SCHEMA, [_row(updated)])
        return updated


def send_request_once(channel: Channel, request: Request, timeout_s: float) -> tuple[bool, str]:
    """Send one HTTP request to `channel` once, as a delivery attempt does (the weekly report's Slack post): whether
    it was accepted, and the scrubbed error when not. No queue, no retry: the caller records the outcome."""
    with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
        outcome = _send_http(client, channel, request)
    return outcome.state == SENT, outcome.error


def _send_http(client: httpx.Client, channel: Channel, request: Request) -> _Outcome:
    try:
        response = client.request(request.method, request.url, headers=dict(request.headers), content=request.body)
    except httpx.TimeoutException:
        return _Outcome(RETRYING, 0, f"timed out ({describe(channel)['target']})")
    except httpx.HTTPError as exc:
        return _Outcome(RETRYING, 0, _scrub(f"{type(exc).__name__}: {exc}", channel))
    code = response.status_code
    if 200 <= code < 300:
        return _Outcome(SENT, code, "")
    error = _scrub(f"HTTP {code}: {response.text[:200]}".strip(), channel)
    if code == 429 or code >= 500:
        # The cap changes nothing: `_record` caps every delay at MAX_BACKOFF_S anyway.
        wait = retry_after_seconds(response.headers.get("retry-after"), cap_s=MAX_BACKOFF_S)
        return _Outcome(RETRYING, code, error, wait)
    if 300 <= code < 400:
        error += " (redirects are not followed)"
    return _Outcome(FAILED, code, error)


def _scrub(text: str, channel: Channel) -> str:
    """Error text without the channel's secrets or any URL (a Slack webhook URL is a credential)."""
    text = _URL.sub("<url>", text)
    for secret in secrets_of(channel):
        text = text.replace(secret, "***")
    return " ".join(text.split())[:500]


def _test_notification(channel_name: str, now: dt.datetime, external_url: str) -> Notification:
    alert = NotifiedAlert(
        status="firing",
        labels={"alertname": TEST_RULE_ID, "channel": channel_name},
        annotations={"summary": f"Test notification from ccmon to channel {channel_name}: this channel works."},
        starts_at=now,
        ends_at=None,
        fingerprint="0" * 16,
        value=0.0,
    )
    return Notification(
        group_key=f"{TEST_RULE_ID}:{channel_name}",
        status="firing",
        rule_id=TEST_RULE_ID,
        rule_name="ccmon test notification",
        severity=Severity.INFO,
        group_labels={},
        alerts=(alert,),
        external_url=external_url,
    )


def _row(delivery: Delivery) -> dict[str, Any]:
    return {name: getattr(delivery, name) for name in _SCHEMA.names}


def _delivery(row: tuple[Any, ...]) -> Delivery:
    values = dict(zip(_SCHEMA.names, row, strict=True))
    for name in ("next_attempt_at", "created_at", "updated_at"):
        values[name] = as_utc(values[name])
    for name in ("attempts", "last_status"):
        values[name] = int(values[name])
    return Delivery(**values)
