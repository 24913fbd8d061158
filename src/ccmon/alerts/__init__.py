"""Alerts, budgets and model policy: rules evaluated in the server over the analytics layer, their state kept in the
store, notifications queued and retried, budgets and policies enforced by Claude Code hooks (docs/alerts.md)."""
