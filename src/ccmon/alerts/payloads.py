"""What a notification looks like on each channel: one builder per kind, from a `Notification` to the exact bytes sent.

The shapes are the receivers' own (docs: Slack Block Kit, Teams workflow adaptive cards, PagerDuty Events API v2,
Alertmanager's webhook v4), so ccmon can stand in for Alertmanager in front of anything that already takes its
webhooks. Label values come from telemetry (people's names, team names, session ids) and are escaped for each
target's markup: Slack mrkdwn (`<!channel>` must not ping anyone), HTML in email.

`notification_to_json` / `notification_from_json` are ccmon's own JSON of a notification: the generic webhook's body
and what the delivery queue stores.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import quote

import orjson

from ccmon.alerts.channels import header_pairs
from ccmon.alerts.model import Channel, Notification, NotifiedAlert, Severity
from ccmon.analytics.timerange import rfc3339

MAX_LISTED = 10
"""Alerts shown one by one in a chat message; the rest are counted ("and 3 more")."""

ALERTMANAGER_ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's `endsAt` of an alert still firing (Go's zero time)."""

USER_AGENT = "ccmon-alerts"


@dataclass(frozen=True)
class Request:
    """An HTTP request to send, exactly."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


def build(channel: Channel, notification: Notification, now: dt.datetime) -> Request | EmailMessage:
    """The request (or email) that tells `channel` about `notification`."""
    if channel.kind == "slack":
        return slack_request(channel, notification)
    if channel.kind == "teams":
        return teams_request(channel, notification)
    if channel.kind == "pagerduty":
        return pagerduty_request(channel, notification)
    if channel.kind == "alertmanager":
        return alertmanager_request(channel, notification)
    if channel.kind == "webhook":
        return webhook_request(channel, notification, now)
    if channel.kind == "email":
        return email_message(channel, notification, now)
    raise ValueError(f"channel {channel.name}: unknown kind {channel.kind!r}")


def title(notification: Notification) -> str:
    """`[FIRING:2] Rule name` or `[RESOLVED] Rule name`, Alertmanager's subject line, plus the group's label values."""
    if notification.status == "firing":
        firing = sum(1 for alert in notification.alerts if alert.status == "firing")
        head = f"[FIRING:{firing}] {notification.rule_name}"
    else:
        head = f"[RESOLVED] {notification.rule_name}"
    if notification.group_labels:
        head += " (" + ", ".join(f"{k}={v}" for k, v in sorted(notification.group_labels.items())) + ")"
    return _one_line(head)


def alert_line(alert: NotifiedAlert) -> str:
    """One alert in plain text: its summary, else its labels."""
    summary = alert.annotations.get("summary", "")
    return _one_line(summary or _label_text(alert.labels) or alert.fingerprint)


def link(notification: Notification) -> str:
    """The ccmon page of the rule, or "" without an external URL."""
    if not notification.external_url:
        return ""
    return f"{notification.external_url.rstrip('/')}/alerts?rule={quote(notification.rule_id, safe='')}"


def dedup_key(group_key: str) -> str:
    """PagerDuty's dedup key: stable for a group, so the resolve closes the incident the trigger opened."""
    return hashlib.sha256(f"ccmon:{group_key}".encode()).hexdigest()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook's `X-Ccmon-Signature` value: `sha256=` + hex HMAC-SHA256, keyed by the secret, of the
    `X-Ccmon-Timestamp` value, a `.` and the body. The timestamp is signed so that a captured delivery cannot be
    replayed later under a fresh timestamp (the receiver refuses stale ones)."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does to check a ccmon webhook, given the `X-Ccmon-Timestamp` and `X-Ccmon-Signature` headers
    (constant-time comparison). Checking that the timestamp is recent is the receiver's own choice of tolerance."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


# --- Slack -----------------------------------------------------------------------------------------------------------


