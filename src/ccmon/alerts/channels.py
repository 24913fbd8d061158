"""Notification channels: where a notification goes (Slack, Teams, PagerDuty, Alertmanager, a signed webhook, email).

Channels come from the alerts file; `parse_channel` is the only way one is made from input, and it is strict: every
kind has a fixed set of settings, unknown ones are errors (a typo must not silently drop a setting), URLs must be
http(s). Secrets need not live in the file: `${NAME}` in any string setting is replaced by the environment variable
NAME when the file is read, and an unset (or empty) variable is an error then rather than a failed delivery later.

`describe` is what the API and the logs may show of a channel: its name, kind and the host it talks to, never a URL
path, key or password (Slack and Teams webhook URLs are themselves secrets).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

import httpx

from ccmon.alerts.model import Channel

KINDS = ("slack", "teams", "pagerduty", "alertmanager", "webhook", "email")

PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"

SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}
"""SMTP security modes and their usual ports: STARTTLS on submission, implicit TLS (SMTPS), plain."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = frozenset({"content-type", "content-length", "host", "x-ccmon-signature", "x-ccmon-timestamp"})
"""Headers ccmon sets itself on a webhook request; letting the file override them would break the signature."""

_COMMON = frozenset({"name", "kind", "send_resolved"})
_SETTINGS: Mapping[str, frozenset[str]] = {
    "slack": frozenset({"url"}),
    "teams": frozenset({"url"}),
    "pagerduty": frozenset({"routing_key", "url"}),
    "alertmanager": frozenset({"url"}),
    "webhook": frozenset({"url", "secret", "headers"}),
    "email": frozenset({"host", "port", "security", "username", "password", "from", "to", "ca_file"}),
}
"""Each kind's settings besides `name`, `kind` and `send_resolved`."""

Settings = dict[str, str | int | bool | tuple[str, ...]]


def parse_channel(name: str | Mapping[str, Any], data: Mapping[str, Any] | None = None) -> Channel:
    """A channel from its name and settings (`parse_channel("ops", {"kind": "slack", "url": ...})`), or from one
    mapping holding a `name` too (`parse_channel({"name": "ops", "kind": "slack", ...})`).

    Raises ValueError whose message starts with the setting at fault (`url: expected an http(s) URL, got 'ftp:...'`).
    """
    if data is None:
        if not isinstance(name, Mapping):
            raise ValueError("expected a mapping of channel settings")
        data = name
        name = str(data.get("name", ""))
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a mapping of channel settings, got {type(data).__name__}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"name: expected 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got {name!r}"
        )
    if "name" in data and data["name"] != name:
        raise ValueError(f"name: {data['name']!r} differs from the channel's key {name!r}")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in _SETTINGS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    allowed = _SETTINGS[kind] | _COMMON
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise ValueError(
            f"{unknown[0]}: not a setting of a {kind} channel (expected {', '.join(sorted(_SETTINGS[kind]))})"
        )
    send_resolved = data.get("send_resolved", True)
    if not isinstance(send_resolved, bool):
        raise ValueError(f"send_resolved: expected true or false, got {send_resolved!r}")
    settings = _email_settings(data) if kind == "email" else _http_settings(kind, data)
    return Channel(name=name, kind=kind, settings=settings, send_resolved=send_resolved)


def describe(channel: Channel) -> dict[str, Any]:
    """What may be shown of a channel: name, kind, send_resolved and the host it talks to (no path, key or login)."""
    if channel.kind == "email":
        target = str(channel.settings.get("host", ""))
    else:
        target = urlsplit(str(channel.settings.get("url", ""))).hostname or ""
    return {"name": channel.name, "kind": channel.kind, "send_resolved": channel.send_resolved, "target": target}


def secrets_of(channel: Channel) -> tuple[str, ...]:
    """The channel's secret strings (URLs, keys, passwords, header values), for scrubbing them out of error text."""
    keys = ("url", "routing_key", "secret", "password", "username")
    values = [str(channel.settings[key]) for key in keys if channel.settings.get(key)]
    url = urlsplit(str(channel.settings.get("url", "")))
    # A webhook URL's path, a segment of it or its query is often the credential itself (Slack: /services/T/B/token).
    values += [url.path, url.query, *(segment for segment in url.path.split("/") if len(segment) >= 12)]
    headers = channel.settings.get("headers", ())
    if isinstance(headers, tuple):
        values += [header.partition(":")[2].strip() for header in headers]
    return tuple(sorted({value for value in values if len(value) >= 6}, key=len, reverse=True))


