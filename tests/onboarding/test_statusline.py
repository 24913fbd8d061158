"""`ccmon.onboarding.statusline`: reading Claude Code's status JSON (recorded in the documented shape, and broken in
every way a writer can break it), the line drawn from it and from the cached server figures, the cache file, the lock
that keeps a burst of redraws to one refresh, and what a refresh reports.

The refresh against a real server, and the command run as Claude Code runs it, are tests/test_statusline_cli.py.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from ccmon.onboarding.statusline import (
    MAX_INPUT_BYTES,
    SHOW_FOR_S,
    Figures,
    Limit,
    StatusInput,
    figures_of,
    parse_input,
    read_input,
    render,
)
from ccmon.onboarding.statusline_cache import (
    CACHE_FILE,
    LOCK_FILE,
    LOCK_STALE_S,
    REPORT_EVERY_S,
    Cache,
    RefreshJob,
    cache_key,
    needs_refresh,
    read_cache,
    refresh,
    report_body,
    take_lock,
    write_cache,
)

NOW = 1_796_000_000.0  # 2026-11-30 (UTC), mid-month and mid-day
KEY = cache_key("http://ccmon.internal:3000", "")

RECORDED: dict[str, Any] = {
    "hook_event_name": "Status",
    "session_id": "0b3c6a5e-2f41-4c1e-9d0a-7a1f8e2b9c11",
    "transcript_path": "/home/ann/.claude/projects/x/0b3c6a5e.jsonl",
    "cwd": "/home/ann/src/api",
    "model": {"id": "claude-opus-4-1-20250805", "display_name": "Opus 4.1"},
    "workspace": {"current_dir": "/home/ann/src/api", "project_dir": "/home/ann/src/api"},
    "version": "2.1.330",
    "output_style": {"name": "default"},
    "cost": {
        "total_cost_usd": 0.4217,
        "total_duration_ms": 45000,
        "total_api_duration_ms": 2300,
        "total_lines_added": 156,
        "total_lines_removed": 23,
    },
    "context_window": {"used_percentage": 12},
    "rate_limits": {
        "five_hour": {"used_percentage": 23.4, "resets_at": int(NOW) + 3600},
        "seven_day": {"used_percentage": 61.2, "resets_at": int(NOW) + 4 * 86400},
    },
}
"""Claude Code's status line input as documented (reference §4), for a Max login."""


def _answer(**extra: Any) -> dict[str, Any]:
    """The server's answer (`POST /api/v1/client/statusline`), a personal monthly budget of $200 at 41%."""
    budget = {
        "budget_id": "dev-cap",
        "name": "Developer cap",
        "scope": "organization",
        "per_person": True,
        "period": "monthly",
        "unit": "usd",
        "used": 81.2,
        "amount": 200.0,
        "fraction": 0.406,
        "thresholds": [0.8],
        "threshold_crossed": None,
        "over": False,
    }
    return {"person": "ann@example.com", "today_usd": 3.1, "month_usd": 81.2, "budgets": [budget], **extra}


def _figures(answer: dict[str, Any] | None = None, fetched_at: float = NOW - 5) -> Figures:
    return figures_of(answer or _answer(), fetched_at)


def test_the_documented_input_gives_every_part_of_the_line() -> None:
    status = parse_input(json.dumps(RECORDED).encode())
    assert status.session_id == RECORDED["session_id"]
    assert (status.model_id, status.model_name, status.session_cost) == ("claude-opus-4-1-20250805", "Opus 4.1", 0.4217)
    assert status.limits == {"five_hour": Limit(23.4, int(NOW) + 3600), "seven_day": Limit(61.2, int(NOW) + 345600)}
    assert render(status, _figures(), NOW) == (
        "Opus 4.1 · session $0.42 · today $3.10 · month $81.20 / $200 (41%) · 5h 23% · 7d 61%"
    )


def test_without_server_figures_the_line_is_the_local_part() -> None:
    status = parse_input(json.dumps(RECORDED).encode())
    assert render(status, None, NOW) == "Opus 4.1 · session $0.42 · 5h 23% · 7d 61%"
    # Figures too old, or fetched on another UTC day or month, are not shown.
    assert "today" not in render(status, _figures(fetched_at=NOW - SHOW_FOR_S - 1), NOW)
    new_day = 1_796_083_200.0  # 2026-12-01 00:00 UTC: a new day and a new month
    assert render(status, _figures(fetched_at=new_day - 60), new_day + 1) == (
        "Opus 4.1 · session $0.42 · 5h 23% · 7d 61%"
    )


