"""The field checks every alerting definition (rule, budget, model policy, silence) shares, so one kind of mistake
gets one message whatever it is in: `"period: 'yearly' is not one of daily, weekly, monthly"`, `"id: required"`.

Each check takes the field's key (its place in the input, for the message) and raises ValueError starting with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
"""A definition's id: a slug, as it appears in URLs (`/api/v1/alerts/rules/{id}`) and alert labels."""
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
"""Characters no name or pattern may hold (they would break a log line, a header or a chat message)."""

_E = TypeVar("_E", bound=StrEnum)


def required(data: Mapping[str, Any], key: str) -> Any:
    """`data[key]`; absent or null is an error (null is how a JSON client leaves a field empty)."""
    if data.get(key) is None:
        raise ValueError(f"{key}: required")
    return data[key]


def slug(value: Any, key: str = "id") -> str:
    """An id matching `ID`."""
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise ValueError(f"{key}: expected a slug of lower-case letters, digits, '-' and '_' (at most 64 characters)")
    return value


def boolean(value: Any, key: str) -> bool:
    """True or false, and nothing else (not 1, not "yes": a typo must not flip a switch)."""
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false")
    return value


def choice(value: Any, key: str, kind: type[_E]) -> _E:
    """A member of the string enum `kind` by its value."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{key}: {value!r} is not one of {', '.join(member.value for member in kind)}") from None
