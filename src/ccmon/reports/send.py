"""Sending the weekly report to alert channels, with the alerts' own notifier code.

An email channel gets a multipart message: plain text (the Markdown), and HTML whose charts are PNG parts of a
`multipart/related` referenced as `cid:` (mail clients block remote images and scripts; inline parts always show),
sent by `alerts.email.send_email`. A Slack channel gets the Block Kit post on its incoming webhook, sent as an alert
delivery attempt sends it. Other kinds (Teams, PagerDuty, webhooks) are refused: a report is not an incident.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import orjson

from ccmon.alerts.deliveries import send_request_once
from ccmon.alerts.email import send_email
from ccmon.alerts.model import Channel
from ccmon.alerts.payloads import Request
from ccmon.analytics import Analytics
from ccmon.reports.render import markdown, slack, to_html
from ccmon.reports.report import WeeklyReport, build_report
from ccmon.reports.weekly import Week

KINDS = ("email", "slack")
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Sent:
    channel: str
    ok: bool
    error: str = ""


class ChannelError(ValueError):
    """A channel that is not configured, or of a kind a report cannot go to."""


def resolve(names: Sequence[str], channels: Mapping[str, Channel]) -> list[Channel]:
    """The channels named, in order; a ChannelError naming the first one missing or of another kind."""
    found = []
    for name in names:
        channel = channels.get(name)
        if channel is None:
            known = ", ".join(sorted(channels)) or "none: set alerts_file"
            raise ChannelError(f"no alert channel named {name!r} (configured: {known})")
        if channel.kind not in KINDS:
            raise ChannelError(f"channel {name!r} is a {channel.kind} channel; reports go to email or slack channels")
        found.append(channel)
    return found


def email_message(channel: Channel, report: WeeklyReport, now: datetime | None = None) -> EmailMessage:
    """multipart/alternative: text/plain (the Markdown), then multipart/related holding the HTML and its PNGs."""
    message = EmailMessage()
    message["Subject"] = report.title
    message["From"] = str(channel.settings["from"])
    recipients = channel.settings["to"]
    message["To"] = ", ".join(recipients) if isinstance(recipients, tuple) else str(recipients)
    message["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    message["Message-ID"] = make_msgid(domain="ccmon")
    message.set_content(markdown(report))
    page = to_html(report, inline=False)
    message.add_alternative(page.html, subtype="html")
    html_part = next(part for part in message.iter_parts() if part.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)
    for cid, png in page.images.items():
        html_part.add_related(
            png, maintype="image", subtype="png", cid=f"<{cid}>", disposition="inline", filename=f"{cid}.png"
        )
    return message


def send(report: WeeklyReport, channels: Sequence[Channel], timeout_s: float = TIMEOUT_S) -> list[Sent]:
    """Send to each channel once; one channel failing does not stop the others."""
    results = []
    for channel in channels:
        if channel.kind == "email":
            outcome = send_email(channel, email_message(channel, report), timeout_s)
            results.append(Sent(channel.name, outcome.sent, outcome.error))
        else:
            body = orjson.dumps(slack(report))
            request = Request("POST", str(channel.settings["url"]), {"content-type": "application/json"}, body)
            ok, error = send_request_once(channel, request, timeout_s)
            results.append(Sent(channel.name, ok, error))
    return results


def sender(
    analytics: Analytics, channels: Callable[[], Mapping[str, Channel]], names: Sequence[str]
) -> Callable[[Week], list[Sent]]:
    """What the schedule calls for a week: build the report (organisation-wide, priced with the analytics' price
    table) and send it to the channels named, looked up at each firing (the alerts file may have been reloaded)."""

    def send_week(week: Week) -> list[Sent]:
        targets = resolve(names, channels())
        return send(build_report(analytics, week), targets)

    return send_week
