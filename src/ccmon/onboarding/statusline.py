"""`ccmon statusline`'s line: read Claude Code's status JSON and draw one short line from it and from the server's
figures (kept in a cache file and refreshed in the background: `ccmon.onboarding.statusline_cache`).

Claude Code runs the status line command after each message and waits for its output to draw it (reference §4): the
foreground must print in a few tens of milliseconds whatever the server does. So the foreground never calls the
server: it prints this session's figures (from stdin) and the server's last answer (from the cache, when it is the
same server and person, recent, and of the same UTC day or month), and when the cache is older than `--cache-seconds`
starts a background refresh, guarded by a lock file so a burst of redraws starts one refresh, not one each.

The usage limits (`rate_limits.five_hour` / `seven_day`: `used_percentage`, `resets_at` in epoch seconds) are only in
the status line's input, for Pro/Max logins: Claude Code's telemetry does not carry them. The refresh reports them
(`ccmon.onboarding.statusline_cache.REPORT_EVERY_S`), so the dashboard can show each person's headroom.

The shape of a limit (`WINDOWS`, the bounds of a percentage and of an epoch) is defined here once: the client sends
only what the server accepts, and the server (`ccmon.web.statusline_routes`) validates with the same bounds.

Standard library only, and its light modules: this runs at every redraw.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any, BinaryIO, NamedTuple

WINDOWS = ("five_hour", "seven_day")
"""The usage-limit windows Claude Code reports, in the order the line shows them."""
WINDOW_LABELS = {"five_hour": "5h", "seven_day": "7d"}
MIN_EPOCH = 946_684_800
"""2000-01-01: a `resets_at` before it is not a real reset time."""
MAX_EPOCH = 7_258_118_400
"""2200-01-01."""
MAX_INPUT_BYTES = 1 << 20
MAX_FIELD = 500
"""Longest identity value sent (the server refuses longer)."""
MAX_SHOWN = 40
"""Longest model name shown."""
MAX_USD = 1e12
SHOW_FOR_S = 900.0
"""The server's figures are not shown once this old (the server is unreachable since): better none than stale."""
WARN_PCT = 80.0
"""From this usage on, a limit's reset time is shown."""


# --- Claude Code's input ---------------------------------------------------------------------------------------------


class Limit(NamedTuple):
    used_pct: float
    resets_at: int | None = None


class StatusInput(NamedTuple):
    """What the line needs of Claude Code's status JSON; every field may be missing."""

    session_id: str = ""
    model_id: str = ""
    model_name: str = ""
    session_cost: float | None = None
    limits: Mapping[str, Limit] = {}


class LimitReport(NamedTuple):
    """A statusline's usage-limit report as the server records it (`ccmon.ingest.limits`: a `rate_limits` row per
    window). Defined here, with the limits' bounds, as the one shape both sides share."""

    at: float
    """When the server received it (epoch seconds)."""
    person: str
    session_id: str
    limits: Mapping[str, Limit]
    model: str = ""
    team: str = ""
    department: str = ""
    cost_center: str = ""
    source: str = "statusline"


def read_input(stream: BinaryIO) -> StatusInput:
    """Claude Code's status JSON from `stream`; an empty `StatusInput` for anything that is not one (never raises)."""
    try:
        data = stream.read(MAX_INPUT_BYTES + 1)
    except (OSError, ValueError):
        return StatusInput()
    return parse_input(data) if len(data) <= MAX_INPUT_BYTES else StatusInput()


def parse_input(data: bytes) -> StatusInput:
    try:
        status = json.loads(data)
    except (ValueError, RecursionError):
        return StatusInput()
    if not isinstance(status, dict):
        return StatusInput()
    model, cost, limits = (object_of(status.get(name)) for name in ("model", "cost", "rate_limits"))
    found = {name: limit for name in WINDOWS if (limit := limit_of(limits.get(name))) is not None}
    return StatusInput(
        session_id=text_of(status.get("session_id"), MAX_FIELD),
        model_id=text_of(model.get("id"), MAX_FIELD),
        model_name=text_of(model.get("display_name"), MAX_SHOWN),
        session_cost=usd(cost.get("total_cost_usd")),
        limits=found,
    )


def limit_of(value: Any) -> Limit | None:
    """A usage-limit window (`{"used_percentage": 23.5, "resets_at": 1764540000}`), or None when it is not one."""
    if not isinstance(value, dict):
        return None
    used = percentage(value.get("used_percentage"))
    if used is None:
        return None
    return Limit(used, epoch(value.get("resets_at")))


def percentage(value: Any) -> float | None:
    return float(value) if finite_number(value) and 0 <= value <= 100 else None


def epoch(value: Any) -> int | None:
    return int(value) if finite_number(value) and MIN_EPOCH <= value <= MAX_EPOCH else None


def usd(value: Any) -> float | None:
    return float(value) if finite_number(value) and 0 <= value < MAX_USD else None


def finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def object_of(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text_of(value: Any, limit: int) -> str:
    """A string without control characters (no escape sequence reaches the terminal), at most `limit` long."""
    if not isinstance(value, str):
        return ""
    return "".join(c for c in value[: limit * 2] if c.isprintable()).strip()[:limit]


# --- the server's figures  -----------------------------------------------------------------------------


class BudgetFigure(NamedTuple):
    """One budget of the person, as the server's answer gives it (`BudgetStatus.to_json`)."""

    name: str
    period: str
    used: float
    amount: float
    personal: bool
    warning: bool
    """Past its first threshold."""


class Figures(NamedTuple):
    fetched_at: float
    today_usd: float | None = None
    month_usd: float | None = None
    budgets: tuple[BudgetFigure, ...] = ()


def figures_of(answer: Mapping[str, Any], fetched_at: float) -> Figures:
    """The figures of the server's answer (or of a cache file: read as untrusted)."""
    budgets = []
    for item in answer.get("budgets") or ():
        status = object_of(item)
        used, amount = usd(status.get("used")), usd(status.get("amount"))
        if status.get("unit", "usd") != "usd" or used is None or not amount:
            continue
        budgets.append(
            BudgetFigure(
                name=text_of(status.get("name"), MAX_SHOWN),
                period=text_of(status.get("period"), 20),
                used=used,
                amount=amount,
                personal=status.get("per_person") is True
                or status.get("scope") == "person"
                or status.get("personal") is True,
                warning=status.get("warning") is True
                or status.get("threshold_crossed") is not None
                or status.get("over") is True,
            )
        )
    return Figures(fetched_at, usd(answer.get("today_usd")), usd(answer.get("month_usd")), tuple(budgets))


# --- the line --------------------------------------------------------------------------------------------------------


def render(status: StatusInput, figures: Figures | None, now: float) -> str:
    """`Opus 4 · session $0.42 · today $3.10 · month $81.20 / $200 (41%) · 5h 23% · 7d 61%`: the parts known. The
    server's figures are left out once `SHOW_FOR_S` old, today's when of another UTC day, the month's of another
    month."""
    parts = [status.model_name or text_of(status.model_id, MAX_SHOWN)]
    if status.session_cost is not None:
        parts.append(f"session {money(status.session_cost)}")
    if figures is not None and 0 <= now - figures.fetched_at < SHOW_FOR_S:
        then, today = time.gmtime(figures.fetched_at), time.gmtime(now)
        personal = [b for b in figures.budgets if b.personal]
        if figures.today_usd is not None and then[:3] == today[:3]:
            parts.append(f"today {money(figures.today_usd)}{_against(personal, 'daily')}")
        if figures.month_usd is not None and then[:2] == today[:2]:
            parts.append(f"month {money(figures.month_usd)}{_against(personal, 'monthly')}")
        if weekly := _most_used(personal, "weekly"):
            parts.append(f"week {money(weekly.used)}{_against(personal, 'weekly')}")
        pooled = [b for b in figures.budgets if not b.personal and b.warning]
        if pooled:
            fullest = max(pooled, key=lambda b: b.used / b.amount)
            parts.append(f"{fullest.name or 'shared budget'} {_percent(fullest.used / fullest.amount)}")
    parts.extend(
        f"{WINDOW_LABELS[name]} {_limit_percent(limit.used_pct)}{_resets(limit, now)}"
        for name in WINDOWS
        if (limit := status.limits.get(name)) is not None
    )
    return " · ".join(part for part in parts if part) or "ccmon"


def _most_used(budgets: list[BudgetFigure], period: str) -> BudgetFigure | None:
    matching = [b for b in budgets if b.period == period]
    return max(matching, key=lambda b: b.used / b.amount) if matching else None


def _against(budgets: list[BudgetFigure], period: str) -> str:
    """` / $200 (41%)`: the person's own budget of that period (the most used one, should several apply)."""
    budget = _most_used(budgets, period)
    return f" / {amount(budget.amount)} ({_percent(budget.used / budget.amount)})" if budget else ""


def money(value: float) -> str:
    return f"${value:,.0f}" if value >= 1000 else f"${value:,.2f}"


def amount(value: float) -> str:
    """A budget's amount: `$200`, `$12.50`."""
    return f"${value:,.0f}" if value == int(value) or value >= 1000 else f"${value:,.2f}"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def _limit_percent(used: float) -> str:
    """Rounded, but never 100% before the limit is reached (nor 0% once something is used)."""
    shown = round(used)
    if used < 100:
        shown = min(shown, 99)
    if used > 0:
        shown = max(shown, 1) if used >= 0.5 else shown
    return f"{shown}%"


def _resets(limit: Limit, now: float) -> str:
    """` ↻14:05` (local time; `↻Tue 14:05` beyond a day) once a limit is nearly used: when it frees up."""
    if limit.used_pct < WARN_PCT or limit.resets_at is None or limit.resets_at <= now:
        return ""
    at = time.localtime(limit.resets_at)
    return f" ↻{time.strftime('%H:%M' if limit.resets_at - now < 86_400 else '%a %H:%M', at)}"
