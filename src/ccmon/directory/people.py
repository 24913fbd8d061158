"""People of the directory and the files that list them: CSV, YAML or JSON, parsed whole and validated before
anything is stored, so a bad file changes nothing. Every error names the line (CSV), the entry (YAML, JSON) and the
field, and says what would be accepted.

CSV: a header naming `email` and any of name, team, department, cost_center, manager, then one person a line.
YAML or JSON: `people:` a list of mappings with those keys, and optionally `rules:` a list of `PATTERN=TEAM` email
rules (`ccmon.directory.rules`) that infer the team of people the directory does not list.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson
import yaml

from ccmon.directory.rules import TeamRule

MAX_BYTES = 10 * 1024 * 1024
"""A directory file or request body larger than this is refused (100,000 people take about 10 MB of CSV)."""
MAX_PEOPLE = 100_000
MAX_RULES = 1_000
MAX_FIELD = 256
"""Longest accepted value of a field (emails: 320, RFC 5321's limit)."""
MAX_EMAIL = 320

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DirectoryError(ValueError):
    """The directory content is not valid; the message says where and why. Nothing of it was applied."""


@dataclass(frozen=True)
class Person:
    email: str
    name: str = ""
    team: str = ""
    department: str = ""
    cost_center: str = ""
    manager: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def attribution(self) -> tuple[str, str, str]:
        """What the directory says of this person's rows: team, department, cost center ('' for not said)."""
        return self.team, self.department, self.cost_center


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Person))
ATTRIBUTED: tuple[str, ...] = ("team", "department", "cost_center")
"""The row columns the directory decides."""


@dataclass(frozen=True)
class DirectoryContent:
    people: tuple[Person, ...]
    rules: tuple[TeamRule, ...] = ()
    has_rules: bool = False
    """Whether the source said anything about rules (a CSV cannot): replacing the directory keeps the stored rules
    when it did not."""


def person_of(values: Mapping[str, object], where: str) -> Person:
    """One validated person from a mapping of field names; `where` names it in errors ("line 3", "people[2]")."""
    unknown = sorted(str(key) for key in values if key not in FIELDS)
    if unknown:
        raise DirectoryError(f"{where}: unknown field {', '.join(unknown)}; the fields are {', '.join(FIELDS)}")
    clean: dict[str, str] = {}
    for name in FIELDS:
        value = values.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str | int):
            raise DirectoryError(f"{where}: field {name} must be text, not {type(value).__name__}")
        text = str(value).strip()
        limit = MAX_EMAIL if name in ("email", "manager") else MAX_FIELD
        if len(text) > limit:
            raise DirectoryError(f"{where}: field {name} is longer than {limit} characters")
        if _CONTROL.search(text):
            raise DirectoryError(f"{where}: field {name} holds a control character")
        clean[name] = text
    email = clean["email"].lower()
    if not email:
        raise DirectoryError(f"{where}: the email is missing")
    if not _EMAIL.fullmatch(email):
        raise DirectoryError(f"{where}: {email!r} is not an email address")
    manager = clean["manager"].lower()
    if manager and not _EMAIL.fullmatch(manager):
        raise DirectoryError(f"{where}: manager {manager!r} is not an email address")
    return Person(email, clean["name"], clean["team"], clean["department"], clean["cost_center"], manager)


def checked(people: Iterable[tuple[str, Person]]) -> tuple[Person, ...]:
    """The people, refusing an email listed twice (naming both places) or too many people."""
    seen: dict[str, str] = {}
    out: list[Person] = []
    for where, person in people:
        if person.email in seen:
            raise DirectoryError(f"{where}: {person.email} is listed twice (also at {seen[person.email]})")
        seen[person.email] = where
        out.append(person)
        if len(out) > MAX_PEOPLE:
            raise DirectoryError(f"more than {MAX_PEOPLE} people; split the directory or raise the limit")
    return tuple(out)


