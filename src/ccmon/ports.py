"""Every listener owns its port: a start-up check that names each port ccmon cannot have, before the store is opened.

A monitoring receiver that shares its port with another process splits the telemetry between two stores, silently:
gRPC servers set `SO_REUSEPORT` by default, so a second `ccmon serve` on the same OTLP/gRPC port would start and take
half of the exports. The gRPC receiver is bound without port reuse (otlp/grpc.py); this check turns a clash on any
port into one clear message and a non-zero exit, rather than one listener's error after the store was opened.

The check binds each address the way the listeners will (`SO_REUSEADDR`, as uvicorn and grpc do, so a port held only
by connections in TIME_WAIT is free) and closes it again. Another process can still take a port between the check
and the bind; the listeners then fail on their own, and `Server` names the one that did.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from ccmon.settings import SETTINGS, Config

_FLAGS = {setting.name: setting.flag for setting in SETTINGS}


@dataclass(frozen=True)
class Port:
    number: int
    purpose: str
    """What listens there, for people: `OTLP/gRPC`, `OTLP/HTTP`, `dashboard and API`."""
    flag: str
    """The flag that changes it."""


class PortsUnavailable(OSError):
    """One or more of the ports ccmon listens on cannot be had; the message names each and what to do."""


def ports_of(config: Config) -> list[Port]:
    return [
        Port(config.otlp_grpc_port, "OTLP/gRPC", _FLAGS["otlp_grpc_port"]),
        Port(config.otlp_http_port, "OTLP/HTTP", _FLAGS["otlp_http_port"]),
        Port(config.port, "dashboard and API", _FLAGS["port"]),
    ]


def check_ports(host: str, ports: Sequence[Port]) -> None:
    """Raise `PortsUnavailable` naming every port that is given twice or that another process holds."""
    problems: list[str] = []
    flags: list[str] = []
    seen: dict[int, Port] = {}
    for port in ports:
        if port.number in seen:
            other = seen[port.number]
            problems.append(f"port {port.number} is given for both {other.purpose} and {port.purpose}")
            flags += [other.flag, port.flag]
            continue
        seen[port.number] = port
        reason = _bind_problem(host, port.number)
        if reason:
            problems.append(f"port {port.number} ({port.purpose}) on {host} {reason}")
            flags.append(port.flag)
    if problems:
        raise PortsUnavailable(
            f"{'; '.join(problems)}. Stop the other process (another `ccmon serve`?) "
            f"or choose other ports ({' / '.join(dict.fromkeys(flags))})"
        )


def _bind_problem(host: str, port: int) -> str | None:
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot be bound: {host!r} is not an address of this machine ({exc.strerror})"
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except PermissionError:
                return "needs privileges this process does not have (ports below 1024)"
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return "is in use by another process"
                return f"cannot be bound ({exc.strerror})"
    return None
