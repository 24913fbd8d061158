"""Silences: label matchers with a start and an end, as Alertmanager's. A silenced instance still fires (the engine
records it and the API shows it, marked `silenced`) but no notification is sent for it.

Matchers see an instance's labels plus `rule` (the rule id) and `severity`, so `rule = cost-daily` silences one rule
(`matching_labels`). A label the instance lacks matches as the empty string, so `team != platform` matches an
instance without a team. Regular expressions match the whole value (`=~ "plat.*"`), with Python's `re`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ccmon.alerts.definitions import Definitions
from ccmon.alerts.fields import slug
from ccmon.alerts.model import Instance, Matcher, Silence
from ccmon.alerts.rules import LABEL
from ccmon.analytics.timerange import parse_instant, rfc3339
from ccmon.store.facade import Store

OPS = ("=", "!=", "=~", "!~")
MAX_REGEX = 200
MAX_VALUE = 1000
MAX_MATCHERS = 20
MAX_LENGTH = dt.timedelta(days=366)
_FIELDS = frozenset({"id", "matchers", "starts_at", "ends_at", "comment", "created_by"})


def parse_silence(data: Mapping[str, Any], *, now: dt.datetime, created_by: str) -> Silence:
    """A validated new silence from input (ValueError naming the field). `starts_at` defaults to `now`, `ends_at`
    must be later than both and at most a year after the start; times are RFC 3339 in UTC (`Z`), as everywhere in the
    API; `id` is generated when absent. A `created_by` key in `data` is ignored: the argument (the caller's identity)
    says who made it."""
    silence = _build(data, created_by=created_by, default_start=now)
    if silence.ends_at <= now:
        raise ValueError("ends_at: must be in the future")
    return silence


def dump_silence(silence: Silence) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": [{"label": m.label, "op": m.op, "value": m.value} for m in silence.matchers],
        "starts_at": rfc3339(silence.starts_at),
        "ends_at": rfc3339(silence.ends_at),
        "created_by": silence.created_by,
        "comment": silence.comment,
    }


def matches(silence: Silence, labels: Mapping[str, str]) -> bool:
    """Whether every matcher of the silence holds for `labels` (times are not looked at: see `is_active`)."""
    return all(_holds(matcher, labels.get(matcher.label, "")) for matcher in silence.matchers)


def is_active(silence: Silence, now: dt.datetime) -> bool:
    return silence.starts_at <= now < silence.ends_at


def matching_labels(instance: Instance) -> dict[str, str]:
    """The labels silences match an instance by: its own, plus `rule` and `severity` unless it has them."""
    return {"rule": instance.rule_id, "severity": instance.severity.value, **instance.labels}


def silenced_by(silences: list[Silence], labels: Mapping[str, str], now: dt.datetime) -> bool:
    return any(is_active(silence, now) and matches(silence, labels) for silence in silences)


@dataclass(frozen=True)
class _Stored:
    """A silence as `Definitions` keeps it (which wants a `source`; silences come only from the API)."""

    silence: Silence
    source: str = "api"

    @property
    def id(self) -> str:
        return self.silence.id


class Silences:
    """The `alert_silences` table. Expired silences stay (listed, not active) until deleted."""

    def __init__(self, store: Store) -> None:
        self._definitions = Definitions[_Stored](
            store, "alert_silences", lambda data: _Stored(_load(data)), lambda item: dump_silence(item.silence)
        )

    def items(self) -> list[Silence]:
        return [item.silence for item in self._definitions.items()]

    def get(self, silence_id: str) -> Silence | None:
        item = self._definitions.get(silence_id)
        return item.silence if item else None

    def put(self, silence: Silence, actor: str = "") -> None:
        self._definitions.put(_Stored(silence), actor)

    def delete(self, silence_id: str, actor: str = "") -> bool:
        return self._definitions.delete(silence_id, actor)

    def expire(self, silence_id: str, now: dt.datetime, actor: str = "") -> bool:
        """End a silence now, keeping it listed; False when there is none."""
        silence = self.get(silence_id)
        if silence is None:
            return False
        if silence.ends_at > now:
            ended = Silence(
                silence.id, silence.matchers, min(silence.starts_at, now), now, silence.created_by, silence.comment
            )
            self.put(ended, actor)
        return True

    def active(self, now: dt.datetime) -> list[Silence]:
        return [silence for silence in self.items() if is_active(silence, now)]

    def silenced(self, labels: Mapping[str, str], now: dt.datetime) -> bool:
        return silenced_by(self.active(now), labels, now)

    def invalid(self) -> list[tuple[str, str]]:
        return self._definitions.invalid()

    matches = staticmethod(matches)


def _load(data: Mapping[str, Any]) -> Silence:
    """A stored silence: validated as input was, except that it may have ended since."""
    return _build(data, created_by=str(data.get("created_by", "")), default_start=None)


def _build(data: Mapping[str, Any], *, created_by: str, default_start: dt.datetime | None) -> Silence:
    if not isinstance(data, Mapping):
        raise ValueError("silence: expected an object")
    unknown = sorted(str(key) for key in data if key not in _FIELDS)
    if unknown:
        raise ValueError(f"unknown field {', '.join(unknown)}")
    silence_id = slug(data.get("id") or uuid.uuid4().hex[:16])
    starts_at = _time(data["starts_at"], "starts_at") if data.get("starts_at") is not None else default_start
    if starts_at is None:
        raise ValueError("starts_at: required")
    if data.get("ends_at") is None:
        raise ValueError("ends_at: required")
    ends_at = _time(data["ends_at"], "ends_at")
    if ends_at <= starts_at:
        raise ValueError("ends_at: must be after starts_at")
    if ends_at - starts_at > MAX_LENGTH:
        raise ValueError("ends_at: a silence lasts at most a year")
    comment = data.get("comment", "")
    if not isinstance(comment, str) or len(comment) > 1000:
        raise ValueError("comment: expected a string of at most 1000 characters")
    return Silence(silence_id, _matchers(data.get("matchers")), starts_at, ends_at, created_by, comment)


def _matchers(value: Any) -> tuple[Matcher, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise ValueError("matchers: expected a non-empty list of {label, op, value}")
    if len(value) > MAX_MATCHERS:
        raise ValueError(f"matchers: at most {MAX_MATCHERS}")
    parsed = tuple(_matcher(item, f"matchers[{index}]") for index, item in enumerate(value))
    if all(_holds(matcher, "") for matcher in parsed):
        raise ValueError("matchers: at least one must not match an empty label, or the silence would hide every alert")
    return parsed


def _matcher(item: Any, key: str) -> Matcher:
    if not isinstance(item, Mapping) or set(item) - {"label", "op", "value"}:
        raise ValueError(f"{key}: expected {{label, op, value}}")
    label, op, value = item.get("label"), item.get("op", "="), item.get("value")
    if not isinstance(label, str) or not LABEL.fullmatch(label):
        raise ValueError(f"{key}.label: expected a label name (letters, digits and '_')")
    if op not in OPS:
        raise ValueError(f"{key}.op: expected one of {', '.join(OPS)}")
    if not isinstance(value, str) or len(value) > MAX_VALUE:
        raise ValueError(f"{key}.value: expected a string of at most {MAX_VALUE} characters")
    if op in ("=~", "!~"):
        if len(value) > MAX_REGEX:
            raise ValueError(f"{key}.value: a regular expression has at most {MAX_REGEX} characters")
        try:
            _compile(value)
        except re.error as exc:
            raise ValueError(f"{key}.value: invalid regular expression ({exc})") from None
    return Matcher(label, op, value)


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _holds(matcher: Matcher, value: str) -> bool:
    if matcher.op == "=":
        return value == matcher.value
    if matcher.op == "!=":
        return value != matcher.value
    found = _compile(matcher.value).fullmatch(value) is not None
    return found if matcher.op == "=~" else not found


def _time(value: Any, key: str) -> dt.datetime:
    """An RFC 3339 time in UTC, as every time the API takes (`timerange.parse_instant`: other offsets are refused)."""
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected an RFC 3339 timestamp in UTC (e.g. 2025-01-31T18:00:00Z)")
    return parse_instant(value, key)
