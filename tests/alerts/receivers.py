"""Real receivers for notification tests: an HTTP server that records what it is sent and answers as told (200, a
500 once, 429 with Retry-After, 400, or no answer at all), and an SMTP server (aiosmtpd: plain, STARTTLS or implicit
TLS, optionally with a login) that keeps the mails it accepts, parsed. Both run in threads of the test process, on
free loopback ports, and close everything they open.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ccmon.alerts.model import Notification, NotifiedAlert, Severity

HANG = -1
"""A scripted reply that never answers (until the receiver closes)."""


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes
    at: float
    """time.monotonic() when the request had been read."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b"ok"
    headers: Mapping[str, str] = field(default_factory=dict)


class HttpReceiver:
    """`with HttpReceiver() as receiver:` — POST to `receiver.url` (any path); `receiver.then(Reply(500))` scripts
    the next answer (answers are used in order, then 200 `ok`); `receiver.then(HANG)` makes one request wait."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._script: list[Reply | int] = []
        self._closing = threading.Event()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 30

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                received = Received(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()
                )
                reply = receiver._record(received)
                if reply == HANG:
                    receiver._closing.wait(30)
                    self.close_connection = True
                    return
                assert isinstance(reply, Reply)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def then(self, *replies: Reply | int) -> HttpReceiver:
        with self._lock:
            self._script.extend(replies)
        return self

    def wait_for(self, count: int, timeout_s: float = 10) -> list[Received]:
        """The first `count` requests, waiting for them to arrive."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= count, timeout_s):
                raise AssertionError(f"expected {count} requests, got {len(self._requests)}")
            return list(self._requests[:count])

    def _record(self, received: Received) -> Reply | int:
        with self._arrived:
            self._requests.append(received)
            self._arrived.notify_all()
            return self._script.pop(0) if self._script else Reply(200)

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()  # joins the handler threads (daemon_threads False)
        self._thread.join()


# --- SMTP ------------------------------------------------------------------------------------------------------------


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) for `host` and localhost; returns (certificate, key) PEM paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ccmon test SMTP")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def server_tls_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    """Whether the session was encrypted (STARTTLS or implicit TLS) when the mail came."""
    login: str
    """Who logged in, or ""."""


class SmtpReceiver:
    """`with SmtpReceiver(starttls=context) as smtp:` — an SMTP server on `smtp.port`. `starttls` offers (and
    requires) STARTTLS, `implicit_tls` wraps the connection from the start, `login=(user, password)` requires AUTH.
    `then("451 4.3.0 try again later")` scripts the answer to the next DATA."""

    def __init__(
        self,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.mails: list[Mail] = []
        self._script: list[str] = []
        self._lock = threading.Lock()
        self._login = login
        self.port = _free_port()
        options: dict[str, Any] = {}
        if starttls:
            options.update(tls_context=starttls, require_starttls=True)
        if login:
            options.update(authenticator=self._authenticate, auth_required=True)
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ssl_context=implicit_tls, **options
        )

    def then(self, *replies: str) -> SmtpReceiver:
        with self._lock:
            self._script.extend(replies)
        return self

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self._login is not None
        ok = (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            )
            == self._login
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def _next_reply(self) -> str | None:
        with self._lock:
            return self._script.pop(0) if self._script else None

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._controller.stop()


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self._receiver = receiver

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        scripted = self._receiver._next_reply()
        if scripted:
            return scripted
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else b""
        transport = server.transport
        self._receiver.mails.append(
            Mail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
                login=login.decode(),
            )
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- notifications ---------------------------------------------------------------------------------------------------

T0 = dt.datetime(2025, 6, 2, 9, 30, tzinfo=dt.UTC)


def notification(
    status: str = "firing",
    *,
    alerts: int = 2,
    rule_id: str = "daily-spend",
    rule_name: str = "Daily spend over budget",
    severity: Severity = Severity.WARNING,
    group_labels: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    external_url: str = "https://ccmon.example.com",
    group_key: str | None = None,
) -> Notification:
    """A notification of `alerts` alerts of one rule (resolved ones carry an end time), for payload tests."""
    groups = dict(group_labels if group_labels is not None else {"team": "platform"})
    items = tuple(
        NotifiedAlert(
            status=status,
            labels={**groups, "person": f"dev{index}@example.com", **(labels or {})},
            annotations={"summary": f"dev{index} spent {10.5 + index:.2f} USD today"},
            starts_at=T0 + dt.timedelta(minutes=index),
            ends_at=T0 + dt.timedelta(hours=1) if status == "resolved" else None,
            fingerprint=f"{index:016x}",
            value=10.5 + index,
        )
        for index in range(alerts)
    )
    key = group_key or rule_id + "".join(f"|{k}={v}" for k, v in sorted(groups.items()))
    return Notification(
        group_key=key,
        status=status,
        rule_id=rule_id,
        rule_name=rule_name,
        severity=severity,
        group_labels=groups,
        alerts=items,
        external_url=external_url,
    )
