"""Anthropic's Admin API Claude Code usage report as import records.

`GET {base}/v1/organizations/usage_report/claude_code?starting_at=YYYY-MM-DD&limit=..&page=..` answers one UTC day
(data older than an hour), paged with `has_more` / `next_page` (../shared/reference/claude-code-admin-surfaces.md
§5). Each `data[]` item is one actor's day: core metrics (sessions, lines, commits, pull requests) and a
`model_breakdown` of tokens and `estimated_cost.amount` in cents.

Rows: one per (day, actor, terminal type, local or remote, customer type, model) with that model's tokens and cost;
the actor-day's core metrics go on one extra row whose model is '' (tokens and cost 0), so a sum over rows counts
them once whatever the number of models. Keys are the day, the actor, the row's dimensions and the model, `CORE` for
the core row (so a breakdown entry with no model name does not share its key and get dropped as a duplicate): a
second import of a day adds nothing.
Days are imported only once complete (`complete_days`): a day stored before the report had all of it would stay
partial. A cost the report does not give as a sane number is left to the price table (`cost_usd` None).

An API-key actor (`api_actor`) has no email: its rows carry the person `api-key:<key name>`, which never equals the
key telemetry gives the same developer (`user.email`, `user.account_uuid` or `user.id`). "One source per person-day"
cannot see that they are one person, so `ccmon import admin-api` leaves these rows out unless asked (`from_api_key`).

Subscription (Claude Pro/Max, OAuth) users are not in this report (anthropics/claude-code#27780): their history comes
from their transcripts only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from ccmon.http_retry import retry_after_seconds
from ccmon.imports.model import ADMIN_API, ImportRecord

DEFAULT_BASE_URL = "https://api.anthropic.com"
PATH = "/v1/organizations/usage_report/claude_code"
API_VERSION = "2023-06-01"
PAGE_LIMIT = 1000
MAX_PAGES_PER_DAY = 10_000
"""A server that never stops saying `has_more` is not followed further."""
MAX_DAYS = 3660
RETRIES = 5
"""Attempts after a 429 or 5xx (or a dropped connection) before giving up."""
MAX_BACKOFF_S = 60.0
COMPLETE_AFTER = timedelta(days=1, hours=1)
"""A day is complete in the report an hour after it ends (the report holds data older than an hour)."""
CORE = "#core"
"""The last part of the key of an actor-day's core-metrics row (a model's row ends with the model, possibly '')."""
API_KEY_PERSON = "api-key:"
"""The person of an API-key actor's rows: this and the key's name."""


class AdminApiError(RuntimeError):
    """The report could not be read; the message says why and what to do."""


@dataclass(frozen=True)
class AdminApiClient:
    key: str
    base_url: str = DEFAULT_BASE_URL
    timeout_s: float = 60.0
    backoff_s: float = 1.0
    """The first wait after a 429/5xx, doubled at each retry (a `retry-after` header, seconds or an HTTP date, wins;
    both are capped at `MAX_BACKOFF_S`)."""
    sleep: Callable[[float], None] = time.sleep

    def day(self, day: date, client: httpx.Client) -> Iterator[dict[str, Any]]:
        """Every `data[]` item of one day, page after page."""
        page: str | None = None
        for _ in range(MAX_PAGES_PER_DAY):
            params: dict[str, str | int] = {"starting_at": day.isoformat(), "limit": PAGE_LIMIT}
            if page:
                params["page"] = page
            body = self._get(client, params)
            data = body.get("data")
            if not isinstance(data, list):
                raise AdminApiError(f"{self.base_url}{PATH} answered without a data list for {day}")
            yield from (item for item in data if isinstance(item, dict))
            following = body.get("next_page")
            if not body.get("has_more") or not isinstance(following, str) or not following:
                return
            page = following
        raise AdminApiError(f"{self.base_url}{PATH} kept answering has_more for {day}: stopped")

    def _get(self, client: httpx.Client, params: Mapping[str, str | int]) -> dict[str, Any]:
        wait = self.backoff_s
        for attempt in range(RETRIES + 1):
            try:
                response = client.get(PATH, params=dict(params))
            except httpx.TransportError as exc:
                if attempt == RETRIES:
                    raise AdminApiError(f"cannot reach {self.base_url}: {exc}") from None
                self.sleep(wait)
                wait = min(wait * 2, MAX_BACKOFF_S)
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt == RETRIES:
                    raise AdminApiError(f"{self.base_url} answered {status} {RETRIES + 1} times: try again later")
                retry_after = retry_after_seconds(response.headers.get("retry-after"), cap_s=MAX_BACKOFF_S)
                self.sleep(wait if retry_after is None else retry_after)
                wait = min(wait * 2, MAX_BACKOFF_S)
                continue
            if status in (401, 403):
                raise AdminApiError(
                    f"{self.base_url} refused the key ({status}): the report needs an Admin API key (sk-ant-admin...)"
                )
            if status != 200:
                raise AdminApiError(f"{self.base_url} answered {status}: {response.text[:300]}")
            try:
                body = response.json()
            except ValueError:
                raise AdminApiError(f"{self.base_url} answered something that is not JSON") from None
            if not isinstance(body, dict):
                raise AdminApiError(f"{self.base_url} answered JSON that is not an object")
            return body
        raise AssertionError("unreachable")

    def client(self) -> httpx.Client:
        headers = {"x-api-key": self.key, "anthropic-version": API_VERSION}
        return httpx.Client(base_url=self.base_url.rstrip("/"), headers=headers, timeout=self.timeout_s)


def days(start: date, end: date) -> list[date]:
    """The days from `start` to `end`, both included."""
    if end < start:
        raise AdminApiError(f"--to {end} is before --from {start}")
    count = (end - start).days + 1
    if count > MAX_DAYS:
        raise AdminApiError(f"{count} days is more than {MAX_DAYS}: import a shorter range at a time")
    return [start + timedelta(days=n) for n in range(count)]


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**15 else 0


def _text(value: object, limit: int = 500) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _get(item: Mapping[str, Any], *path: str) -> object:
    value: object = item
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value


def records_of(item: Mapping[str, Any], day: date) -> list[ImportRecord]:
    """The records of one actor-day: one per model, and one (model '') with the core metrics."""
    actor = item.get("actor")
    email = _text(_get(item, "actor", "email_address")) if isinstance(actor, dict) else ""
    key_name = _text(_get(item, "actor", "api_key_name")) if isinstance(actor, dict) else ""
    if not email and not key_name:
        return []
    terminal = _text(item.get("terminal_type"), 100)
    # An actor has one item a day per terminal type, local or remote (Claude Code on the web) and customer type:
    # the key keeps them apart, or the store would drop all but one as duplicates.
    where = "remote" if item.get("is_remote") is True else "local"
    actor_key = f"user:{email.lower()}" if email else f"api_key:{key_name}"
    who = f"{actor_key}|{terminal}|{where}|{_text(item.get('customer_type'), 50)}"
    ts = datetime(day.year, day.month, day.day, tzinfo=UTC)
    common: dict[str, Any] = {
        "source": ADMIN_API,
        "ts": ts,
        "user_email": email,
        "person": "" if email else f"{API_KEY_PERSON}{key_name}",
        "terminal_type": terminal,
        "organization_id": _text(item.get("organization_id"), 100),
    }
    records = [
        ImportRecord(
            key=f"{day.isoformat()}|{who}|{CORE}",
            sessions=_int(_get(item, "core_metrics", "num_sessions")),
            lines_added=_int(_get(item, "core_metrics", "lines_of_code", "added")),
            lines_removed=_int(_get(item, "core_metrics", "lines_of_code", "removed")),
            commits=_int(_get(item, "core_metrics", "commits_by_claude_code")),
            pull_requests=_int(_get(item, "core_metrics", "pull_requests_by_claude_code")),
            cost_usd=0.0,
            **common,
        )
    ]
    breakdown = item.get("model_breakdown")
    for entry in breakdown if isinstance(breakdown, list) else []:
        if not isinstance(entry, dict):
            continue
        model = _text(entry.get("model"), 200)
        records.append(
            ImportRecord(
                key=f"{day.isoformat()}|{who}|{model}",
                model=model,
                input_tokens=_int(_get(entry, "tokens", "input")),
                output_tokens=_int(_get(entry, "tokens", "output")),
                cache_read_tokens=_int(_get(entry, "tokens", "cache_read")),
                cache_creation_tokens=_int(_get(entry, "tokens", "cache_creation")),
                cost_usd=_usd_of_cents(_get(entry, "estimated_cost", "amount")),
                **common,
            )
        )
    return records


def _usd_of_cents(cents: object) -> float | None:
    """`estimated_cost.amount` (cents, a number or a decimal string) in USD; None when missing or not a sane amount,
    so the row is priced from its tokens (or flagged unpriced) rather than counted as free."""
    if isinstance(cents, str):
        try:
            cents = float(cents)
        except ValueError:
            return None
    if not isinstance(cents, int | float) or isinstance(cents, bool) or not 0 <= cents < 1e13:
        return None  # NaN fails the range check too
    return cents / 100


def complete_days(wanted: list[date], now: datetime) -> list[date]:
    """The days the report answers in full by `now`: it holds only data older than an hour, and a day once stored is
    never read again (its keys are known), so a day imported early would stay partial."""
    return [day for day in wanted if datetime(day.year, day.month, day.day, tzinfo=UTC) + COMPLETE_AFTER <= now]


def from_api_key(record: ImportRecord) -> bool:
    """Whether a record is an API-key actor's (no email, so it cannot be matched to the same person's telemetry)."""
    return not record.user_email and record.person.startswith(API_KEY_PERSON)