def slack_request(channel: Channel, notification: Notification) -> Request:
    """A Slack incoming-webhook message: header, one section per alert (at most ten), a context line with the link."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title(notification), 150), "emoji": True}}
    ]
    for alert in notification.alerts[:MAX_LISTED]:
        mark = ":red_circle:" if alert.status == "firing" else ":large_green_circle:"
        text = f"{mark} *{_slack_escape(alert_line(alert))}*"
        if alert.labels:
            text += "\n" + ", ".join(
                f"`{_slack_escape(k)}={_slack_escape(v)}`" for k, v in sorted(alert.labels.items())
            )
        text += f"\nvalue {_number(alert.value)} · since {rfc3339(alert.starts_at)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, 3000)}})
    hidden = len(notification.alerts) - MAX_LISTED
    if hidden > 0:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"and {hidden} more"}})
    context = f"severity *{notification.severity}* · rule `{_slack_escape(notification.rule_id)}`"
    if url := link(notification):
        context += f" · <{_slack_escape(url)}|Open in ccmon>"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    # The fallback (notifications, screen readers) is mrkdwn too: `<!channel>` in a label must not ping anyone there.
    # Clipped before escaping, so no entity is cut in half (escaped, it stays far below Slack's 40,000 characters).
    fallback = title(notification) + "".join(f"\n{alert_line(a)}" for a in notification.alerts[:MAX_LISTED])
    return _json_request(str(channel.settings["url"]), {"text": _slack_escape(_clip(fallback, 3000)), "blocks": blocks})


def _slack_escape(text: str) -> str:
    """Slack's three control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_escape(text: str) -> str:
    """Slack's escaping, for other Slack messages than alerts (the weekly report)."""
    return _slack_escape(text)


# --- Microsoft Teams -------------------------------------------------------------------------------------------------


