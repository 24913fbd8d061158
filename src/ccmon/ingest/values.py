"""Coercion of OTLP attribute values into column values.

Claude Code sends the same attribute as a string in one version and a number in the next (`duration_ms` is "20" on
`tool_result` but 47 on `api_request`; `success` is "true"), so every promoted column coerces by key whatever AnyValue
type arrives. A value that cannot be coerced (or is NaN/±inf) returns None and the column keeps its default: bad input
is sanitized, never fatal.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import orjson

Coercer = Callable[[object], object]

_INT64_MAX = 2**63 - 1


def to_text(value: object) -> str | None:
    """Any attribute value as the text kept in String columns and in the attribute maps."""
    if type(value) is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, bytes):
        return value.hex()
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return None


def to_float(value: object) -> float | None:
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return float(value) if abs(value) < 2**1023 else None
    if isinstance(value, str):
        try:
            result = float(value)
        except ValueError:
            return None
        return result if math.isfinite(result) else None
    return None


def to_int(value: object) -> int | None:
    """An Int64 value; "22", 22 and 22.0 all give 22."""
    if type(value) is int:
        return value if -_INT64_MAX <= value <= _INT64_MAX else None
    if isinstance(value, str):
        try:
            return to_int(int(value))
        except ValueError:
            pass
    number = to_float(value)
    if number is None or number != int(number):
        return None
    return to_int(int(number))


def to_count(value: object) -> int | None:
    """A non-negative count (tokens); negative values are sanitized away."""
    number = to_int(value)
    return number if number is not None and number >= 0 else None


def to_status(value: object) -> int | None:
    """An HTTP status code; Claude Code once sent the literal "undefined" for non-HTTP errors."""
    number = to_int(value)
    return number if number is not None and 0 <= number <= 65535 else None


def to_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "1", "yes"}:
            return True
        if lowered in {"false", "0", "no"}:
            return False
        return None
    if isinstance(value, int | float):
        return bool(value)
    return None