def _text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise DirectoryError(f"the directory is {len(data)} bytes, more than the limit of {MAX_BYTES}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DirectoryError(f"the directory is not UTF-8 text (byte {exc.start})") from None


def parse_csv(data: bytes) -> DirectoryContent:
    text = _text(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise DirectoryError("the CSV is empty: it needs a header line such as email,name,team") from None
    except csv.Error as exc:
        raise DirectoryError(f"line 1: {exc}") from None
    if "email" not in header:
        raise DirectoryError(f"line 1: the header must name an email column; the fields are {', '.join(FIELDS)}")
    if len(set(header)) != len(header):
        raise DirectoryError("line 1: a column is named twice in the header")
    people: list[tuple[str, Person]] = []
    try:
        for values in reader:
            where = f"line {reader.line_num}"
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                raise DirectoryError(f"{where}: {len(values)} fields where the header names {len(header)}")
            people.append((where, person_of(dict(zip(header, values, strict=True)), where)))
    except csv.Error as exc:
        raise DirectoryError(f"line {reader.line_num}: {exc}") from None
    return DirectoryContent(checked(people))


def parse_mapping(document: object, kind: str) -> DirectoryContent:
    """A YAML or JSON document: `{"people": [...], "rules": [...]}` (rules optional)."""
    if not isinstance(document, dict):
        raise DirectoryError(f"the {kind} must be a mapping with a `people:` list (and optionally `rules:`)")
    unknown = sorted(str(key) for key in document if key not in ("people", "rules"))
    if unknown:
        raise DirectoryError(f"the {kind} has unknown key {', '.join(unknown)}; it may hold people and rules")
    entries = document.get("people") or []
    if not isinstance(entries, list):
        raise DirectoryError(f"the {kind}'s `people` must be a list")
    people: list[tuple[str, Person]] = []
    for number, entry in enumerate(entries):
        where = f"people[{number}]"
        if not isinstance(entry, dict):
            raise DirectoryError(f"{where}: each person must be a mapping with an email")
        people.append((where, person_of(entry, where)))
    rules = _rules(document.get("rules"), kind) if "rules" in document else ()
    return DirectoryContent(checked(people), rules, has_rules="rules" in document)


def _rules(entries: object, kind: str) -> tuple[TeamRule, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise DirectoryError(f"the {kind}'s `rules` must be a list of PATTERN=TEAM")
    if len(entries) > MAX_RULES:
        raise DirectoryError(f"more than {MAX_RULES} rules")
    rules: list[TeamRule] = []
    for number, entry in enumerate(entries):
        where = f"rules[{number}]"
        try:
            if isinstance(entry, str):
                rule = TeamRule.parse(entry)
            elif isinstance(entry, dict) and set(entry) == {"pattern", "team"}:
                rule = TeamRule(str(entry["pattern"]).strip(), str(entry["team"]).strip())
            else:
                raise ValueError("a rule is PATTERN=TEAM, or a mapping with pattern and team")
        except ValueError as exc:
            raise DirectoryError(f"{where}: {exc}") from None
        if _CONTROL.search(str(rule)) or len(str(rule)) > MAX_FIELD * 2:
            raise DirectoryError(f"{where}: holds a control character or is too long")
        rules.append(rule)
    return tuple(rules)


def parse_yaml(data: bytes) -> DirectoryContent:
    text = _text(data)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DirectoryError(f"{where}the YAML does not parse: {problem}") from None
    return parse_mapping(document, "YAML")


def parse_json(data: bytes) -> DirectoryContent:
    _text(data)
    try:
        document: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DirectoryError(f"the JSON does not parse: {exc}") from None
    return parse_mapping(document, "JSON")


FORMATS = {"csv": parse_csv, "yaml": parse_yaml, "json": parse_json}


def format_of(name: str) -> str:
    """The format a file name or a media type stands for: csv, yaml or json."""
    lowered = name.lower().split(";")[0].strip()
    for suffix, kind in ((".csv", "csv"), ("/csv", "csv"), (".yaml", "yaml"), (".yml", "yaml"), ("yaml", "yaml")):
        if lowered.endswith(suffix):
            return kind
    if lowered.endswith((".json", "/json")):
        return "json"
    raise DirectoryError(f"{name!r}: a directory is CSV (.csv, text/csv), YAML (.yaml, application/yaml) or JSON")


def parse(data: bytes, kind: str) -> DirectoryContent:
    return FORMATS[kind](data)


def dump_csv(people: Sequence[Person]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for person in people:
        writer.writerow([getattr(person, name) for name in FIELDS])
    return out.getvalue()
