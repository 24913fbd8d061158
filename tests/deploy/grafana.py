"""Reading deploy/grafana as Grafana would: the dashboards, their panels and queries, the provisioned datasources,
and the queries with Grafana's variables and the ClickHouse plugin's macros replaced by what they expand to.

`dashboard_problems` is the schema check the dashboards must pass: what Grafana needs to load a dashboard (schema
version, unique panel ids, a grid position inside the 24 columns) and what makes a provisioned dashboard work
without clicking (every datasource reference resolves to a provisioned datasource or to a datasource variable of the
right plugin, every panel has a query, every variable a query uses is defined).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).parent.parent.parent / "deploy"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"
PROVISIONING = DEPLOY / "grafana" / "provisioning"
PROMETHEUS = "prometheus"
CLICKHOUSE = "grafana-clickhouse-datasource"
MIN_SCHEMA_VERSION = 39
BUILTIN_VARIABLES = {"__range", "__interval", "__rate_interval", "__interval_s", "__all"}
"""Grafana's own variables (and the ClickHouse plugin's `$__interval_s`), which a dashboard need not define."""
_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")
_MACRO = re.compile(r"\$__(timeFilter|timeInterval|dateFilter)\(([^()]+)\)|\$__(fromTime|toTime)\b")

Json = dict[str, Any]


@dataclass(frozen=True)
class Target:
    dashboard: str
    panel: str
    ref_id: str
    query: Json

    @property
    def name(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.rglob("*.json"))


def load(path: Path) -> Json:
    board: Json = json.loads(path.read_text(encoding="utf-8"))
    return board


def provisioned_datasources() -> dict[str, str]:
    """uid -> plugin type of every datasource under provisioning/datasources."""
    found: dict[str, str] = {}
    for path in sorted((PROVISIONING / "datasources").glob("*.yaml")):
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]:
            found[source["uid"]] = source["type"]
    return found


def panels(board: Json) -> Iterator[Json]:
    """Every panel, those nested in collapsed rows too."""
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def targets(board: Json) -> Iterator[Target]:
    for panel in panels(board):
        for query in panel.get("targets", []):
            yield Target(board["title"], panel["title"], query["refId"], query)


def variables(board: Json) -> dict[str, Json]:
    return {variable["name"]: variable for variable in board["templating"]["list"]}


def dashboard_for(plugin: str) -> Json:
    """The one dashboard over the datasource plugin `plugin`."""
    (board,) = [board for board in map(load, dashboard_files()) if plugin_of(board) == plugin]
    return board


def plugin_of(board: Json) -> str:
    """The one datasource plugin a dashboard's panels use (through its `datasource` variable)."""
    return str(variables(board)["datasource"]["query"])


