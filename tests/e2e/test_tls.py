"""TLS and mTLS on the listeners, with certificates made here by `cryptography` and the OpenTelemetry SDK exporters
as clients: over TLS the data is stored; under mTLS an exporter without a client certificate fails and nothing is
stored; a plain-text connection to a TLS port fails; a wrong file stops the start-up with a clear error."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter

from ccmon.server import Server
from ccmon.settings import ConfigError
from tests.e2e.test_otel_sdk import DELTA, _run_session
from tests.support import RunningServer, in_process_server, make_config


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signer = issuer or (name, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key, server_key, client_key = _key(), _key(), _key()
    ca = _cert("ccmon test CA", ca_key, None, ca=True)
    issuer = (ca.subject, ca_key)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(_cert("localhost", server_key, issuer, server=True).public_bytes(pem))
    (folder / "client.pem").write_bytes(_cert("laptop", client_key, issuer).public_bytes(pem))
    return Pki(
        ca=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=_write_key(server_key, folder / "server.key"),
        client_cert=folder / "client.pem",
        client_key=_write_key(client_key, folder / "client.key"),
        other_key=_write_key(_key(), folder / "other.key"),
    )


@pytest.fixture(autouse=True)
def _no_ca_bundle_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE win over a session's own CA file (psf/requests#3829), so
    with them set the HTTP exporter would ignore `certificate_file`."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@contextlib.contextmanager
def tls_server(chdb_path: Path, pki: Pki, *, mtls: bool) -> Iterator[RunningServer]:
    config = make_config(
        chdb_path,
        database=f"test_{uuid.uuid4().hex[:12]}",
        tls_cert_file=str(pki.server_cert),
        tls_key_file=str(pki.server_key),
        tls_client_ca_file=str(pki.ca) if mtls else None,
    )
    with in_process_server(config) as running:
        yield running


def summary(server: RunningServer, pki: Pki) -> dict[str, Any]:
    """The summary over HTTPS: the UI/API port speaks TLS too, and never asks for a client certificate."""
    response = httpx.get(
        f"https://127.0.0.1:{server.config.port}/api/v1/summary",
        params={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"},
        verify=ssl.create_default_context(cafile=str(pki.ca)),
        timeout=30,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def exporters(server: RunningServer, pki: Pki, transport: str, *, client_cert: bool) -> tuple[Any, Any]:
    """Exporters that trust our CA; with `client_cert` they present the client certificate. A refused handshake is
    retried until the timeout, so it is short where a refusal is expected; a busy machine's first commit needs more."""
    timeout = 30 if client_cert or not server.config.tls_client_ca_file else 3
    cert = pki.client_cert.read_bytes() if client_cert else None
    key = pki.client_key.read_bytes() if client_cert else None
    if transport == "grpc":

        def credentials() -> grpc.ChannelCredentials:
            return grpc.ssl_channel_credentials(pki.ca.read_bytes(), private_key=key, certificate_chain=cert)

        target = f"127.0.0.1:{server.config.otlp_grpc_port}"
        return (
            GrpcMetricExporter(
                target, insecure=False, credentials=credentials(), preferred_temporality=DELTA, timeout=timeout
            ),
            GrpcLogExporter(target, insecure=False, credentials=credentials(), timeout=timeout),
        )
    base = f"https://127.0.0.1:{server.config.otlp_http_port}/v1"
    files: dict[str, Any] = {"certificate_file": str(pki.ca), "timeout": timeout}
    if client_cert:
        files.update(client_certificate_file=str(pki.client_cert), client_key_file=str(pki.client_key))
    return (
        HttpMetricExporter(f"{base}/metrics", preferred_temporality=DELTA, **files),
        HttpLogExporter(f"{base}/logs", **files),
    )


@pytest.mark.parametrize("transport", ["grpc", "http"])
@pytest.mark.parametrize("mtls", [False, True], ids=["tls", "mtls"])
def test_sdk_exporters_over_tls(chdb_path: Path, pki: Pki, transport: str, mtls: bool) -> None:
    with tls_server(chdb_path, pki, mtls=mtls) as server:
        _run_session(*exporters(server, pki, transport, client_cert=mtls), requests=3)
        body = summary(server, pki)
    assert body["api_requests"] == 3
    assert body["cost_usd"] == pytest.approx(0.03)
    assert body["tokens"]["input"] == 3000


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_mtls_refuses_exporters_without_a_client_certificate(chdb_path: Path, pki: Pki, transport: str) -> None:
    with tls_server(chdb_path, pki, mtls=True) as server:
        _run_session(*exporters(server, pki, transport, client_cert=False), requests=2)
        with pytest.raises(httpx.TransportError):
            httpx.post(
                f"https://127.0.0.1:{server.config.otlp_http_port}/v1/logs",
                content=b"",
                headers={"content-type": "application/x-protobuf"},
                verify=ssl.create_default_context(cafile=str(pki.ca)),
                timeout=10,
            )
        body = summary(server, pki)
    assert body["api_requests"] == 0
    assert body["cost_usd"] == 0
    assert body["tokens"]["input"] == 0


def test_plain_text_to_a_tls_port_fails(chdb_path: Path, pki: Pki) -> None:
    with tls_server(chdb_path, pki, mtls=False) as server:
        for port in (server.config.port, server.config.otlp_http_port):
            with pytest.raises(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        with grpc.insecure_channel(f"127.0.0.1:{server.config.otlp_grpc_port}") as channel:
            export = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export")
            with pytest.raises(grpc.RpcError) as failure:
                export(b"", timeout=5)
            assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
        # The same ports answer over TLS.
        ok = httpx.get(
            f"https://127.0.0.1:{server.config.port}/healthz",
            verify=ssl.create_default_context(cafile=str(pki.ca)),
            timeout=10,
        )
        assert ok.status_code == 200


def test_bad_tls_files_stop_the_start_with_a_clear_error(tmp_path: Path, pki: Pki) -> None:
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    unreadable = tmp_path / "secret.key"
    unreadable.write_bytes(pki.server_key.read_bytes())
    unreadable.chmod(0)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"tls_cert_file": str(pki.server_cert)}, "--tls-key-file is not"),
        ({"tls_key_file": str(pki.server_key)}, "--tls-cert-file is not"),
        ({"tls_client_ca_file": str(pki.ca)}, "needs --tls-cert-file"),
        ({"tls_cert_file": str(tmp_path / "missing.pem"), "tls_key_file": str(pki.server_key)}, "no such file"),
        ({"tls_cert_file": str(not_pem), "tls_key_file": str(pki.server_key)}, "not a PEM file"),
        ({"tls_cert_file": str(pki.server_cert), "tls_key_file": str(pki.other_key)}, "cannot be used together"),
        ({"tls_cert_file": str(pki.server_cert), "tls_key_file": str(tmp_path)}, "is a folder"),
        (
            {
                "tls_cert_file": str(pki.server_cert),
                "tls_key_file": str(pki.server_key),
                "tls_client_ca_file": str(not_pem),
            },
            "not a PEM file",
        ),
    ]
    if os.geteuid() != 0:  # root reads any file
        cases.append(({"tls_cert_file": str(pki.server_cert), "tls_key_file": str(unreadable)}, "cannot be read"))
    for overrides, message in cases:
        with pytest.raises(ConfigError, match=message):
            Server(make_config(tmp_path, **overrides))