def test_without_rate_limits_there_are_no_limit_parts() -> None:
    status = parse_input(json.dumps({k: v for k, v in RECORDED.items() if k != "rate_limits"}).encode())
    assert status.limits == {}
    assert render(status, _figures(), NOW) == "Opus 4.1 · session $0.42 · today $3.10 · month $81.20 / $200 (41%)"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b"{" * 100_000,
        b'{"session_id": "s", "cost": {"total_cost_usd": 1}',  # cut short
        b"\xff\xfe\x00garbage",
    ],
    ids=["empty", "text", "array", "string", "null", "deep", "truncated", "binary"],
)
def test_input_that_is_not_a_status_gives_an_empty_one(data: bytes) -> None:
    status = parse_input(data)
    assert status == StatusInput()
    assert render(status, None, NOW) == "ccmon"
    assert render(status, _figures(), NOW) == "today $3.10 · month $81.20 / $200 (41%)"


def test_huge_input_is_not_parsed() -> None:
    huge = json.dumps({**RECORDED, "padding": "x" * MAX_INPUT_BYTES}).encode()
    assert read_input(io.BytesIO(huge)) == StatusInput()
    assert read_input(io.BytesIO(json.dumps(RECORDED).encode())).session_cost == 0.4217


def test_fields_of_the_wrong_type_or_out_of_range_are_left_out() -> None:
    wrong: dict[str, Any] = {
        "session_id": 42,
        "model": "Opus",  # not an object
        "cost": {"total_cost_usd": "0.42"},
        "rate_limits": {
            "five_hour": {"used_percentage": 140, "resets_at": 1},
            "seven_day": {"used_percentage": True},
            "ten_minute": {"used_percentage": 5},
        },
    }
    assert parse_input(json.dumps(wrong).encode()) == StatusInput()
    odd = {
        "model": {"display_name": "Opus\x1b[31m\x07 4\n" + "x" * 500},
        "cost": {"total_cost_usd": -3},
        "rate_limits": {"five_hour": {"used_percentage": 99.7, "resets_at": 1e300}, "seven_day": []},
    }
    status = parse_input(json.dumps(odd).encode())
    assert status.model_name.startswith("Opus[31m 4x") and len(status.model_name) == 40  # no escape byte reaches
    assert status.session_cost is None
    assert status.limits == {"five_hour": Limit(99.7, None)}
    assert render(status, None, NOW).endswith("· 5h 99%")  # not 100% before the limit is reached
    assert "\x1b" not in render(status, None, NOW)
    for nan in (b'{"cost": {"total_cost_usd": NaN}}', b'{"cost": {"total_cost_usd": Infinity}}'):
        assert parse_input(nan).session_cost is None


def test_a_nearly_used_limit_says_when_it_resets() -> None:
    resets = int(NOW) + 2 * 3600
    status = StatusInput(limits={"five_hour": Limit(91.0, resets), "seven_day": Limit(85.0, int(NOW) + 3 * 86400)})
    line = render(status, None, NOW)
    assert line.startswith(f"5h 91% ↻{time.strftime('%H:%M', time.localtime(resets))} · 7d 85% ↻")
    assert time.strftime("%a", time.localtime(NOW + 3 * 86400)) in line
    # Below 80%, or with a reset time already past, no reset is shown.
    assert render(StatusInput(limits={"five_hour": Limit(79.0, resets)}), None, NOW) == "5h 79%"
    assert render(StatusInput(limits={"five_hour": Limit(95.0, int(NOW) - 1)}), None, NOW) == "5h 95%"


def test_budgets_are_shown_against_the_figure_of_their_period() -> None:
    daily = {**_answer()["budgets"][0], "budget_id": "day", "period": "daily", "used": 3.1, "amount": 20}
    weekly = {**daily, "budget_id": "week", "period": "weekly", "used": 30.0, "amount": 50}
    team = {
        **daily,
        "name": "Platform",
        "scope": "team",
        "scope_value": "platform",
        "per_person": False,
        "period": "monthly",
        "used": 4500.0,
        "amount": 5000.0,
        "threshold_crossed": 0.8,
    }
    tokens = {**daily, "unit": "tokens", "used": 10, "amount": 100}
    answer = _answer(budgets=[*_answer()["budgets"], daily, weekly, team, tokens], month_usd=1234.5)
    assert render(StatusInput(), _figures(answer), NOW) == (
        "today $3.10 / $20 (16%) · month $1,234 / $200 (41%) · week $30.00 / $50 (60%) · Platform 90%"
    )
    # A pooled budget below its first threshold is not shown; no budget at all leaves the figures alone.
    assert render(StatusInput(), _figures(_answer(budgets=[{**team, "threshold_crossed": None}])), NOW) == (
        "today $3.10 · month $81.20"
    )


