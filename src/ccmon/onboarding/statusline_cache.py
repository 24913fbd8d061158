"""The status line's cache of the server's figures, and its refresh (run in a detached background process by
`ccmon.statusline_cli`), which reports the usage limits on the way.

The foreground reads the cache file (`CACHE_FILE` in the state folder: the server's last answer, when it was asked,
the last error, the limits last reported) and never calls the server. When the cache is older than `--cache-seconds`
(`needs_refresh`), it takes the lock file (`take_lock`: created exclusively, so of a burst of redraws one starts a
refresh; one left by a refresh that died is taken over after `LOCK_STALE_S`) and starts `refresh` in the background,
which asks the server, replaces the cache file at once (`os.replace`) and releases the lock. A refresh that cannot
reach the server writes the cache too, keeping the last figures and saying why: the next attempt waits its turn.

The limits are reported when they changed since the last report, or every `REPORT_EVERY_S`: the table stays small,
and the dashboard's "latest report" is never older than that while the statusline runs.

Standard library only; the HTTP client is imported by `refresh` alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ccmon.onboarding.statusline import (
    MAX_FIELD,
    WINDOWS,
    Figures,
    Limit,
    figures_of,
    finite_number,
    limit_of,
    object_of,
    text_of,
)

CACHE_FILE = "statusline.json"
LOCK_FILE = "statusline.lock"
LOCK_STALE_S = 30.0
"""A lock older than this is a refresh that died (a refresh takes at most its timeout, 3 s by default)."""
REPORT_EVERY_S = 300.0
"""Unchanged usage limits are reported again after this long (changed ones at the next refresh)."""
ROUTE = "/api/v1/client/statusline"


class Cache(NamedTuple):
    key: str
    """Which server and person the figures are of (`cache_key`)."""
    attempted_at: float
    figures: Figures | None = None
    error: str = ""
    reported: Mapping[str, Limit] = {}
    reported_at: float = 0.0


def cache_key(url: str, person: str) -> str:
    return f"{url.rstrip('/')}|{person}"


def read_cache(directory: Path) -> Cache | None:
    """The cache file; None when it is missing or not one this version wrote."""
    try:
        data = json.loads((directory / CACHE_FILE).read_bytes()[:65536])
        key, attempted = data["key"], data["attempted_at"]
        if not isinstance(key, str) or not finite_number(attempted):
            return None
        figures = data.get("figures")
        reported = {n: limit for n in WINDOWS if (limit := limit_of(object_of(data.get("reported")).get(n)))}
        return Cache(
            key=key,
            attempted_at=float(attempted),
            figures=figures_of(figures, float(figures["fetched_at"])) if isinstance(figures, dict) else None,
            error=text_of(data.get("error"), 300),
            reported=reported,
            reported_at=float(data.get("reported_at") or 0),
        )
    except (OSError, ValueError, RecursionError, KeyError, TypeError):
        return None


def write_cache(directory: Path, cache: Cache) -> None:
    """Replace the cache file at once (a redraw reading it meanwhile sees the old one or the new one, whole)."""
    figures = cache.figures
    data = {
        "key": cache.key,
        "attempted_at": cache.attempted_at,
        "figures": None
        if figures is None
        else {
            "fetched_at": figures.fetched_at,
            "today_usd": figures.today_usd,
            "month_usd": figures.month_usd,
            "budgets": [
                {
                    "name": b.name,
                    "period": b.period,
                    "used": b.used,
                    "amount": b.amount,
                    "personal": b.personal,
                    "warning": b.warning,
                }
                for b in figures.budgets
            ],
        },
        "error": cache.error,
        "reported": {n: {"used_percentage": v.used_pct, "resets_at": v.resets_at} for n, v in cache.reported.items()},
        "reported_at": cache.reported_at,
    }
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = directory / f".{CACHE_FILE}.{os.getpid()}"
    temporary.write_text(json.dumps(data))
    os.replace(temporary, directory / CACHE_FILE)


def needs_refresh(cache: Cache | None, key: str, now: float, max_age_s: float) -> bool:
    """Whether the cache is of another server or person, or was refreshed `max_age_s` ago (or, by this clock, more
    than a minute in the future: the clock was set back)."""
    if cache is None or cache.key != key:
        return True
    age = now - cache.attempted_at
    return age >= max_age_s or age < -60


def take_lock(directory: Path, now: float) -> bool:
    """Whether this process may start a refresh: it created the lock file (or replaced one left by a refresh that
    died). False when a refresh is under way, or when the state folder cannot be written."""
    path = directory / LOCK_FILE
    for _ in range(2):
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            try:
                age = now - path.stat().st_mtime
            except OSError:
                continue
            if -60 < age < LOCK_STALE_S:
                return False
            path.unlink(missing_ok=True)
            continue
        except OSError:
            return False
        os.close(descriptor)
        with contextlib.suppress(OSError):
            os.utime(path, (now, now))  # the lock's age is measured on the clock its taker used
        return True
    return False


def release_lock(directory: Path) -> None:
    (directory / LOCK_FILE).unlink(missing_ok=True)


# --- the refresh (in the background) ---------------------------------------------------------------------------------


class RefreshJob(NamedTuple):
    """What the background refresh needs: the server, who is asking, and this redraw's session, model and limits."""

    url: str
    token: str | None
    """`--token` or `CCMON_TOKEN`; None: the one Claude Code exports telemetry with, found by the refresh."""
    person: str
    session_id: str
    model: str
    limits: Mapping[str, Limit]
    directory: str
    timeout_s: float = 3.0

    @property
    def key(self) -> str:
        return cache_key(self.url, self.person)

    def to_json(self) -> str:
        limits = {n: {"used_percentage": v.used_pct, "resets_at": v.resets_at} for n, v in self.limits.items()}
        return json.dumps({**self._asdict(), "limits": limits})

    @classmethod
    def from_json(cls, text: str) -> RefreshJob:
        data = json.loads(text)
        limits = {n: limit for n in WINDOWS if (limit := limit_of(object_of(data.get("limits")).get(n)))}
        return cls(**{**data, "limits": limits})


