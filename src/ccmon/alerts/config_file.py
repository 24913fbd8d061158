"""The alerts file (setting `alerts_file`): rules, notification channels, budgets, model policies and changes to the
default rules, in one YAML document, validated whole before anything is used.

    channels:
      ops: {kind: slack, url: "${SLACK_WEBHOOK_URL}"}
    rules:
      - {id: big-spender, name: Big spender, signal: cost, op: ">", threshold: 100, channels: [ops]}
    budgets:
      - {id: org, name: Organisation, scope: organization, period: monthly, unit: usd, amount: 10000}
    policies:
      - {id: no-opus, name: No Opus, scope: team, scope_value: interns, deny: ["claude-opus-*"]}
    defaults:
      daily-cost: {threshold: 500}
      low-adoption: {enabled: false}

Every error names the file, the line and the field (`alerts.yaml:12: rules[2].threshold: expected a number`): the
document is read with `yaml.compose`, which keeps each node's position, and the field a validator complains about
(the text before the first `: ` of its message) is found again in the node tree. The file is bounded (`MAX_BYTES`,
`MAX_NODES` counting every alias expansion, so an alias bomb is refused rather than expanded).

Rules, budgets and policies of the file are `source="file"`; a default rule changed under `defaults:` becomes a file
rule with the default's id, so removing the change from the file brings the shipped default back (it is re-seeded).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ccmon.alerts.budgets import parse_budget
from ccmon.alerts.channels import parse_channel
from ccmon.alerts.defaults import DEFAULT_RULES
from ccmon.alerts.model import Budget, Channel, ModelPolicy, Rule
from ccmon.alerts.policy import parse_policy
from ccmon.alerts.rules import dump_rule, parse_rule
from ccmon.alerts.signals import SIGNALS, check_rule

MAX_BYTES = 1024 * 1024
"""A larger alerts file is refused: hundreds of rules fit in a few dozen KiB."""
MAX_NODES = 100_000
"""Nodes visited while reading the document, each alias expansion counted again."""
SECTIONS = ("rules", "channels", "budgets", "policies", "defaults")
SOURCE = "file"

T = TypeVar("T")


class AlertsFileError(ValueError):
    """The alerts file cannot be used; the message is `FILE:LINE: field: reason`."""


@dataclass(frozen=True)
class AlertsFile:
    path: str
    rules: tuple[Rule, ...] = ()
    """The file's rules and the default rules it changes, all `source="file"`."""
    channels: Mapping[str, Channel] = field(default_factory=dict)
    budgets: tuple[Budget, ...] = ()
    policies: tuple[ModelPolicy, ...] = ()

    def summary(self) -> str:
        return (
            f"{len(self.rules)} rules, {len(self.channels)} channels, {len(self.budgets)} budgets, "
            f"{len(self.policies)} policies"
        )


