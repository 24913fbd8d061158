"""What the end-to-end tests of the real Claude Code CLI share: the CLI must be installed (a misconfigured CI fails,
it does not skip), and the fake Messages API it talks to, one per module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.claude_code.cli import claude_binary
from tests.claude_code.fake_anthropic import FakeAnthropic


@pytest.fixture(scope="module", autouse=True)
def _require_claude_cli(request: pytest.FixtureRequest) -> None:
    """For the modules marked `claude_cli`: fail when the CLI is missing, unless CCMON_SKIP_CLAUDE_CLI=1."""
    if request.node.get_closest_marker("claude_cli") is None or claude_binary() is not None:
        return
    if os.environ.get("CCMON_SKIP_CLAUDE_CLI") == "1":
        pytest.skip("CCMON_SKIP_CLAUDE_CLI=1")
    pytest.fail("Claude Code CLI not installed: run scripts/test (it installs it) or set CCMON_CLAUDE_BIN")


@pytest.fixture(scope="module")
def api() -> Iterator[FakeAnthropic]:
    """The fake Anthropic Messages API (tests/claude_code/fake_anthropic.py)."""
    with FakeAnthropic() as fake:
        yield fake
