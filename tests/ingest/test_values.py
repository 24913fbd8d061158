from __future__ import annotations

import math

import pytest

from ccmon.ingest.values import to_bool, to_count, to_float, to_int, to_status, to_text


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