def test_the_cache_round_trips_and_a_broken_one_is_ignored(tmp_path: Path) -> None:
    cache = Cache(KEY, NOW, figures_of(_answer(), NOW), "", {"five_hour": Limit(23.4, 1_796_003_600)}, NOW)
    write_cache(tmp_path, cache)
    assert read_cache(tmp_path) == cache
    assert list(tmp_path.iterdir()) == [tmp_path / CACHE_FILE]  # no temporary file left
    for broken in ("", "{", "[]", '{"key": 1, "attempted_at": 2}', '{"key": "k", "attempted_at": "x"}', "x" * 70000):
        (tmp_path / CACHE_FILE).write_text(broken)
        assert read_cache(tmp_path) is None
    hostile = {"key": KEY, "attempted_at": NOW, "figures": {"fetched_at": NOW, "today_usd": -1, "budgets": [1, {}]}}
    (tmp_path / CACHE_FILE).write_text(json.dumps(hostile))
    assert read_cache(tmp_path) == Cache(KEY, NOW, Figures(NOW))
    assert read_cache(tmp_path / "missing") is None


def test_the_cache_is_refreshed_when_old_or_of_someone_else() -> None:
    cache = Cache(KEY, NOW - 5)
    assert not needs_refresh(cache, KEY, NOW, 10)
    assert needs_refresh(cache, KEY, NOW, 5)
    assert needs_refresh(cache, cache_key("http://ccmon.internal:3000", "bob@example.com"), NOW, 10)
    assert needs_refresh(None, KEY, NOW, 10)
    assert needs_refresh(Cache(KEY, NOW + 3600), KEY, NOW, 10)  # the clock went back an hour


def test_one_refresh_at_a_time_and_a_dead_one_does_not_block(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert take_lock(state, NOW)
    assert not take_lock(state, NOW + 1)
    os.utime(state / LOCK_FILE, (NOW - LOCK_STALE_S - 1, NOW - LOCK_STALE_S - 1))
    assert take_lock(state, NOW)  # the refresh holding it died: taken over
    assert not take_lock(state, NOW)
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert not take_lock(blocked / "state", NOW)  # cannot be written: no refresh, no error


def _job(tmp_path: Path, **changes: Any) -> RefreshJob:
    base = RefreshJob(
        url="http://127.0.0.1:9",
        token=None,
        person="",
        session_id="s-1",
        model="claude-opus-4-1",
        limits={"five_hour": Limit(23.4, 1_796_003_600)},
        directory=str(tmp_path),
        timeout_s=1.0,
    )
    return base._replace(**changes)


def test_limits_are_reported_when_they_change_or_every_few_minutes(tmp_path: Path) -> None:
    identity = {"email": "ann@example.com", "user_id": "u" * 600}
    job = _job(tmp_path)
    body, reports = report_body(job, identity, None, NOW)
    assert reports
    assert body == {
        "session_id": "s-1",
        "email": "ann@example.com",
        "user_id": "u" * 500,
        "model": "claude-opus-4-1",
        "rate_limits": {"five_hour": {"used_percentage": 23.4, "resets_at": 1_796_003_600}},
    }
    reported = Cache(job.key, NOW, reported=job.limits, reported_at=NOW)
    assert not report_body(job, identity, reported, NOW + 60)[1]
    assert report_body(job, identity, reported, NOW + REPORT_EVERY_S)[1]
    assert report_body(_job(tmp_path, limits={"five_hour": Limit(24.0, 1_796_003_600)}), identity, reported, NOW)[1]
    assert "rate_limits" not in report_body(_job(tmp_path, limits={}), identity, None, NOW)[0]
    assert report_body(_job(tmp_path, person="bob@example.com"), {}, None, NOW)[0]["person"] == "bob@example.com"


def test_a_job_survives_its_trip_to_a_detached_process(tmp_path: Path) -> None:
    job = _job(tmp_path, token="ccmi_x", person="ann@example.com")
    assert RefreshJob.from_json(job.to_json()) == job


def test_a_refresh_without_server_keeps_the_last_figures_and_says_why(tmp_path: Path) -> None:
    job = _job(tmp_path)
    write_cache(tmp_path, Cache(job.key, NOW - 20, _figures(fetched_at=NOW - 20)))
    take_lock(tmp_path, NOW)
    cache = refresh(job, {"HOME": str(tmp_path)}, now=NOW)
    assert "connection refused" in cache.error
    assert cache.attempted_at == NOW and cache.figures == _figures(fetched_at=NOW - 20)
    assert read_cache(tmp_path) == cache
    assert not (tmp_path / LOCK_FILE).exists()  # released