def header_pairs(channel: Channel) -> list[tuple[str, str]]:
    """A webhook channel's extra headers as (name, value) pairs."""
    headers = channel.settings.get("headers", ())
    if not isinstance(headers, tuple):
        return []
    return [(name.strip(), value.strip()) for name, _, value in (header.partition(":") for header in headers)]


def _http_settings(kind: str, data: Mapping[str, Any]) -> Settings:
    settings: Settings = {}
    if kind == "pagerduty":
        key = _string(data, "routing_key")
        if any(character.isspace() for character in key):
            raise ValueError("routing_key: must not contain whitespace")
        settings["routing_key"] = key
        settings["url"] = _url(data, "url") if "url" in data else PAGERDUTY_URL
        return settings
    settings["url"] = _url(data, "url")
    if kind == "webhook":
        settings["secret"] = _string(data, "secret")
        if "headers" in data:
            settings["headers"] = _headers(data["headers"])
    return settings


def _email_settings(data: Mapping[str, Any]) -> Settings:
    security = data.get("security", "starttls")
    if security not in SECURITY_PORTS:
        raise ValueError(f"security: expected one of {', '.join(SECURITY_PORTS)}, got {security!r}")
    port = data.get("port", SECURITY_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"port: expected a port number (1-65535), got {port!r}")
    host = _string(data, "host")
    if any(character.isspace() or character in "/:@" for character in host):
        raise ValueError(f"host: expected a host name or address, got {host!r}")
    settings: Settings = {"host": host, "port": port, "security": security, "from": _address(data.get("from"), "from")}
    recipients = data.get("to")
    if isinstance(recipients, str):
        recipients = [recipients]
    if not isinstance(recipients, list | tuple) or not recipients:
        raise ValueError("to: expected an address or a non-empty list of addresses")
    settings["to"] = tuple(_address(recipient, f"to[{index}]") for index, recipient in enumerate(recipients))
    if "username" in data:
        settings["username"] = _string(data, "username")
        settings["password"] = _string(data, "password")
    elif "password" in data:
        raise ValueError("password: given without a username")
    if "ca_file" in data:
        ca_file = _string(data, "ca_file")
        if not os.path.isfile(ca_file):
            raise ValueError(f"ca_file: no such file {ca_file!r}")
        settings["ca_file"] = ca_file
    return settings


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key}: expected a non-empty string")
    value = _expand(value, key)
    if "\r" in value or "\n" in value:
        raise ValueError(f"{key}: must be on one line")
    return value


def _expand(value: str, key: str) -> str:
    """Replace each `${NAME}` by the environment variable NAME (an error when unset or empty)."""

    def lookup(match: re.Match[str]) -> str:
        variable = match.group(1)
        if not _ENV_NAME.match(variable):
            raise ValueError(f"{key}: ${{{variable}}} is not an environment variable name")
        found = os.environ.get(variable)
        if not found:
            raise ValueError(f"{key}: environment variable {variable} is not set")
        return found

    return _ENV_REFERENCE.sub(lookup, value)


def _url(data: Mapping[str, Any], key: str) -> str:
    url = _string(data, key)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"{key}: not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Don't echo the URL: it may be a webhook URL, which is a secret.
        raise ValueError(f"{key}: expected an http:// or https:// URL with a host")
    if any(character.isspace() for character in url):
        raise ValueError(f"{key}: must not contain whitespace")
    try:
        httpx.URL(url)  # what the sender will parse: a host it cannot encode (IDNA) is refused here, not at send
    except httpx.InvalidURL:
        raise ValueError(f"{key}: not a URL that can be requested (is the host name valid?)") from None
    return url


def _headers(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Mapping):
        raise ValueError("headers: expected a mapping of header names to values")
    headers = []
    for name, header_value in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ValueError(f"headers: {name!r} is not a valid header name")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"headers.{name}: set by ccmon itself")
        if not isinstance(header_value, str):
            raise ValueError(f"headers.{name}: expected a string")
        expanded = _expand(header_value, f"headers.{name}")
        if "\r" in expanded or "\n" in expanded:
            raise ValueError(f"headers.{name}: must be on one line")
        # HTTP sends header values as ASCII (httpx refuses anything else when sending); the value is not echoed,
        # as it is often a credential.
        if not all(" " <= character <= "~" or character == "\t" for character in expanded):
            raise ValueError(f"headers.{name}: only printable ASCII characters are allowed in a header value")
        headers.append(f"{name}: {expanded}")
    return tuple(headers)


def _address(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key}: expected an email address")
    if "\r" in value or "\n" in value:
        raise ValueError(f"{key}: must be on one line")
    _, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or ("." not in domain and domain != "localhost"):
        raise ValueError(f"{key}: expected an email address, got {value!r}")
    return value.strip()
