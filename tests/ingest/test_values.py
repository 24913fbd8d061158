from __future__ import annotations

import math
import random
import struct

import pytest

from ccmon.ingest.values import (
    ANY_VALUE,
    COERCIONS,
    Coercion,
    to_bool,
    to_count,
    to_float,
    to_int,
    to_status,
    to_text,
)
from ccmon.store.dimensions import sql_literal
from ccmon.store.facade import Store


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("22", 22),
        (22, 22),
        (22.0, 22),
        ("22.0", 22),
        (22.5, None),
        ("x", None),
        (True, 1),
        (None, None),
        (2**70, None),
        ("-3", -3),
        (math.nan, None),
        ("Infinity", None),
    ],
)
def test_to_int(value: object, expected: int | None) -> None:
    assert to_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.0088", 0.0088),
        (0.0088, 0.0088),
        (3, 3.0),
        ("nan", None),
        (math.inf, None),
        (-math.inf, None),
        ("abc", None),
        ([1], None),
    ],
)
def test_to_float(value: object, expected: float | None) -> None:
    assert to_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("false", False),
        (True, True),
        (False, False),
        ("TRUE", True),
        (1, True),
        (0, False),
        ("maybe", None),
        (None, None),
    ],
)
def test_to_bool(value: object, expected: bool | None) -> None:
    assert to_bool(value) == expected


def test_counts_and_status_codes_refuse_out_of_range_values() -> None:
    assert to_count("1200") == 1200
    assert to_count(-1) is None
    assert to_status("undefined") is None  # what Claude Code sent for non-HTTP errors before 2.1.122
    assert to_status("429") == 429
    assert to_status(70000) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("s", "s"),
        (True, "true"),
        (False, "false"),
        (12, "12"),
        (0.5, "0.5"),
        (math.nan, None),
        (None, None),
        (b"\x01\xff", "01ff"),
        (["a", 1], '["a",1]'),
        ({"k": [True]}, '{"k":[true]}'),
    ],
)
def test_to_text(value: object, expected: str | None) -> None:
    assert to_text(value) == expected


# --- the SQL readings agree with the Python ones ------------------------------------------------------------------

_AWKWARD: list[object] = [
    *["", "20", " 20 ", "\t7\n", "20.0", "20.5", "-3", "+7", "1e3", "1E+3", ".5", "5.", "abc", "inf", "nan"],
    *["Infinity", "1_000", "true", "TRUE", " yes ", "no", "0", "1", "undefined", "0x10", "é", "-0", "1e400"],
    *["99999999999999999999", "9223372036854775807", "-9223372036854775808", "-9223372036854775807"],
    *["9007199254740993", "9007199254740993.0", "x" * 70],
    *[True, False, 0, 1, -1, 2**63 - 1, -(2**63), -(2**63) + 1, 65535, 65536, -5],
    *[0.0, -0.0, 1.5, 20.0, 22.5, 1e20, 1e16, 1e15, 1.5e-7, 1e-5, 0.0001, 0.1 + 0.2, 5e-324, 1.7976931348623157e308],
    *[9.223372036854776e18, -9.223372036854776e18, 123456.789, math.nan, math.inf, -math.inf],
    *[b"\x01\xff", b""],
]


def _random_doubles(count: int) -> list[float]:
    rng = random.Random(20261130)
    values: list[float] = []
    for _ in range(count):
        raw = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        values += [raw, rng.uniform(-1e6, 1e6), 10 ** rng.uniform(-12, 25), float(rng.randint(-(10**17), 10**17))]
    return values


def _any_value_sql(value: object) -> str:
    """An `ANY_VALUE` literal holding `value` in the member its type selects (the others NULL)."""
    members = ["NULL"] * 5
    if isinstance(value, bool):
        members[1] = "true" if value else "false"
    elif isinstance(value, int):
        members[2] = f"toInt64('{value}')"
    elif isinstance(value, float):
        members[3] = f"reinterpretAsFloat64(unhex('{struct.pack('<d', value).hex()}'))"
    elif isinstance(value, bytes):
        members[4] = f"unhex('{value.hex()}')"
    else:
        members[0] = sql_literal(str(value))
    return f"CAST(tuple({', '.join(members)}), '{ANY_VALUE}')"


def _shown(value: object) -> str | None:
    """A coerced Python value as ClickHouse's toString shows the SQL one."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("coercion", COERCIONS, ids=lambda c: c.name)
def test_the_sql_reading_of_each_rule_agrees_with_the_python_one(store: Store, coercion: Coercion) -> None:
    limit = 64
    corpus = [*_AWKWARD, *_random_doubles(100)]
    values = ", ".join(_any_value_sql(v) for v in corpus)
    ((shown,),) = store.query(
        f"SELECT groupArray(ifNull(toString({coercion.sql('v', limit)}), '<NULL>')) "
        f"FROM (SELECT arrayJoin([{values}]) AS v)"
    )
    mismatches = []
    for value, sql in zip(corpus, shown, strict=True):
        cut = value[:limit] if isinstance(value, str) else value
        python = coercion(cut)
        got: object = None if sql == "<NULL>" else sql
        if isinstance(python, float) and got is not None:
            signs_agree = str(got).startswith("-") == str(python).startswith("-")  # -0.0 is not 0.0
            same = float(str(got)) == python and signs_agree
        else:
            same = got == _shown(python)
        if not same:
            mismatches.append((value, python, got))
    assert mismatches == []