def report_body(
    job: RefreshJob, identity: Mapping[str, str], previous: Cache | None, now: float
) -> tuple[dict[str, Any], bool]:
    """The request body, and whether it reports the limits (they changed since the last report, or it is old)."""
    body: dict[str, Any] = {"session_id": job.session_id[:MAX_FIELD]}
    if job.person:
        body["person"] = job.person[:MAX_FIELD]
    body.update({k: v[:MAX_FIELD] for k, v in identity.items() if k in ("email", "account_uuid", "user_id") and v})
    if job.model:
        body["model"] = job.model[:MAX_FIELD]
    unchanged = (
        previous is not None
        and previous.key == job.key
        and dict(previous.reported) == dict(job.limits)
        and 0 <= now - previous.reported_at < REPORT_EVERY_S
    )
    report = bool(job.limits) and not unchanged
    if report:
        body["rate_limits"] = {
            n: {"used_percentage": v.used_pct, **({"resets_at": v.resets_at} if v.resets_at is not None else {})}
            for n, v in job.limits.items()
        }
    return {k: v for k, v in body.items() if v}, report


def refresh(job: RefreshJob, environ: Mapping[str, str], now: float | None = None) -> Cache:
    """Ask the server, write the cache (also when the server cannot answer: the next refresh waits its turn) and
    release the lock. Returns the cache written. Who is asking (the login in `~/.claude.json`, the ingest token in
    Claude Code's settings) is read here, in the background, not by the foreground."""
    # Here, not at the top: the foreground never needs them.
    from ccmon.onboarding.claude_files import claude_identity, find_token
    from ccmon.onboarding.client_http import call_json

    directory = Path(job.directory)
    started = time.time() if now is None else now
    try:
        previous = read_cache(directory)
        body, reports = report_body(job, claude_identity(environ), previous, started)
        token = job.token or find_token(environ)
        answer = call_json(job.url, ROUTE, body, token=token, timeout_s=job.timeout_s)
        kept = previous if previous is not None and previous.key == job.key else None
        if isinstance(answer, str):
            cache = Cache(
                job.key,
                started,
                kept.figures if kept else None,
                answer,
                kept.reported if kept else {},
                kept.reported_at if kept else 0.0,
            )
        else:
            cache = Cache(
                job.key,
                started,
                figures_of(answer, started),
                "",
                job.limits if reports else (kept.reported if kept else {}),
                started if reports else (kept.reported_at if kept else 0.0),
            )
        write_cache(directory, cache)
        return cache
    finally:
        release_lock(directory)
