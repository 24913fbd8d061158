"""TLS for the three listeners, from PEM files: the server's certificate and key, and optionally a CA whose client
certificates the OTLP receivers then require (mTLS). The UI/API port never asks for a client certificate: browsers
and people log in instead.

Every file is read and checked at start-up, before anything listens, so a missing, unreadable or mismatched file is
one clear error rather than a handshake failure on the first export.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccmon.settings import Config, ConfigError


@dataclass(frozen=True)
class TlsFiles:
    cert_file: str
    key_file: str
    client_ca_file: str | None
    cert: bytes
    key: bytes
    client_ca: bytes | None

    @classmethod
    def from_config(cls, config: Config) -> TlsFiles | None:
        """The checked files, or None when TLS is off; raises ConfigError saying which file is wrong and how."""
        cert_file, key_file, ca_file = config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file
        if not cert_file and not key_file:
            if ca_file:
                raise ConfigError("--tls-client-ca-file needs --tls-cert-file and --tls-key-file (the server's own)")
            return None
        if not (cert_file and key_file):
            given, missing = (
                ("--tls-cert-file", "--tls-key-file") if cert_file else ("--tls-key-file", "--tls-cert-file")
            )
            raise ConfigError(f"{given} is set but {missing} is not: TLS needs both the certificate and its key")
        cert = _read("--tls-cert-file", cert_file)
        key = _read("--tls-key-file", key_file)
        client_ca = _read("--tls-client-ca-file", ca_file) if ca_file else None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(cert_file, key_file)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"--tls-cert-file {cert_file} and --tls-key-file {key_file} cannot be used together: "
                f"{exc.reason or exc} (both must be PEM, and the key must be the certificate's)"
            ) from None
        if ca_file:
            try:
                context.load_verify_locations(cafile=ca_file)
            except ssl.SSLError as exc:
                raise ConfigError(
                    f"--tls-client-ca-file {ca_file}: not a PEM CA certificate ({exc.reason or exc})"
                ) from None
        return cls(cert_file, key_file, ca_file, cert, key, client_ca)

    def grpc_credentials(self) -> Any:
        """`grpc.ServerCredentials` for the OTLP/gRPC receiver (client certificates required with a client CA)."""
        import grpc  # only the server process needs it

        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.client_ca, require_client_auth=self.client_ca is not None
        )

    def uvicorn_options(self, *, client_certs: bool) -> dict[str, Any]:
        """uvicorn.Config keywords; `client_certs` for the OTLP/HTTP receiver, not for the UI/API port."""
        options: dict[str, Any] = {"ssl_certfile": self.cert_file, "ssl_keyfile": self.key_file}
        if client_certs and self.client_ca_file:
            options.update(ssl_ca_certs=self.client_ca_file, ssl_cert_reqs=ssl.CERT_REQUIRED)
        return options


def _read(flag: str, path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{flag} {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{flag} {path}: is a folder, not a PEM file") from None
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: cannot be read ({exc.strerror})") from None
    if b"-----BEGIN " not in data:
        raise ConfigError(f"{flag} {path}: not a PEM file (no -----BEGIN line)")
    return data
