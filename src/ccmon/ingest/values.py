"""Coercion of OTLP attribute values into column values, in Python and in ClickHouse SQL.

Claude Code sends the same attribute as a string in one version and a number in the next (`duration_ms` is "20" on
`tool_result` but 47 on `api_request`; `success` is "true"), so every promoted column coerces by key whatever AnyValue
type arrives. A value that cannot be coerced (or is NaN/±inf) gives None (NULL) and the column keeps its default: bad
input is sanitized, never fatal.

Each rule is declared once with its two readings side by side (as `ccmon.store.dimensions` does for the derived
dimensions): the Python function, which builds metric rows, and its SQL form over an OTLP `AnyValue` decoded by
ClickHouse (`ANY_VALUE`: a tuple of one Nullable member per oneof field, so an unset member is NULL), which builds
event and span rows in the engine. `tests/ingest/test_values.py` checks that both readings agree on a corpus of
awkward values. Array and key-value-list values reach the engine already rendered as JSON text
(`ccmon.otlp.prepare`), so their SQL readings never see them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

_INT64_MAX = 2**63 - 1
_WHITESPACE = " \t\n\r\f\v"
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")

ANY_VALUE = (
    "Tuple(string_value Nullable(String), bool_value Nullable(Bool), int_value Nullable(Int64), "
    "double_value Nullable(Float64), bytes_value Nullable(String))"
)
"""The ClickHouse type an OTLP AnyValue is read as; `.1` .. `.5` in the SQL readings below."""


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


def _number_text(value: str) -> str | None:
    """A decimal number's text without the surrounding ASCII whitespace, or None (no `inf`, `nan`, `1_000`)."""
    stripped = value.strip(_WHITESPACE)
    return stripped if _NUMBER.fullmatch(stripped) else None


def to_float(value: object) -> float | None:
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return float(value) if abs(value) < 2**1023 else None
    if isinstance(value, str):
        text = _number_text(value)
        result = float(text) if text is not None else math.inf
        return result if math.isfinite(result) else None
    return None


def to_int(value: object) -> int | None:
    """An Int64 value; "22", 22 and 22.0 all give 22."""
    if type(value) is int:
        return value if -_INT64_MAX <= value <= _INT64_MAX else None
    if isinstance(value, str):
        text = value.strip(_WHITESPACE)
        if _INTEGER.fullmatch(text):
            return to_int(int(text))
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
        lowered = value.strip(_WHITESPACE).lower()
        if lowered in {"true", "1", "yes"}:
            return True
        if lowered in {"false", "0", "no"}:
            return False
        return None
    if isinstance(value, int | float):
        return bool(value)
    return None


# --- the SQL readings: each takes the SQL of an AnyValue tuple (and the longest string kept) -------------------------
# SQL has no local variables; `let` binds one with a lambda over a one-element array, so that a reading's SQL stays
# small wherever it is applied (ClickHouse's parser gives up on deeply repeated sub-expressions).

_SQL_WHITESPACE = r"'^[ \\t\\n\\r\\f\\v]+|[ \\t\\n\\r\\f\\v]+$'"
_SQL_NUMBER = r"'^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$'"


def let(names: str, values: str | Sequence[str], body: str) -> str:
    """`body` with `names` (comma-separated) bound to `values` (one SQL expression per name)."""
    arrays = ", ".join(f"[{value}]" for value in ([values] if isinstance(values, str) else values))
    return f"arrayMap(({names}) -> {body}, {arrays})[1]"


def float_repr_sql(x: str) -> str:
    """Python's `repr` of a finite Float64 in SQL: the shortest digits that read back as the same number (which
    ClickHouse's `toString` also gives), fixed notation for decimal exponents -4..15, else `d.ddde+XX`."""
    parts = let(
        "t",
        f"toString(abs({x}))",
        let(
            "m, p",
            ["splitByChar('e', t)[1]", "toInt32OrZero(splitByChar('e', t)[2])"],
            let(
                "w, all",
                ["splitByChar('.', m)[1]", "concat(splitByChar('.', m)[1], splitByChar('.', m)[2])"],
                "(trimRight(trimLeft(all, '0'), '0'), "
                "p + toInt32(length(w)) - 1 - toInt32(length(all) - length(trimLeft(all, '0'))))",
            ),
        ),
    )
    fixed_positive = (
        "concat(rightPad(substring(d, 1, e + 1), toUInt64(e + 1), '0'), '.', "
        "if(length(d) > e + 1, substring(d, e + 2), '0'))"
    )
    fixed_negative = "concat('0.', repeat('0', toUInt64(-e - 1)), d)"
    scientific = (
        "concat(substring(d, 1, 1), if(length(d) > 1, concat('.', substring(d, 2)), ''), 'e', "
        "if(e < 0, '-', '+'), if(abs(e) < 10, '0', ''), toString(abs(e)))"
    )
    shown = let(
        "de",
        parts,
        let(
            "d, e",
            ["de.1", "de.2"],
            f"multiIf(e >= 16 OR e < -4, {scientific}, e >= 0, {fixed_positive}, {fixed_negative})",
        ),
    )
    # toString(-0.) is '-0': the sign survives where a comparison with 0 would lose it.
    return f"concat(if(startsWith(toString({x}), '-'), '-', ''), if({x} = 0, '0.0', {shown}))"


