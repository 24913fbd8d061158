"""Words for people, shared by everything that prints them (the CLI, reports, the demo's summary)."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """`1 day`, `2 days`, `1,204 sessions`; `many` for irregular plurals (`person`, `people`)."""
    return f"{n:,} {noun if n == 1 else many or noun + 's'}"
