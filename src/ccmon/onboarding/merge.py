"""Merging ccmon's settings fragment into a settings file a developer (or an organisation) already has.

A developer's `~/.claude/settings.json` holds their permissions, model, plugins, their own hooks and status line: setup
must add telemetry without losing any of it, and running it twice must change nothing. So:

- every key outside `env`, `otelHeadersHelper`, `hooks` and `statusLine` is kept as it is, in its place;
- `env` is merged variable by variable (ours win); the content-capture and tracing switches setup owns are removed
  when the options turn them off, so a second run can turn capture off again;
- our hook commands are recognised (`... hook budget ...`, `... hook policy ...` naming ccmon): one already there is
  updated in place (a new URL), else a group is appended once; other hooks are left alone;
- `statusLine` is replaced only when absent or ours; somebody else's status line is refused unless forced, because a
  developer's custom status line is not ours to drop.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from ccmon.onboarding.options import SWITCH_VARIABLES, SetupError

_OURS = {
    "budget": re.compile(r"ccmon\S*\s+hook\s+budget\b"),
    "policy": re.compile(r"ccmon\S*\s+hook\s+policy\b"),
    "statusline": re.compile(r"ccmon\S*\s+statusline\b"),
}
"""A ccmon command line, however ccmon is run (`ccmon`, `/opt/x/bin/ccmon`, `uvx ccmon`, `python -m ccmon`)."""
_EVENT_KIND = {"UserPromptSubmit": "budget", "PreToolUse": "policy"}


@dataclass
class MergeResult:
    """The merged settings and, for the user, what changed (empty when nothing did)."""

    settings: dict[str, Any]
    changes: list[str] = field(default_factory=list)


def is_ccmon_command(command: object, kind: str) -> bool:
    """Whether a hook or status line command is ccmon's `kind` (budget, policy or statusline)."""
    return isinstance(command, str) and bool(_OURS[kind].search(command))


def _merge_env(settings: dict[str, Any], ours: dict[str, str], changes: list[str]) -> None:
    existing = settings.get("env", {})
    if not isinstance(existing, dict):
        raise SetupError(f'"env" must be a JSON object of variables, not {type(existing).__name__}: fix it first')
    env = dict(existing)
    removed = [name for name in SWITCH_VARIABLES if name in env and name not in ours]
    for name in removed:
        del env[name]
    added = [name for name in ours if name not in env]
    changed = [name for name, value in ours.items() if name in env and env[name] != value]
    env.update(ours)
    for verb, names in (("added", added), ("changed", changed), ("removed (now off)", removed)):
        if names:
            changes.append(f"env: {verb} {', '.join(names)}")
    if env != existing or "env" not in settings:
        settings["env"] = env


def _our_hook(groups: list[Any], kind: str) -> dict[str, Any] | None:
    for group in groups:
        handlers = group.get("hooks") if isinstance(group, dict) else None
        for handler in handlers if isinstance(handlers, list) else []:
            if isinstance(handler, dict) and is_ccmon_command(handler.get("command"), kind):
                return handler
    return None


def _merge_hooks(settings: dict[str, Any], ours: dict[str, Any], changes: list[str]) -> None:
    existing = settings.get("hooks", {})
    if not isinstance(existing, dict):
        raise SetupError(f'"hooks" must be a JSON object of events, not {type(existing).__name__}: fix it first')
    hooks = copy.deepcopy(existing)
    for event, our_groups in ours.items():
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise SetupError(f'"hooks.{event}" must be a JSON list, not {type(groups).__name__}: fix it first')
        wanted = our_groups[0]["hooks"][0]
        handler = _our_hook(groups, _EVENT_KIND[event])
        if handler is None:
            groups.append(copy.deepcopy(our_groups[0]))
            changes.append(f"hooks: added {event} `{wanted['command']}`")
        elif handler.get("command") != wanted["command"] or handler.get("type") != "command":
            handler.update(wanted)
            changes.append(f"hooks: updated {event} to `{wanted['command']}`")
    if hooks != existing:
        settings["hooks"] = hooks


def _merge_statusline(settings: dict[str, Any], ours: dict[str, Any], changes: list[str], *, force: bool) -> None:
    existing = settings.get("statusLine")
    if existing == ours:
        return
    theirs = existing is not None and not (
        isinstance(existing, dict) and is_ccmon_command(existing.get("command"), "statusline")
    )
    if theirs and not force:
        command = existing.get("command") if isinstance(existing, dict) else existing
        raise SetupError(
            f"a status line is already configured ({str(command)[:80]!r}) and it is not ccmon's: "
            "keep it (drop --statusline) or replace it with --force"
        )
    changes.append("statusLine: " + ("replaced" if existing is not None else "added") + f" `{ours['command']}`")
    settings["statusLine"] = copy.deepcopy(ours)


def merge_settings(existing: dict[str, Any], fragment: dict[str, Any], *, force: bool = False) -> MergeResult:
    """`existing` with `fragment` (options.settings_fragment) merged in; `existing` itself is not changed. Raises
    SetupError when the existing file's shape cannot take the fragment safely."""
    settings = dict(existing)
    changes: list[str] = []
    _merge_env(settings, fragment.get("env", {}), changes)
    helper = fragment.get("otelHeadersHelper")
    if helper is not None and settings.get("otelHeadersHelper") != helper:
        changes.append(("changed" if "otelHeadersHelper" in settings else "added") + " otelHeadersHelper")
        settings["otelHeadersHelper"] = helper
    if fragment.get("hooks"):
        _merge_hooks(settings, fragment["hooks"], changes)
    if "statusLine" in fragment:
        _merge_statusline(settings, fragment["statusLine"], changes, force=force)
    return MergeResult(settings=settings, changes=changes)
