"""The weekly report over the alert channels: email to a real local SMTP server (aiosmtpd), Slack to a recording
HTTP receiver."""

from __future__ import annotations

from email.message import EmailMessage

import orjson
import pytest

from ccmon.alerts.channels import parse_channel
from ccmon.analytics import Analytics
from ccmon.reports.report import WeeklyReport, build_report
from ccmon.reports.send import ChannelError, resolve, send
from tests.alerts.receivers import HttpReceiver, Reply, SmtpReceiver
from tests.alerts.test_email import mail_channel
from tests.reports.data import WEEK
from tests.reports.png import decode


@pytest.fixture
def report(analytics: Analytics) -> WeeklyReport:
    return build_report(analytics, WEEK)


def test_the_report_arrives_by_email_with_its_figures_and_inline_charts(report: WeeklyReport) -> None:
    with SmtpReceiver() as smtp:
        assert [sent.ok for sent in send(report, [mail_channel(smtp.port)])] == [True]
    (mail,) = smtp.mails
    message = mail.message
    assert message["Subject"] == "Claude Code weekly report 2026-W47"
    assert sorted(mail.rcpt_tos) == ["lead@example.com", "ops@example.com"]
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    assert isinstance(plain, EmailMessage) and "| Total cost | $48.00 | $20.00 | +140.0% |" in plain.get_content()
    related = next(part for part in message.iter_parts() if part.get_content_type() == "multipart/related")
    html, *images = list(related.iter_parts())
    page = html.get_content()
    assert "$48.00" in page and "+140.0%" in page and "Send short requests to Sonnet" in page
    assert len(images) == 3
    for image in images:
        assert image.get_content_type() == "image/png" and image.get("Content-Disposition", "").startswith("inline")
        cid = str(image["Content-ID"]).strip("<>")
        assert f'src="cid:{cid}"' in page
        decode(image.get_content())


def test_the_slack_post_goes_to_the_webhook(report: WeeklyReport) -> None:
    with HttpReceiver() as receiver:
        channel = parse_channel("team", {"kind": "slack", "url": receiver.url})
        assert [sent.ok for sent in send(report, [channel])] == [True]
        (request,) = receiver.wait_for(1)
    body = orjson.loads(request.body)
    assert body["text"].startswith("Claude Code weekly report 2026-W47") and body["blocks"][0]["type"] == "header"


def test_one_failing_channel_does_not_stop_the_others(report: WeeklyReport) -> None:
    with HttpReceiver() as receiver, SmtpReceiver() as smtp:
        receiver.then(Reply(404, b"no_service"))
        slack = parse_channel("team", {"kind": "slack", "url": receiver.url})
        results = send(report, [slack, mail_channel(smtp.port)])
    assert [(sent.channel, sent.ok) for sent in results] == [("team", False), ("mail", True)]
    assert "HTTP 404" in results[0].error and len(smtp.mails) == 1


def test_channels_are_resolved_by_name_and_kind() -> None:
    channels = {
        "mail": mail_channel(25),
        "pager": parse_channel("pager", {"kind": "pagerduty", "routing_key": "k" * 32}),
    }
    assert [c.name for c in resolve(["mail"], channels)] == ["mail"]
    with pytest.raises(ChannelError, match=r"no alert channel named 'ops' \(configured: mail, pager\)"):
        resolve(["ops"], channels)
    with pytest.raises(ChannelError, match="'pager' is a pagerduty channel; reports go to email or slack"):
        resolve(["pager"], channels)
