from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import hashlib
import hmac
from email.message import EmailMessage
from typing import Any

import orjson
import pytest

from ccmon.alerts.channels import parse_channel
from ccmon.alerts.model import Channel, Severity
from ccmon.alerts.payloads import (
    ALERTMANAGER_ZERO_TIME,
    Request,
    alertmanager_request,
    build,
    dedup_key,
    email_message,
    notification_from_json,
    notification_to_json,
    pagerduty_request,
    slack_request,
    teams_request,
    title,
    verify_signature,
    webhook_request,
)
from tests.alerts.receivers import T0, notification

NOW = T0 + dt.timedelta(minutes=30)


def channel(kind: str, **settings: Any) -> Channel:
    defaults: dict[str, dict[str, Any]] = {
        "slack": {"url": "https://hooks.slack.com/services/T/B/x"},
        "teams": {"url": "https://prod.westeurope.logic.azure.com/workflows/x"},
        "pagerduty": {"routing_key": "R0UTINGKEY"},
        "alertmanager": {"url": "http://receiver.example/alerts"},
        "webhook": {"url": "https://hooks.example/ccmon", "secret": "s3cret"},
        "email": {"host": "smtp.example.com", "from": "ccmon@example.com", "to": ["ops@example.com"]},
    }
    return parse_channel(f"{kind}-channel", {"kind": kind, **defaults[kind], **settings})


def body(request: Request) -> Any:
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    return orjson.loads(request.body)


def test_title_counts_firing_alerts_like_alertmanager() -> None:
    assert title(notification(alerts=2)) == "[FIRING:2] Daily spend over budget (team=platform)"
    assert title(notification("resolved", group_labels={})) == "[RESOLVED] Daily spend over budget"


def test_slack_message_has_fallback_text_and_blocks() -> None:
    request = slack_request(channel("slack"), notification(alerts=2))
    assert request.url == "https://hooks.slack.com/services/T/B/x"
    message = body(request)
    assert message["text"].startswith("[FIRING:2] Daily spend over budget")
    assert "dev0 spent 10.50 USD today" in message["text"]
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds == ["header", "section", "section", "context"]
    assert message["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "[FIRING:2] Daily spend over budget (team=platform)",
        "emoji": True,
    }
    assert "dev1 spent 11.50 USD today" in message["blocks"][2]["text"]["text"]
    context = message["blocks"][-1]["elements"][0]["text"]
    assert "<https://ccmon.example.com/alerts?rule=daily-spend|Open in ccmon>" in context


def test_slack_lists_ten_alerts_then_counts_the_rest() -> None:
    message = body(slack_request(channel("slack"), notification(alerts=13)))
    sections = [block for block in message["blocks"] if block["type"] == "section"]
    assert len(sections) == 11
    assert sections[-1]["text"]["text"] == "and 3 more"


def test_slack_escapes_labels_so_they_cannot_ping_or_link() -> None:
    message = body(slack_request(channel("slack"), notification(labels={"team": "<!channel> & <http://evil|x>"})))
    section = message["blocks"][1]["text"]["text"]
    assert "<!channel>" not in section
    assert "&lt;!channel&gt; &amp; &lt;http://evil|x&gt;" in section


def test_slack_fallback_text_is_escaped_too() -> None:
    """The fallback `text` (what notifications and screen readers show) is mrkdwn as well: a group label naming
    `<!channel>` must not ping the channel from there either."""
    hostile = "<!channel> & <http://evil|x>"
    message = body(slack_request(channel("slack"), notification(group_labels={"team": hostile})))
    assert "<!" not in message["text"] and "<http" not in message["text"]
    assert message["text"].startswith(
        "[FIRING:2] Daily spend over budget (team=&lt;!channel&gt; &amp; &lt;http://evil|x&gt;)"
    )
    # The header is plain_text, which Slack does not parse: it keeps the label as written.
    assert message["blocks"][0]["text"]["text"].endswith(f"(team={hostile})")


def test_teams_message_is_an_adaptive_card_of_text_blocks() -> None:
    message = body(teams_request(channel("teams"), notification(alerts=12)))
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.2")
    assert {block["type"] for block in card["body"]} == {"TextBlock"}
    texts = [block["text"] for block in card["body"]]
    assert texts[0] == "[FIRING:12] Daily spend over budget (team=platform)"
    assert texts[-1] == "and 2 more"
    assert sum("FIRING: dev" in text for text in texts) == 10
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in ccmon", "url": "https://ccmon.example.com/alerts?rule=daily-spend"}
    ]


