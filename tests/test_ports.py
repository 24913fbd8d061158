"""Every listener owns its port: a clash on any of them is named, and `ccmon serve` exits before it opens the store."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccmon.otlp.grpc import GrpcReceiverThread
from ccmon.ports import Port, PortsUnavailable, check_ports
from tests.support import free_port, run_ccmon


@contextlib.contextmanager
def held_port() -> Iterator[int]:
    """A loopback port another "process" listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _ports(grpc: int, http: int, api: int) -> list[Port]:
    return [
        Port(grpc, "OTLP/gRPC", "--otlp-grpc-port"),
        Port(http, "OTLP/HTTP", "--otlp-http-port"),
        Port(api, "dashboard and API", "--port"),
    ]


def test_free_ports_pass() -> None:
    check_ports("127.0.0.1", _ports(free_port(), free_port(), free_port()))


def test_every_clashing_port_is_named() -> None:
    with held_port() as grpc, held_port() as api, pytest.raises(PortsUnavailable) as caught:
        check_ports("127.0.0.1", _ports(grpc, free_port(), api))
    assert str(caught.value) == (
        f"port {grpc} (OTLP/gRPC) on 127.0.0.1 is in use by another process; "
        f"port {api} (dashboard and API) on 127.0.0.1 is in use by another process. "
        "Stop the other process (another `ccmon serve`?) or choose other ports (--otlp-grpc-port / --port)"
    )


def test_one_port_for_two_listeners_is_refused() -> None:
    port = free_port()
    with pytest.raises(PortsUnavailable, match=f"port {port} is given for both OTLP/gRPC and dashboard and API"):
        check_ports("127.0.0.1", _ports(port, free_port(), port))


def test_an_address_of_another_machine_is_named() -> None:
    with pytest.raises(PortsUnavailable, match=r"port \d+ \(OTLP/gRPC\) on 192\.0\.2\.1 cannot be bound"):
        check_ports("192.0.2.1", _ports(free_port(), free_port(), free_port()))


class _Receiver:
    max_request_bytes = 1 << 20


def test_the_grpc_receiver_does_not_share_its_port() -> None:
    """gRPC's default SO_REUSEPORT would let a second receiver bind next to the first and take half the exports."""
    address = f"127.0.0.1:{free_port()}"
    receiver: Any = _Receiver()
    first = GrpcReceiverThread(receiver, address)
    first.start()
    try:
        second = GrpcReceiverThread(receiver, address)
        with pytest.raises(OSError, match=f"cannot bind the OTLP/gRPC receiver to {address}"):
            second.start()
        second.stop(0)
    finally:
        first.stop(0)


def _serve(data: Path, grpc: int, http: int, api: int) -> subprocess.CompletedProcess[str]:
    ports = ("--otlp-grpc-port", str(grpc), "--otlp-http-port", str(http), "--port", str(api))
    return run_ccmon("serve", "--data-dir", str(data), *ports)


def test_serve_exits_before_opening_the_store(tmp_path: Path) -> None:
    with held_port() as grpc:
        result = _serve(tmp_path / "data", grpc, free_port(), free_port())
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"ccmon: port {grpc} (OTLP/gRPC) on 127.0.0.1 is in use by another process. "
        "Stop the other process (another `ccmon serve`?) or choose other ports (--otlp-grpc-port)"
    ]
    assert not (tmp_path / "data").exists(), "the store was not touched"
