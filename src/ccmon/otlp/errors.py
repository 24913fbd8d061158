"""Errors the receivers turn into OTLP answers."""

from __future__ import annotations


class MalformedRequest(ValueError):
    """The body cannot be decoded: HTTP 400 / gRPC INVALID_ARGUMENT, with this message."""


class RequestTooLarge(ValueError):
    """The body exceeds the size cap once decompressed: HTTP 413 / gRPC RESOURCE_EXHAUSTED."""
