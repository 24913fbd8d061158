from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ccmon.alerts.channels import parse_channel
from ccmon.alerts.deliveries import Deliveries, Delivery
from ccmon.alerts.email import send_email
from ccmon.alerts.model import Channel
from ccmon.alerts.payloads import email_message
from ccmon.store.facade import Store
from ccmon.store.records import utc_now
from tests.alerts.receivers import Mail, SmtpReceiver, notification, self_signed_certificate, server_tls_context

NOW = utc_now().replace(microsecond=0)
"""Close to the real time: `alert_deliveries` has a TTL on `created_at`."""

# aiosmtpd itself sets the deprecated Session.login_data after a successful AUTH.
login_deprecation = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")


def mail_channel(port: int, **settings: Any) -> Channel:
    return parse_channel(
        "mail",
        {
            "kind": "email",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from": "ccmon <ccmon@example.com>",
            "to": ["ops@example.com", "lead@example.com"],
            **settings,
        },
    )


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


def deliver(store: Store, channel: Channel, *, now: dt.datetime = NOW, **options: Any) -> tuple[Deliveries, Delivery]:
    deliveries = Deliveries(store, {"mail": channel}, lambda: now, timeout_s=5, **options)
    deliveries.enqueue(notification(labels={"team": "<b>platform</b>"}), ["mail"])
    deliveries.run_due(now)
    (delivery,) = deliveries.recent()
    return deliveries, delivery


def check_mail(mail: Mail) -> None:
    message = mail.message
    assert mail.mail_from == "ccmon@example.com"
    assert mail.rcpt_tos == ["ops@example.com", "lead@example.com"]
    assert message["Subject"] == "[FIRING:2] Daily spend over budget (team=platform)"
    assert message["From"] == "ccmon <ccmon@example.com>"
    assert message.get_content_type() == "multipart/alternative"
    text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, page = text_part.get_content(), html_part.get_content()
    assert "dev0 spent 10.50 USD today" in text and "team: <b>platform</b>" in text
    assert "dev1 spent 11.50 USD today" in page
    assert "<b>platform</b>" not in page and "team=&lt;b&gt;platform&lt;/b&gt;" in page


def test_plain_smtp(store: Store) -> None:
    with SmtpReceiver() as smtp:
        _, delivery = deliver(store, mail_channel(smtp.port))
    assert (delivery.state, delivery.attempts, delivery.last_status, delivery.kind) == ("sent", 1, 250, "email")
    (mail,) = smtp.mails
    check_mail(mail)
    assert not mail.tls


@login_deprecation
def test_starttls_with_login(store: Store, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    with SmtpReceiver(starttls=server_tls_context(cert, key), login=("ccmon", "pa55word")) as smtp:
        channel = mail_channel(smtp.port, security="starttls", ca_file=str(cert), username="ccmon", password="pa55word")
        _, delivery = deliver(store, channel)
    assert (delivery.state, delivery.last_status, delivery.last_error) == ("sent", 250, "")
    (mail,) = smtp.mails
    check_mail(mail)
    assert (mail.tls, mail.login) == (True, "ccmon")


def test_implicit_tls(store: Store, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    with SmtpReceiver(implicit_tls=server_tls_context(cert, key)) as smtp:
        _, delivery = deliver(store, mail_channel(smtp.port, security="tls", ca_file=str(cert)))
    assert delivery.state == "sent"
    (mail,) = smtp.mails
    assert mail.tls


def test_an_untrusted_certificate_fails_without_retry(store: Store, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    with SmtpReceiver(starttls=server_tls_context(cert, key)) as smtp:
        _, delivery = deliver(store, mail_channel(smtp.port, security="starttls"))
    assert delivery.state == "failed"
    assert delivery.last_error.startswith("TLS certificate of 127.0.0.1 not trusted")
    assert smtp.mails == []


@login_deprecation
def test_a_refused_login_fails_without_retry_or_password(store: Store, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    with SmtpReceiver(starttls=server_tls_context(cert, key), login=("ccmon", "right-password")) as smtp:
        channel = mail_channel(
            smtp.port, security="starttls", ca_file=str(cert), username="ccmon", password="wrong-password"
        )
        _, delivery = deliver(store, channel)
    assert (delivery.state, delivery.last_status) == ("failed", 535)
    assert delivery.last_error == "SMTP login refused (535)"
    assert smtp.mails == []


def test_a_4xx_reply_is_retried_and_a_5xx_is_not(store: Store) -> None:
    with SmtpReceiver() as smtp:
        smtp.then("451 4.3.0 mailbox busy, try later")
        deliveries, delivery = deliver(store, mail_channel(smtp.port), backoff_s=10)
        assert (delivery.state, delivery.last_status) == ("retrying", 451)
        assert delivery.last_error == "SMTP 451: 4.3.0 mailbox busy, try later"
        deliveries.run_due(NOW + dt.timedelta(seconds=10))
        (retried,) = deliveries.recent()
        assert (retried.state, retried.attempts) == ("sent", 2)
        assert len(smtp.mails) == 1

        smtp.then("550 5.7.1 relaying denied")
        outcome = send_email(mail_channel(smtp.port), email_message(mail_channel(smtp.port), notification(), NOW), 5)
        assert (outcome.sent, outcome.retryable, outcome.code) == (False, False, 550)
        assert outcome.error == "SMTP 550: 5.7.1 relaying denied"


def test_an_unreachable_server_is_retried(store: Store) -> None:
    with SmtpReceiver() as smtp:
        port = smtp.port
    _, delivery = deliver(store, mail_channel(port))
    assert (delivery.state, delivery.last_status) == ("retrying", 0)
    assert delivery.last_error.startswith(f"SMTP 127.0.0.1:{port}: ")
