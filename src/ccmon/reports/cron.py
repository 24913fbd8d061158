"""Cron expressions (5 fields, UTC): minute, hour, day of month, month, day of week.

Each field is `*`, a number, a range `a-b`, a step `*/n` or `a-b/n` or `a/n`, or a comma-separated list of those;
months and days of week may be named (`jan`, `mon`), and day of week 7 is Sunday like 0. As in Vixie cron, when both
day of month and day of week are restricted, a day matching either runs. No seconds, no `@weekly`, no `L`/`W`/`#`:
anything else is a `CronError` naming the field and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_LENGTH = 200
MAX_SEARCH_DAYS = 366 * 5
"""`next_after` looks this far ahead at most (`0 0 30 2 *` never matches: February has no 30th)."""

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: index + 1 for index, name in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {name: index for index, name in enumerate(_DAYS)}),
)


class CronError(ValueError):
    """An expression that is not a 5-field cron expression."""


@dataclass(frozen=True)
class Cron:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday."""
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        if len(text) > MAX_LENGTH:
            raise CronError(f"cron expression of {len(text)} characters: at most {MAX_LENGTH}")
        parts = text.split()
        if len(parts) != 5:
            raise CronError(
                f"cron expression {text!r}: expected 5 fields (minute hour day-of-month month day-of-week), "
                f"got {len(parts)}"
            )
        minutes, hours, days, months, weekdays = (
            _field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)
        )
        sunday_as_0 = frozenset(day % 7 for day in weekdays)
        return cls(text, minutes, hours, days, months, sunday_as_0, parts[2] == "*", parts[4] == "*")

    def matches(self, at: datetime) -> bool:
        at = at.astimezone(UTC)
        return at.minute in self.minutes and at.hour in self.hours and at.month in self.months and self._day(at)

    def _day(self, at: datetime) -> bool:
        in_month, in_week = at.day in self.days, (at.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, at: datetime) -> datetime | None:
        """The first matching minute strictly after `at` (UTC), or None when none comes within five years."""
        moment = at.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = moment + timedelta(days=MAX_SEARCH_DAYS)
        while moment < limit:
            if moment.month not in self.months or not self._day(moment):
                moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
            elif moment.hour not in self.hours:
                moment = (moment + timedelta(hours=1)).replace(minute=0)
            elif moment.minute not in self.minutes:
                moment += timedelta(minutes=1)
            else:
                return moment
        return None

    def previous_at_or_before(self, at: datetime, within: timedelta) -> datetime | None:
        """The latest matching minute at or before `at`, looking back at most `within`."""
        moment = at.astimezone(UTC).replace(second=0, microsecond=0)
        earliest = moment - within
        found = self.next_after(earliest - timedelta(minutes=1))
        latest = None
        while found is not None and found <= moment:
            latest = found
            found = self.next_after(found)
        return latest


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values |= _item(item, name, low, high, names)
    return frozenset(values)


def _item(item: str, name: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        step = _number(step_text, name, 1, high - low + 1, {})
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _number(first, name, low, high, names), _number(last, name, low, high, names)
        if start > end:
            raise CronError(f"{name}: range {base!r} runs backwards")
    else:
        start = _number(base, name, low, high, names)
        end = high if slash else start
    return set(range(start, end + 1, step))


def _number(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    word = text.lower()
    if word in names:
        return names[word]
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        expected = f"{low}-{high}" + (f" or a name ({', '.join(list(names)[:3])}, ...)" if names else "")
        raise CronError(f"{name}: {text[:20]!r} is not a number {expected}")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name}: {value} is out of range {low}-{high}")
    return value
