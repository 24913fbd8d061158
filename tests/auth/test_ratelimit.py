"""Login failures slow down: 429 after the limit, a delay that doubles, capped, and forgotten after the window."""

from __future__ import annotations

from ccmon.auth.ratelimit import LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_delay_starts_after_the_limit_and_doubles_up_to_the_cap() -> None:
    clock = Clock()
    limiter = LoginLimiter(max_failures=5, window_s=900, base_delay_s=30, max_delay_s=120, clock=clock)
    keys = ["address:10.0.0.1", "login:a@example.com"]
    for _ in range(4):
        limiter.failed(keys)
        assert limiter.retry_after(keys) == 0
    waits = []
    for _ in range(4):
        limiter.failed(keys)
        waits.append(limiter.retry_after(keys))
        clock.now += waits[-1]  # wait as told, then fail again
    assert waits == [30, 60, 120, 120]
    # Another login from the same address is slowed too; the same login from elsewhere as well.
    limiter.failed(keys)
    assert limiter.retry_after(["address:10.0.0.1", "login:b@example.com"]) > 0
    assert limiter.retry_after(["address:10.0.0.2", "login:a@example.com"]) > 0
    assert limiter.retry_after(["address:10.0.0.2", "login:b@example.com"]) == 0
    clock.now += 901
    assert limiter.retry_after(keys) == 0


def test_success_clears_the_login_not_the_address() -> None:
    clock = Clock()
    limiter = LoginLimiter(max_failures=2, clock=clock)
    keys = ["address:a", "login:x"]
    limiter.failed(keys)
    limiter.failed(keys)
    limiter.succeeded("login:x")
    assert limiter.retry_after(["login:x"]) == 0
    assert limiter.retry_after(["address:a"]) > 0


def test_memory_is_bounded() -> None:
    limiter = LoginLimiter(max_keys=100, clock=Clock())
    for n in range(1000):
        limiter.failed([f"login:{n}"])
    assert len(limiter._failures) == 100
