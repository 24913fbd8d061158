from __future__ import annotations

import base64
from html.parser import HTMLParser

import pytest

from ccmon.analytics import Analytics
from ccmon.reports.recommendations import Recommendation
from ccmon.reports.render import SLACK_MAX_BLOCKS, SLACK_MAX_TEXT, markdown, slack, to_html
from ccmon.reports.report import WeeklyReport, build_report
from ccmon.reports.weekly import Ranked
from tests.reports.data import WEEK
from tests.reports.png import decode


@pytest.fixture
def report(analytics: Analytics) -> WeeklyReport:
    return build_report(analytics, WEEK)


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.sources.append(dict(attrs)["src"] or "")


def test_markdown_has_the_figures_tops_and_recommendations(report: WeeklyReport) -> None:
    text = markdown(report)
    assert text.startswith("# Claude Code weekly report 2026-W47\n")
    assert "| Total cost | $48.00 | $20.00 | +140.0% |" in text
    assert "| Cost per PR | $24.00 | $20.00 | +20.0% |" in text
    assert "| Cost per user | $16.00 | $20.00 | -20.0% |" in text
    assert "| API error rate | 18.8% | – | – |" in text
    assert "| data | $38.00 | 79.2% |" in text and "| Edit | 3 | 75.0% |" in text
    assert "### Send short requests to Sonnet instead of claude-opus-4-1[1m] — about $29.1" in text
    assert "- session s-c (carol@example.com): $8.00" in text


def test_html_stands_alone_with_valid_inline_charts(report: WeeklyReport) -> None:
    page = to_html(report)
    parser = _Images()
    parser.feed(page.html)
    assert len(parser.sources) == 3 and "script" not in parser.tags
    for source in parser.sources:
        assert source.startswith("data:image/png;base64,")
        decode(base64.b64decode(source.split(",", 1)[1]))
    assert "$48.00" in page.html and "+140.0%" in page.html


def test_html_for_email_refers_to_its_parts(report: WeeklyReport) -> None:
    page = to_html(report, inline=False)
    parser = _Images()
    parser.feed(page.html)
    assert sorted(parser.sources) == sorted(f"cid:{name}" for name in page.images)


def test_slack_post_within_limits(report: WeeklyReport) -> None:
    post = slack(report)
    assert post["text"] == "Claude Code weekly report 2026-W47: $48.00 (+140.0%)"
    blocks = post["blocks"]
    assert blocks[0]["type"] == "header" and len(blocks) <= SLACK_MAX_BLOCKS
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "*Total cost*: $48.00 (+140.0% vs $20.00)" in text and "*Top teams*: data $38.00" in text


def test_hostile_names_are_escaped_and_huge_reports_clipped(report: WeeklyReport) -> None:
    evil = "<script>alert(1)</script>|<!channel>"
    many = [
        Recommendation(
            kind="retry_loops", title=evil, action="x" * 5000, evidence=[evil], estimate_usd=1.0, estimate_method="-"
        )
        for _ in range(80)
    ]
    hostile = report.model_copy(
        update={
            "figures": report.figures.model_copy(update={"top_teams": [Ranked(key=evil, value=1.0, share=1.0)]}),
            "recommendations": many,
        }
    )
    assert "<script>" not in to_html(hostile).html
    assert f"| {evil.replace('|', chr(92) + '|')} |" in markdown(hostile)
    blocks = slack(hostile)["blocks"]
    assert len(blocks) == SLACK_MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= SLACK_MAX_TEXT for b in blocks if b["type"] == "section")
    assert "<!channel>" not in str(blocks) and "&lt;!channel&gt;" in str(blocks)