def teams_request(channel: Channel, notification: Notification) -> Request:
    """A Teams workflow webhook message: an adaptive card (1.2) of text blocks, with a button to ccmon."""
    colour = "Attention" if notification.status == "firing" else "Good"
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": title(notification), "size": "Large", "weight": "Bolder", "color": colour,
         "wrap": True},
        {"type": "TextBlock", "text": f"Severity {notification.severity} · rule {notification.rule_id}",
         "isSubtle": True, "wrap": True},
    ]  # fmt: skip
    for alert in notification.alerts[:MAX_LISTED]:
        text = f"{alert.status.upper()}: {alert_line(alert)} (value {_number(alert.value)})"
        if alert.labels:
            text += f" — {_label_text(alert.labels)}"
        body.append({"type": "TextBlock", "text": text, "wrap": True})
    hidden = len(notification.alerts) - MAX_LISTED
    if hidden > 0:
        body.append({"type": "TextBlock", "text": f"and {hidden} more", "wrap": True, "isSubtle": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.2",
        "body": body,
    }
    if url := link(notification):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in ccmon", "url": url}]
    message = {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
    return _json_request(str(channel.settings["url"]), message)


# --- PagerDuty -------------------------------------------------------------------------------------------------------

_PAGERDUTY_SEVERITY = {
    Severity.CRITICAL: "critical",
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "info",
}


def pagerduty_request(channel: Channel, notification: Notification) -> Request:
    """A PagerDuty Events API v2 event: `trigger` while any alert of the group fires, `resolve` once none does, with
    the same dedup key, so one group is one incident."""
    firing = notification.status == "firing"
    event: dict[str, Any] = {
        "routing_key": str(channel.settings["routing_key"]),
        "event_action": "trigger" if firing else "resolve",
        "dedup_key": dedup_key(notification.group_key),
    }
    if firing:
        # PagerDuty reads the payload of trigger events only; a resolve needs no more than the key.
        first = next((alert for alert in notification.alerts if alert.status == "firing"), None)
        summary = title(notification) + (f": {alert_line(first)}" if first else "")
        started = max((alert.starts_at for alert in notification.alerts), default=None)
        event["payload"] = {
            "summary": _clip(summary, 1024),
            "source": "ccmon",
            "severity": _PAGERDUTY_SEVERITY.get(notification.severity, "warning"),
            "timestamp": rfc3339(started) if started else None,
            "component": notification.rule_id,
            "group": ", ".join(f"{k}={v}" for k, v in sorted(notification.group_labels.items())) or None,
            "custom_details": {
                "rule_id": notification.rule_id,
                "rule_name": notification.rule_name,
                "group_labels": dict(notification.group_labels),
                "alerts": [
                    {
                        "status": alert.status,
                        "summary": alert.annotations.get("summary", ""),
                        "labels": dict(alert.labels),
                        "value": alert.value,
                        "starts_at": rfc3339(alert.starts_at),
                    }
                    for alert in notification.alerts[:50]
                ],
            },
        }
        event["payload"] = {key: value for key, value in event["payload"].items() if value is not None}
        event["client"] = "ccmon"
        if url := link(notification):
            event["client_url"] = url
            event["links"] = [{"href": url, "text": "Open in ccmon"}]
    return _json_request(str(channel.settings["url"]), event)


# --- Alertmanager webhook v4 -----------------------------------------------------------------------------------------


def alertmanager_request(channel: Channel, notification: Notification) -> Request:
    """Alertmanager's webhook body (version 4), as any receiver written for Alertmanager expects it."""
    alerts = [_alertmanager_alert(notification, alert) for alert in notification.alerts]
    body = {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": notification.status,
        "receiver": channel.name,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": _common([alert["labels"] for alert in alerts]),
        "commonAnnotations": _common([alert["annotations"] for alert in alerts]),
        "externalURL": notification.external_url,
        "alerts": alerts,
    }
    return _json_request(str(channel.settings["url"]), body)


def _alertmanager_alert(notification: Notification, alert: NotifiedAlert) -> dict[str, Any]:
    labels = {"alertname": notification.rule_id, "severity": str(notification.severity), **alert.labels}
    annotations = {**alert.annotations}
    annotations.setdefault("value", _number(alert.value))
    return {
        "status": alert.status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(alert.ends_at) if alert.ends_at else ALERTMANAGER_ZERO_TIME,
        "generatorURL": link(notification),
        "fingerprint": alert.fingerprint,
    }


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    return {key: value for key, value in maps[0].items() if all(other.get(key) == value for other in maps[1:])}


# --- generic webhook -------------------------------------------------------------------------------------------------


def webhook_request(channel: Channel, notification: Notification, now: dt.datetime) -> Request:
    """ccmon's own JSON, with the send time in `X-Ccmon-Timestamp` (Unix seconds) and signed:
    `X-Ccmon-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>` (see `signature`)."""
    body = orjson.dumps(notification_to_json(notification))
    request = _json_request(str(channel.settings["url"]), body)
    timestamp = str(int(now.timestamp()))
    headers = {
        **dict(header_pairs(channel)),
        **request.headers,
        "X-Ccmon-Signature": signature(str(channel.settings["secret"]), timestamp, body),
        "X-Ccmon-Timestamp": timestamp,
    }
    return Request(request.method, request.url, headers, body)


def notification_to_json(notification: Notification) -> dict[str, Any]:
    return {
        "version": "1",
        "group_key": notification.group_key,
        "status": notification.status,
        "rule_id": notification.rule_id,
        "rule_name": notification.rule_name,
        "severity": str(notification.severity),
        "group_labels": dict(notification.group_labels),
        "external_url": notification.external_url,
        "alerts": [
            {
                "status": alert.status,
                "labels": dict(alert.labels),
                "annotations": dict(alert.annotations),
                "starts_at": rfc3339(alert.starts_at),
                "ends_at": rfc3339(alert.ends_at) if alert.ends_at else None,
                "fingerprint": alert.fingerprint,
                "value": alert.value,
            }
            for alert in notification.alerts
        ],
    }


def notification_from_json(data: Mapping[str, Any]) -> Notification:
    """The inverse of `notification_to_json` (KeyError/ValueError on a body it did not write)."""
    return Notification(
        group_key=str(data["group_key"]),
        status=str(data["status"]),
        rule_id=str(data["rule_id"]),
        rule_name=str(data["rule_name"]),
        severity=Severity(data["severity"]),
        group_labels={str(k): str(v) for k, v in data["group_labels"].items()},
        external_url=str(data.get("external_url", "")),
        alerts=tuple(
            NotifiedAlert(
                status=str(alert["status"]),
                labels={str(k): str(v) for k, v in alert["labels"].items()},
                annotations={str(k): str(v) for k, v in alert["annotations"].items()},
                starts_at=_parse_iso(alert["starts_at"]),
                ends_at=_parse_iso(alert["ends_at"]) if alert.get("ends_at") else None,
                fingerprint=str(alert["fingerprint"]),
                value=float(alert["value"]),
            )
            for alert in data["alerts"]
        ),
    )


# --- email -----------------------------------------------------------------------------------------------------------


def email_message(channel: Channel, notification: Notification, now: dt.datetime) -> EmailMessage:
    """A multipart/alternative email (plain text and HTML), subject `[FIRING:2] Rule name`."""
    message = EmailMessage()
    message["Subject"] = title(notification)
    message["From"] = str(channel.settings["from"])
    recipients = channel.settings["to"]
    message["To"] = ", ".join(recipients) if isinstance(recipients, tuple) else str(recipients)
    message["Date"] = format_datetime(now.astimezone(dt.UTC))
    message["Message-ID"] = make_msgid(domain="ccmon")
    message["X-Ccmon-Group"] = dedup_key(notification.group_key)
    message.set_content(_email_text(notification))
    message.add_alternative(_email_html(notification), subtype="html")
    return message


def _email_text(notification: Notification) -> str:
    lines = [title(notification), f"Severity: {notification.severity}   Rule: {notification.rule_id}", ""]
    for alert in notification.alerts:
        lines.append(f"{alert.status.upper()}  {alert_line(alert)}")
        lines.append(f"  value: {_number(alert.value)}   since: {rfc3339(alert.starts_at)}")
        if alert.ends_at:
            lines.append(f"  ended: {rfc3339(alert.ends_at)}")
        lines.extend(f"  {key}: {value}" for key, value in sorted(alert.labels.items()))
        lines.append("")
    if url := link(notification):
        lines.append(f"Open in ccmon: {url}")
    return "\n".join(lines) + "\n"


def _email_html(notification: Notification) -> str:
    e = html.escape
    colour = "#c62828" if notification.status == "firing" else "#2e7d32"
    rows = []
    for alert in notification.alerts:
        labels = "<br>".join(f"{e(key)}={e(value)}" for key, value in sorted(alert.labels.items()))
        rows.append(
            f"<tr><td>{e(alert.status.upper())}</td><td>{e(alert_line(alert))}</td>"
            f"<td>{e(_number(alert.value))}</td><td>{e(rfc3339(alert.starts_at))}</td><td>{labels}</td></tr>"
        )
    url = link(notification)
    footer = f'<p><a href="{e(url)}">Open in ccmon</a></p>' if url else ""
    return (
        "<!DOCTYPE html><html><body>"
        f'<h2 style="color:{colour}">{e(title(notification))}</h2>'
        f"<p>Severity <b>{e(str(notification.severity))}</b> &middot; rule <code>{e(notification.rule_id)}</code></p>"
        '<table border="1" cellpadding="4" cellspacing="0">'
        "<tr><th>Status</th><th>Summary</th><th>Value</th><th>Since</th><th>Labels</th></tr>"
        f"{''.join(rows)}</table>{footer}</body></html>"
    )


# --- helpers ---------------------------------------------------------------------------------------------------------


def _json_request(url: str, body: Any) -> Request:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return Request("POST", url, {"Content-Type": "application/json", "User-Agent": USER_AGENT}, data)


def _parse_iso(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _number(value: float) -> str:
    return f"{value:.6g}"


def _label_text(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(labels.items()))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