def load_alerts_file(path: str | Path) -> AlertsFile:
    """Read and validate the alerts file (AlertsFileError on any problem, nothing half-loaded)."""
    name = str(path)
    try:
        with Path(path).expanduser().open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise AlertsFileError(f"{name}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise AlertsFileError(f"{name}: larger than the limit of {MAX_BYTES} bytes")
    return parse_alerts_text(data, name)


def parse_alerts_text(data: bytes | str, name: str = "alerts.yaml") -> AlertsFile:
    """Validate an alerts document already read (`name` is used in the messages)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AlertsFileError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    if len(data.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise AlertsFileError(f"{name}: larger than the limit of {MAX_BYTES} bytes")
    try:
        root = yaml.compose(data, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise AlertsFileError(f"{name}{line}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise AlertsFileError(f"{name}: invalid YAML: {exc}") from None
    return _Reader(name).document(root)


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_UNKNOWN_FIELD = re.compile(r"^unknown fields? ([^,;\s]+)")
_WHOLE = frozenset({"rule", "budget", "policy", "channel"})
"""How the parsers name the whole item in a message about it rather than one field."""
_FIELD_PATH = re.compile(r"^[A-Za-z_][\w.-]*(\[\d+\])*(\.[\w-]+(\[\d+\])*)*$")


class _Reader:
    """One read of the document: converts nodes to plain data (counting them) and turns a validator's error into
    `FILE:LINE: where: reason`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes = 0
        self._scalars = yaml.SafeLoader("")

    def fail(self, node: yaml.Node, where: str, reason: str) -> AlertsFileError:
        prefix = f"{where}: " if where else ""
        return AlertsFileError(f"{self.name}:{node.start_mark.line + 1}: {prefix}{reason}")

    # Nodes to data.

    def value(self, node: yaml.Node, where: str) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, where, f"more than {MAX_NODES} YAML nodes (aliases counted each time they are used)")
        if isinstance(node, yaml.MappingNode):
            return {key: self.value(child, _join(where, key)) for key, child in self.pairs(node, where)}
        if isinstance(node, yaml.SequenceNode):
            return [self.value(child, f"{where}[{index}]") for index, child in enumerate(node.value)]
        return self.scalar(node, where)

    def scalar(self, node: yaml.Node, where: str) -> Any:
        try:
            value = self._scalars.construct_object(node)
        except yaml.YAMLError as exc:
            raise self.fail(node, where, f"cannot read this value ({exc})") from None
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if value is not None and not isinstance(value, str | int | float | bool):
            raise self.fail(node, where, f"unsupported value of type {type(value).__name__}")
        return value

    def pairs(self, node: yaml.MappingNode, where: str) -> list[tuple[str, yaml.Node]]:
        """A mapping's (key, value node) pairs; keys must be text and unique."""
        seen: set[str] = set()
        out = []
        for key_node, child in node.value:
            key = self.scalar(key_node, where) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(key_node, where, f"keys must be text, got {key_node.tag.rsplit(':', 1)[-1]}")
            if key in seen:
                raise self.fail(key_node, _join(where, key), "given twice")
            seen.add(key)
            out.append((key, child))
        return out

    def mapping(self, node: yaml.Node, where: str) -> yaml.MappingNode:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, f"expected a mapping, got {_kind(node)}")
        return node

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if _is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, where, f"expected a list, got {_kind(node)}")
        return list(node.value)

    # Validation with positions.

    def parsed(self, node: yaml.Node, where: str, parse: Callable[[Any], T]) -> T:
        """`parse` applied to the node's data; its ValueError located at the field it names."""
        data = self.value(node, where)
        try:
            return parse(data)
        except (ValueError, TypeError) as exc:
            message = str(exc)
            unknown = _UNKNOWN_FIELD.match(message)
            if unknown:
                key_node = _key_node(node, unknown.group(1))
                raise self.fail(key_node or node, _join(where, unknown.group(1)), message) from None
            field_path, sep, reason = message.partition(": ")
            if sep and field_path in _WHOLE and _key_node(node, field_path) is None:
                raise self.fail(node, where, reason) from None  # "policy: give at least one of ..."
            if sep and _FIELD_PATH.match(field_path):
                target = _locate(node, field_path)
                raise self.fail(target, _join(where, field_path), reason) from None
            raise self.fail(node, where, message) from None

    def document(self, root: yaml.Node | None) -> AlertsFile:
        if root is None or _is_null(root):
            return AlertsFile(self.name)
        sections = dict(self.pairs(self.mapping(root, ""), ""))
        for key in sections:
            if key not in SECTIONS:
                raise self.fail(_key_node(root, key) or root, key, f"unknown section (expected {', '.join(SECTIONS)})")
        channels = self.channels(sections.get("channels"))
        rules = self.rules(sections.get("rules"), channels)
        rules += self.defaults(sections.get("defaults"), channels, {rule.id: rule for rule in rules})
        budgets = self.listed(sections.get("budgets"), "budgets", lambda data: parse_budget(data, source=SOURCE))
        policies = self.listed(sections.get("policies"), "policies", lambda data: parse_policy(data, source=SOURCE))
        return AlertsFile(self.name, tuple(rules), channels, tuple(budgets), tuple(policies))

    def channels(self, node: yaml.Node | None) -> dict[str, Channel]:
        if node is None or _is_null(node):
            return {}
        channels = {}
        for name, child in self.pairs(self.mapping(node, "channels"), "channels"):

            def parse(data: Any, name: str = name) -> Channel:
                return parse_channel(name, data)

            channels[name] = self.parsed(child, f"channels.{name}", parse)
        return channels

    def rules(self, node: yaml.Node | None, channels: Mapping[str, Channel]) -> list[Rule]:
        defaults = {rule.id for rule in DEFAULT_RULES}
        rules: dict[str, Rule] = {}
        for index, child in enumerate(self.sequence(node, "rules") if node is not None else []):
            where = f"rules[{index}]"
            rule = self.parsed(child, where, _parse_file_rule)
            id_node = _locate(child, "id")
            if rule.id in rules:
                raise self.fail(id_node, f"{where}.id", f"{rule.id!r} is given twice")
            if rule.id in defaults:
                raise self.fail(id_node, f"{where}.id", f"{rule.id!r} is a default rule: change it under defaults:")
            self.check_rule(rule, child, where, channels)
            rules[rule.id] = rule
        return list(rules.values())

    def defaults(
        self, node: yaml.Node | None, channels: Mapping[str, Channel], rules: Mapping[str, Rule]
    ) -> list[Rule]:
        """Default rules changed by the file: `id: {field: value, ...}` over the shipped definition."""
        if node is None or _is_null(node):
            return []
        shipped = {rule.id: rule for rule in DEFAULT_RULES}
        changed = []
        for rule_id, child in self.pairs(self.mapping(node, "defaults"), "defaults"):
            where = f"defaults.{rule_id}"
            if rule_id not in shipped:
                known = ", ".join(sorted(shipped))
                raise self.fail(
                    _key_node(node, rule_id) or node, where, f"not a default rule (the default rules are {known})"
                )
            for key, _ in self.pairs(self.mapping(child, where), where):
                if key in {"id", "source"}:
                    raise self.fail(_locate(child, key), f"{where}.{key}", "cannot be changed")
            base = dump_rule(shipped[rule_id])

            def merged(data: Any, base: Mapping[str, Any] = base) -> Rule:
                return _parse_file_rule({**base, **data})

            rule = self.parsed(child, where, merged)
            self.check_rule(rule, child, where, channels)
            changed.append(rule)
        return changed

    def check_rule(self, rule: Rule, node: yaml.Node, where: str, channels: Mapping[str, Channel]) -> None:
        for index, name in enumerate(rule.channels):
            if name not in channels:
                known = ", ".join(channels) or "none are defined under channels:"
                raise self.fail(
                    _locate(node, f"channels[{index}]"),
                    f"{where}.channels[{index}]",
                    f"unknown channel {name!r} ({known})",
                )

    def listed(self, node: yaml.Node | None, section: str, parse: Callable[[Any], T]) -> list[T]:
        items: dict[str, T] = {}
        for index, child in enumerate(self.sequence(node, section) if node is not None else []):
            where = f"{section}[{index}]"
            item = self.parsed(child, where, parse)
            item_id = str(getattr(item, "id", ""))
            if item_id in items:
                raise self.fail(_locate(child, "id"), f"{where}.id", f"{item_id!r} is given twice")
            items[item_id] = item
        return list(items.values())


def _parse_file_rule(data: Any) -> Rule:
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a mapping, got {type(data).__name__}")
    rule = parse_rule(data, source=SOURCE, signals=SIGNALS)
    check_rule(rule)  # group_by and params the signal knows
    return rule


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"{node.tag.rsplit(':', 1)[-1]} {node.value!r}"


def _key_node(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((k for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def _locate(node: yaml.Node, path: str) -> yaml.Node:
    """The deepest node along `path` (`threshold`, `channels[1]`, `headers.X-Api-Key`) found under `node`."""
    current = node
    for name, index in _PATH_PART.findall(path):
        if name and isinstance(current, yaml.MappingNode):
            found = next((v for k, v in current.value if isinstance(k, yaml.ScalarNode) and k.value == name), None)
            if found is None:
                return current
            current = found
        elif index and isinstance(current, yaml.SequenceNode) and int(index) < len(current.value):
            current = current.value[int(index)]
        else:
            return current
    return current