def test_pagerduty_trigger_and_resolve_share_one_dedup_key() -> None:
    pd = channel("pagerduty")
    trigger = body(pagerduty_request(pd, notification("firing")))
    resolve = body(pagerduty_request(pd, notification("resolved")))
    assert trigger["event_action"] == "trigger"
    assert resolve["event_action"] == "resolve"
    expected = hashlib.sha256(b"ccmon:daily-spend|team=platform").hexdigest()
    assert trigger["dedup_key"] == resolve["dedup_key"] == expected == dedup_key("daily-spend|team=platform")
    assert trigger["routing_key"] == resolve["routing_key"] == "R0UTINGKEY"
    assert "payload" not in resolve
    payload = trigger["payload"]
    assert payload["source"] == "ccmon"
    assert payload["severity"] == "warning"
    assert payload["timestamp"] == "2025-06-02T09:31:00Z"
    assert payload["summary"].startswith("[FIRING:2] Daily spend over budget (team=platform): dev0 spent")
    details = payload["custom_details"]
    assert details["rule_id"] == "daily-spend"
    assert details["alerts"][1]["labels"] == {"team": "platform", "person": "dev1@example.com"}
    assert details["alerts"][1]["value"] == 11.5
    assert pagerduty_request(pd, notification()).url == "https://events.pagerduty.com/v2/enqueue"


def test_pagerduty_keeps_within_its_limits_and_maps_every_severity() -> None:
    long = notification(rule_name="x" * 2000, group_key="k" * 5000)
    event = body(pagerduty_request(channel("pagerduty"), long))
    assert len(event["payload"]["summary"]) == 1024
    assert len(event["dedup_key"]) <= 255
    for severity in Severity:
        event = body(pagerduty_request(channel("pagerduty"), notification(severity=severity)))
        assert event["payload"]["severity"] == str(severity)


def test_alertmanager_webhook_v4() -> None:
    am = channel("alertmanager")
    firing = body(alertmanager_request(am, notification("firing")))
    assert firing["version"] == "4"
    assert firing["groupKey"] == "daily-spend|team=platform"
    assert firing["status"] == "firing"
    assert firing["receiver"] == "alertmanager-channel"
    assert firing["groupLabels"] == {"team": "platform"}
    assert firing["commonLabels"] == {"alertname": "daily-spend", "severity": "warning", "team": "platform"}
    assert firing["commonAnnotations"] == {}
    assert firing["externalURL"] == "https://ccmon.example.com"
    first = firing["alerts"][0]
    assert first == {
        "status": "firing",
        "labels": {"alertname": "daily-spend", "severity": "warning", "team": "platform", "person": "dev0@example.com"},
        "annotations": {"summary": "dev0 spent 10.50 USD today", "value": "10.5"},
        "startsAt": "2025-06-02T09:30:00Z",
        "endsAt": ALERTMANAGER_ZERO_TIME,
        "generatorURL": "https://ccmon.example.com/alerts?rule=daily-spend",
        "fingerprint": "0000000000000000",
    }
    resolved = body(alertmanager_request(am, notification("resolved")))
    assert resolved["status"] == "resolved"
    assert {alert["endsAt"] for alert in resolved["alerts"]} == {"2025-06-02T10:30:00Z"}


def test_webhook_is_signed_with_the_secret_over_timestamp_and_body() -> None:
    hook = channel("webhook", headers={"Authorization": "Bearer abc"})
    request = webhook_request(hook, notification(), NOW)
    assert request.headers["Authorization"] == "Bearer abc"
    timestamp = request.headers["X-Ccmon-Timestamp"]
    assert timestamp == str(int(NOW.timestamp()))
    signature = request.headers["X-Ccmon-Signature"]
    # What docs/alerts.md tells a receiver to compute, independently of `signature`.
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert verify_signature("s3cret", timestamp, request.body, signature)
    assert not verify_signature("another", timestamp, request.body, signature)
    assert not verify_signature("s3cret", timestamp, request.body + b" ", signature)
    # A replay under a fresh timestamp does not verify: the timestamp is signed.
    assert not verify_signature("s3cret", str(int(NOW.timestamp()) + 3600), request.body, signature)
    later = webhook_request(hook, notification(), NOW + dt.timedelta(seconds=1))
    assert later.body == request.body and later.headers["X-Ccmon-Signature"] != signature
    assert notification_from_json(orjson.loads(request.body)) == notification()


def test_notification_json_round_trips() -> None:
    for status in ("firing", "resolved"):
        original = notification(status, alerts=3)
        assert notification_from_json(orjson.loads(orjson.dumps(notification_to_json(original)))) == original


def test_email_has_alertmanager_subject_and_escaped_text_and_html_parts() -> None:
    hostile = {"team": "<script>alert(1)</script>"}
    message = email_message(channel("email"), notification(labels=hostile), NOW)
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "[FIRING:2] Daily spend over budget (team=platform)"
    assert parsed["To"] == "ops@example.com"
    assert parsed.get_content_type() == "multipart/alternative"
    text_part, html_part = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, page = text_part.get_content(), html_part.get_content()
    assert "dev1 spent 11.50 USD today" in text
    assert "team: <script>alert(1)</script>" in text
    assert "<script>" not in page
    assert "team=&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="https://ccmon.example.com/alerts?rule=daily-spend">' in page


def test_build_picks_the_builder_of_the_kind() -> None:
    for kind in ("slack", "teams", "pagerduty", "alertmanager", "webhook"):
        assert isinstance(build(channel(kind), notification(), NOW), Request)
    assert isinstance(build(channel("email"), notification(), NOW), EmailMessage)
    with pytest.raises(ValueError, match="unknown kind"):
        build(dataclasses.replace(channel("slack"), kind="sms"), notification(), NOW)