def text_sql(v: str, limit: int) -> str:
    return let(
        "v",
        v,
        f"multiIf(v.1 IS NOT NULL, substringUTF8(v.1, 1, {limit}), v.2 IS NOT NULL, if(v.2, 'true', 'false'), "
        f"v.3 IS NOT NULL, toString(v.3), v.4 IS NOT NULL AND isFinite(v.4), "
        f"substringUTF8({float_repr_sql('assumeNotNull(v.4)')}, 1, {limit}), "
        f"v.5 IS NOT NULL, substringUTF8(lower(hex(v.5)), 1, {limit}), NULL)",
    )


def _stripped(limit: int) -> str:
    """The string member of `v`, cut like any value, without surrounding ASCII whitespace."""
    return f"replaceRegexpAll(substringUTF8(v.1, 1, {limit}), {_SQL_WHITESPACE}, '')"


def _string_float(s: str) -> str:
    return f"if(match({s}, {_SQL_NUMBER}), toFloat64OrNull({s}), NULL)"


def float_sql(v: str, limit: int) -> str:
    value = let(
        "v",
        v,
        "multiIf(v.4 IS NOT NULL, v.4, v.3 IS NOT NULL, toFloat64(v.3), v.2 IS NOT NULL, toFloat64(v.2), "
        f"v.1 IS NOT NULL, {let('s', _stripped(limit), _string_float('s'))}, NULL)",
    )
    return let("f", value, "if(isFinite(f), f, NULL)")


def _integral(f: str) -> str:
    """A Float64 that is a whole number within Int64's range, as Int64; else NULL."""
    return let("f", f, "if(f = trunc(f) AND f > -9223372036854775808. AND f < 9223372036854775808., toInt64(f), NULL)")


def int_sql(v: str, limit: int) -> str:
    from_string = let(
        "s", _stripped(limit), f"if(match(s, '^[+-]?[0-9]+$'), toInt64OrNull(s), {_integral(_string_float('s'))})"
    )
    value = let(
        "v",
        v,
        "multiIf(v.3 IS NOT NULL, v.3, v.2 IS NOT NULL, toInt64(v.2), "
        f"v.4 IS NOT NULL, {_integral('if(isFinite(v.4), v.4, NULL)')}, v.1 IS NOT NULL, {from_string}, NULL)",
    )
    # Python's int64 range is symmetric: -2**63 is refused like any value beyond it.
    return let("i", value, "if(i = -9223372036854775808, NULL, i)")


def count_sql(v: str, limit: int) -> str:
    return let("i", int_sql(v, limit), "if(i >= 0, toUInt64(i), NULL)")


def status_sql(v: str, limit: int) -> str:
    return let("i", int_sql(v, limit), "if(i BETWEEN 0 AND 65535, toInt32(i), NULL)")


def bool_sql(v: str, limit: int) -> str:
    from_string = let(
        "l",
        f"lowerUTF8({_stripped(limit)})",
        "multiIf(l IN ('true', '1', 'yes'), true, l IN ('false', '0', 'no'), false, NULL)",
    )
    return let(
        "v",
        v,
        "multiIf(v.2 IS NOT NULL, v.2, v.3 IS NOT NULL, v.3 != 0, v.4 IS NOT NULL, v.4 != 0, "
        f"v.1 IS NOT NULL, {from_string}, NULL)",
    )


@dataclass(frozen=True)
class Coercion:
    """One coercion rule, read in Python (`python`) and in SQL over an AnyValue tuple (`sql`)."""

    name: str
    python: Callable[[object], object]
    sql: Callable[[str, int], str]

    def __call__(self, value: object) -> object:
        return self.python(value)


TEXT = Coercion("text", to_text, text_sql)
FLOAT = Coercion("float", to_float, float_sql)
INT = Coercion("int", to_int, int_sql)
COUNT = Coercion("count", to_count, count_sql)
STATUS = Coercion("status", to_status, status_sql)
BOOL = Coercion("bool", to_bool, bool_sql)
COERCIONS = (TEXT, FLOAT, INT, COUNT, STATUS, BOOL)
