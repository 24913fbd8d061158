"""The weekly report as Markdown, as self-contained HTML with inline PNG charts, and as a Slack Block Kit post.

Every format shows the same things in the same order: the figures with their week-over-week change, the top teams,
models and tools, then the recommendations with their evidence and estimate. Numbers are formatted once here
(`value_text`), so the formats cannot disagree.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ccmon.alerts.payloads import slack_escape
from ccmon.reports.charts import PALETTE, bar_chart, share_bar
from ccmon.reports.report import WeeklyReport
from ccmon.reports.weekly import Figure, Ranked

SLACK_MAX_BLOCKS = 50
SLACK_MAX_TEXT = 3000
SLACK_MAX_HEADER = 150


def value_text(unit: str, value: float | None) -> str:
    if value is None:
        return "–"
    if unit == "usd":
        return f"${value:,.2f}"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    return f"{value:,.0f}"


def change_text(figure: Figure) -> str:
    return "–" if figure.change_pct is None else f"{figure.change_pct:+.1f}%"


def _sections(report: WeeklyReport) -> list[tuple[str, str, Sequence[Ranked]]]:
    figures = report.figures
    return [
        ("Top teams", "usd", figures.top_teams),
        ("Top models", "usd", figures.top_models),
        ("Top tools", "count", figures.top_tools),
    ]


def _share(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f}%"


def markdown(report: WeeklyReport) -> str:
    figures = report.figures
    lines = [f"# {report.title}", "", f"{figures.start:%Y-%m-%d} → {figures.end:%Y-%m-%d} (UTC, Monday to Monday)", ""]
    lines += ["| Figure | This week | Last week | Change |", "|---|---:|---:|---:|"]
    lines += [
        f"| {f.label} | {value_text(f.unit, f.value)} | {value_text(f.unit, f.previous)} | {change_text(f)} |"
        for f in figures.figures
    ]
    for title, unit, rows in _sections(report):
        lines += ["", f"## {title}", ""]
        if not rows:
            lines.append("None this week.")
            continue
        lines += ["| | | Share |", "|---|---:|---:|"]
        lines += [f"| {_md(row.key)} | {value_text(unit, row.value)} | {_share(row.share)} |" for row in rows]
    lines += ["", "## Recommendations", ""]
    if not report.recommendations:
        lines.append("None this week: nothing in the data crossed a threshold (see docs/reports.md).")
    for item in report.recommendations:
        lines += [f"### {_md(item.title)} — about ${item.estimate_usd:,.2f} a week", "", _md(item.action), ""]
        lines += [f"- {_md(line)}" for line in item.evidence]
        lines += [f"- Estimate: {_md(item.estimate_method)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    """Text inside a Markdown table or list: pipes escaped, on one line."""
    return " ".join(text.replace("|", "\\|").split())


@dataclass(frozen=True)
class HtmlReport:
    html: str
    images: Mapping[str, bytes]
    """PNG bytes by content id, as the HTML refers to them (`cid:` in an email)."""


def charts(report: WeeklyReport) -> dict[str, bytes]:
    figures = report.figures
    return {
        "daily-cost": bar_chart([day.cost_usd for day in figures.daily_cost]),
        "teams": share_bar([row.share or 0.0 for row in figures.top_teams]),
        "models": share_bar([row.share or 0.0 for row in figures.top_models]),
    }


def to_html(report: WeeklyReport, *, inline: bool = True) -> HtmlReport:
    """The HTML page; images as `data:` URIs (`inline`, a file that stands alone) or `cid:` references (email)."""
    images = charts(report)

    def source(name: str) -> str:
        if inline:
            return "data:image/png;base64," + base64.b64encode(images[name]).decode()
        return f"cid:{name}"

    figures = report.figures
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(f.label)}</td><td class=n>{e(value_text(f.unit, f.value))}</td>"
        f"<td class=n>{e(value_text(f.unit, f.previous))}</td><td class=n>{e(change_text(f))}</td></tr>"
        for f in figures.figures
    )
    days = "".join(f"<td class=n>{e(value_text('usd', d.cost_usd))}</td>" for d in figures.daily_cost)
    heads = "".join(f"<th>{d.day:%a %d}</th>" for d in figures.daily_cost)
    parts = [
        f"<h1>{e(report.title)}</h1>",
        f"<p>{figures.start:%Y-%m-%d} → {figures.end:%Y-%m-%d} (UTC, Monday to Monday)</p>",
        f"<table><tr><th>Figure</th><th>This week</th><th>Last week</th><th>Change</th></tr>{rows}</table>",
        "<h2>Cost per day</h2>",
        f'<img src="{source("daily-cost")}" alt="Cost per day, Monday to Sunday" width=560 height=200>',
        f"<table><tr>{heads}</tr><tr>{days}</tr></table>",
    ]
    chart_of = {"Top teams": "teams", "Top models": "models"}
    for title, unit, ranked in _sections(report):
        parts.append(f"<h2>{e(title)}</h2>")
        if not ranked:
            parts.append("<p>None this week.</p>")
            continue
        if title in chart_of:
            parts.append(f'<img src="{source(chart_of[title])}" alt="{e(title)}: share of cost" width=560 height=24>')
        items = "".join(
            f"<tr><td>{_swatch(index) if title in chart_of else ''}{e(row.key)}</td>"
            f"<td class=n>{e(value_text(unit, row.value))}</td><td class=n>{e(_share(row.share))}</td></tr>"
            for index, row in enumerate(ranked)
        )
        parts.append(f"<table>{items}</table>")
    parts.append("<h2>Recommendations</h2>")
    if not report.recommendations:
        parts.append("<p>None this week: nothing in the data crossed a threshold.</p>")
    for item in report.recommendations:
        evidence = "".join(f"<li>{e(line)}</li>" for line in item.evidence)
        parts.append(
            f"<h3>{e(item.title)} — about ${item.estimate_usd:,.2f} a week</h3><p>{e(item.action)}</p>"
            f"<ul>{evidence}<li>Estimate: {e(item.estimate_method)}</li></ul>"
        )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:640px;margin:1em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
        ".n{text-align:right}.s{display:inline-block;width:10px;height:10px;margin-right:6px}"
    )
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{e(report.title)}</title>'
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )
    return HtmlReport(html=page, images=images)


def _swatch(index: int) -> str:
    red, green, blue = PALETTE[index % len(PALETTE)]
    return f'<span class=s style="background:rgb({red},{green},{blue})"></span>'


def slack(report: WeeklyReport) -> dict[str, Any]:
    """A Block Kit message (`text` is the notification's fallback), within Slack's limits: at most 50 blocks, 3000
    characters a section, 150 a header."""
    figures = report.figures
    lines = [
        f"*{f.label}*: {value_text(f.unit, f.value)} ({change_text(f)} vs {value_text(f.unit, f.previous)})"
        for f in figures.figures
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": report.title[:SLACK_MAX_HEADER]}},
        _section(f"{figures.start:%Y-%m-%d} → {figures.end:%Y-%m-%d} UTC\n" + "\n".join(lines)),
    ]
    for title, unit, ranked in _sections(report):
        listed = ", ".join(f"{slack_escape(row.key)} {value_text(unit, row.value)}" for row in ranked) or "none"
        blocks.append(_section(f"*{title}*: {listed}"))
    blocks.append({"type": "divider"})
    if not report.recommendations:
        blocks.append(_section("*Recommendations*: none this week"))
    for item in report.recommendations:
        evidence = "\n".join(f"• {slack_escape(line)}" for line in item.evidence)
        head = f"*{slack_escape(item.title)}* — about ${item.estimate_usd:,.2f} a week"
        blocks.append(_section(f"{head}\n{slack_escape(item.action)}\n{evidence}"))
    if len(blocks) > SLACK_MAX_BLOCKS:
        blocks = [*blocks[: SLACK_MAX_BLOCKS - 1], _section("… more in the full report (`ccmon report weekly`)")]
    cost = figures.figure("cost_usd")
    fallback = f"{report.title}: {value_text('usd', cost.value)} ({change_text(cost)})"
    return {"text": fallback, "blocks": blocks}


def _section(text: str) -> dict[str, Any]:
    if len(text) > SLACK_MAX_TEXT:
        text = text[: SLACK_MAX_TEXT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