def dashboard_problems(board: Json, datasources: Mapping[str, str]) -> list[str]:
    """What keeps a dashboard from loading, or from working once provisioned; empty when nothing does."""
    problems = [
        f"missing {key!r}"
        for key in ("uid", "title", "schemaVersion", "panels", "templating", "time")
        if key not in board
    ]
    if problems:
        return problems
    if not isinstance(board["schemaVersion"], int) or board["schemaVersion"] < MIN_SCHEMA_VERSION:
        problems.append(f"schemaVersion {board['schemaVersion']!r} < {MIN_SCHEMA_VERSION}")
    defined = variables(board)
    datasource_variables = {name: v.get("query") for name, v in defined.items() if v.get("type") == "datasource"}
    for name, plugin in datasource_variables.items():
        current = defined[name].get("current", {}).get("value")
        if datasources.get(current) != plugin:
            problems.append(f"variable {name}: default {current!r} is not a provisioned {plugin} datasource")

    def check_reference(where: str, reference: Any) -> None:
        if not isinstance(reference, dict) or not {"type", "uid"} <= reference.keys():
            problems.append(f"{where}: datasource {reference!r} is not a {{type, uid}} reference")
            return
        uid = str(reference["uid"])
        named = re.fullmatch(r"\$\{(\w+)\}|\$(\w+)", uid)
        plugin = datasource_variables.get(next(g for g in named.groups() if g)) if named else datasources.get(uid)
        if plugin != reference["type"]:
            problems.append(f"{where}: datasource {uid!r} resolves to no {reference['type']} datasource")

    def check_variables(where: str, text: str) -> None:
        for match in _VARIABLE.finditer(text):
            name = match.group(1) or match.group(3)
            if name not in defined and name not in BUILTIN_VARIABLES and not name.startswith("__"):
                problems.append(f"{where}: undefined variable ${name}")

    for name, variable in defined.items():
        if variable.get("type") == "query":
            check_reference(f"variable {name}", variable.get("datasource"))
            query = variable.get("query")
            check_variables(f"variable {name}", json.dumps(query))
    ids: set[int] = set()
    titles = [str(panel.get("title")) for panel in panels(board) if panel.get("type") != "row"]
    problems += [f"panel title {title!r} used twice" for title in sorted({t for t in titles if titles.count(t) > 1})]
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(board):
        where = f"panel {panel.get('id')} {panel.get('title')!r}"
        if not isinstance(panel.get("id"), int) or panel["id"] in ids:
            problems.append(f"{where}: id missing or not unique")
        ids.add(panel.get("id", -1))
        if not panel.get("title") or not panel.get("type"):
            problems.append(f"{where}: no title or type")
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("h", "w", "x", "y")):
            problems.append(f"{where}: gridPos {grid!r} lacks integer h, w, x, y")
            continue
        if grid["h"] < 1 or grid["w"] < 1 or grid["x"] < 0 or grid["y"] < 0 or grid["x"] + grid["w"] > 24:
            problems.append(f"{where}: gridPos {grid!r} outside the 24-column grid")
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                if (x, y) in cells:
                    problems.append(f"{where}: overlaps {cells[(x, y)]}")
                    break
                cells[(x, y)] = where
            else:
                continue
            break
        if panel.get("type") == "row":
            continue
        check_reference(where, panel.get("datasource"))
        queries = panel.get("targets") or []
        if not queries:
            problems.append(f"{where}: no targets")
        if len({q.get("refId") for q in queries}) != len(queries):
            problems.append(f"{where}: refIds not unique")
        for query in queries:
            check_reference(f"{where} {query.get('refId')}", query.get("datasource"))
            text = query.get("expr") if query.get("datasource", {}).get("type") == PROMETHEUS else query.get("rawSql")
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{where} {query.get('refId')}: empty query")
            else:
                check_variables(f"{where} {query.get('refId')}", text)
    return problems


def substitute(
    text: str, board: Json, values: Mapping[str, list[str]] | None = None, *, range_s: int = 7 * 86_400
) -> str:
    """`text` with the dashboard's variables replaced as Grafana replaces them: a variable's chosen values (`values`,
    else its "All" value) formatted for its use (`${v:singlequote}`: 'a','b'; a Prometheus regex: (a|b));
    `$__range` by `range_s` seconds, `$__interval` and `$__rate_interval` by durations, `$__interval_s` by
    seconds."""
    builtins = {"__range": f"{range_s}s", "__interval": "1h", "__rate_interval": "2m", "__interval_s": "3600"}
    defined = variables(board)

    def replace(match: re.Match[str]) -> str:
        name, style = match.group(1) or match.group(3), match.group(2)
        if name in builtins:
            return builtins[name]
        chosen = (values or {}).get(name)
        if chosen is None:
            chosen = [str(defined[name].get("allValue", ""))]
            if style != "singlequote":  # the all value of a Prometheus variable is a regular expression already
                return chosen[0]
        if style == "singlequote":
            return ",".join("'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'" for value in chosen)
        escaped = [re.sub(r"([\\.+*?^$()\[\]{}|])", r"\\\\\1", value) for value in chosen]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"

    return _VARIABLE.sub(replace, text)


def expand_macros(sql: str, start: datetime, end: datetime, interval_s: int = 3600) -> str:
    """The ClickHouse plugin's macros as it expands them (grafana/clickhouse-datasource pkg/macros/macros.go)."""

    def replace(match: re.Match[str]) -> str:
        macro, argument, bare = match.group(1), (match.group(2) or "").strip(), match.group(3)
        since, until = f"toDateTime({int(start.timestamp())})", f"toDateTime({int(end.timestamp())})"
        if bare:
            return since if bare == "fromTime" else until
        if macro == "timeFilter":
            return f"{argument} >= {since} AND {argument} <= {until}"
        if macro == "dateFilter":
            return f"{argument} >= toDate('{start:%Y-%m-%d}') AND {argument} <= toDate('{end:%Y-%m-%d}')"
        return f"toStartOfInterval(toDateTime({argument}), INTERVAL {interval_s} second)"

    return _MACRO.sub(replace, sql.replace("$__interval_s", str(interval_s)))
