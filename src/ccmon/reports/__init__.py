"""Scheduled and on-demand reports: the weekly report, rendered as Markdown, HTML and a Slack post."""
