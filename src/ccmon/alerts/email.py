"""Sending a notification email over SMTP (smtplib): STARTTLS, implicit TLS or plain, a login when the channel has
one, and the server's reply sorted the way the delivery queue needs it.

SMTP says itself what is worth retrying: 4xx replies are transient ("try again later"), 5xx permanent. Network
trouble (refused, reset, timed out) is transient too. A certificate that does not verify, a login refused or a server
without STARTTLS are configuration errors: retrying them only repeats the failure, so they fail at once.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from ccmon.alerts.model import Channel


@dataclass(frozen=True)
class SmtpOutcome:
    sent: bool
    retryable: bool
    """When not sent: whether trying again later may work."""
    code: int
    """The server's last reply code (250 when accepted), 0 when there was no reply."""
    error: str
    """Short, for the delivery record; never the password."""


def send_email(channel: Channel, message: EmailMessage, timeout_s: float) -> SmtpOutcome:
    """Send `message` through the channel's SMTP server."""
    settings = channel.settings
    host, port, security = str(settings["host"]), int(str(settings["port"])), str(settings["security"])
    ca_file = str(settings["ca_file"]) if settings.get("ca_file") else None
    context = ssl.create_default_context(cafile=ca_file) if security != "none" else None
    recipients = settings["to"]
    to = list(recipients) if isinstance(recipients, tuple) else [str(recipients)]
    try:
        client = (
            smtplib.SMTP_SSL(host, port, timeout=timeout_s, context=context)
            if security == "tls"
            else smtplib.SMTP(host, port, timeout=timeout_s)
        )
        with client:
            if security == "starttls":
                client.starttls(context=context)
            if settings.get("username"):
                client.login(str(settings["username"]), str(settings["password"]))
            refused = client.send_message(message, to_addrs=to)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        transient = all(400 <= code < 500 for code in codes)
        return SmtpOutcome(False, transient, max(codes, default=0), f"every recipient refused ({_codes(codes)})")
    except smtplib.SMTPAuthenticationError as exc:
        return SmtpOutcome(False, False, exc.smtp_code, f"SMTP login refused ({exc.smtp_code})")
    except smtplib.SMTPNotSupportedError as exc:
        return SmtpOutcome(False, False, 0, f"SMTP server lacks a needed extension: {_first_line(str(exc))}")
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        transient = 400 <= exc.smtp_code < 500
        return SmtpOutcome(False, transient, exc.smtp_code, f"SMTP {exc.smtp_code}: {_first_line(reply)}")
    except ssl.SSLCertVerificationError as exc:
        return SmtpOutcome(False, False, 0, f"TLS certificate of {host} not trusted: {exc.verify_message}")
    except (OSError, smtplib.SMTPException) as exc:
        detail = _first_line(str(exc)) or type(exc).__name__
        return SmtpOutcome(False, True, 0, f"SMTP {host}:{port}: {detail}")
    if refused:
        codes = [code for code, _ in refused.values()]
        return SmtpOutcome(True, False, 250, f"{len(refused)} of {len(to)} recipients refused ({_codes(codes)})")
    return SmtpOutcome(True, False, 250, "")


def _codes(codes: list[int]) -> str:
    return ", ".join(str(code) for code in sorted(set(codes)))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else ""
