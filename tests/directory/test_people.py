"""Directory files: CSV, YAML and JSON parsed whole, every mistake named by line or entry and field."""

from __future__ import annotations

import pytest

from ccmon.directory.people import (
    MAX_BYTES,
    DirectoryError,
    Person,
    dump_csv,
    format_of,
    parse_csv,
    parse_json,
    parse_yaml,
)
from ccmon.directory.rules import TeamRule

CSV = b"""email,name,team,department,cost_center,manager
Ada@Example.com,Ada Lovelace,payments,engineering,CC-100,Grace@example.com
bob@example.com,Bob,platform,engineering,CC-200,
"""


def test_csv_people_with_emails_lower_cased() -> None:
    content = parse_csv(CSV)
    assert content.people == (
        Person("ada@example.com", "Ada Lovelace", "payments", "engineering", "CC-100", "grace@example.com"),
        Person("bob@example.com", "Bob", "platform", "engineering", "CC-200", ""),
    )
    assert not content.has_rules


def test_csv_columns_in_any_order_and_subset_blank_lines_skipped() -> None:
    content = parse_csv(b"\xef\xbb\xbfteam,EMAIL\r\npayments,ada@example.com\r\n\r\n,bob@example.com\r\n")
    assert content.people == (Person("ada@example.com", team="payments"), Person("bob@example.com"))


def test_the_csv_round_trips() -> None:
    content = parse_csv(CSV)
    assert parse_csv(dump_csv(content.people).encode()).people == content.people


def test_yaml_people_and_rules() -> None:
    content = parse_yaml(
        b"""
people:
  - {email: ada@example.com, team: payments, cost_center: 100}
rules:
  - "*@payments.company.com=payments"
  - {pattern: "*@*.company.com", team: $2}
"""
    )
    assert content.people == (Person("ada@example.com", team="payments", cost_center="100"),)
    assert content.rules == (TeamRule("*@payments.company.com", "payments"), TeamRule("*@*.company.com", "$2"))
    assert content.has_rules


def test_json_like_yaml() -> None:
    content = parse_json(b'{"people": [{"email": "ada@example.com"}], "rules": []}')
    assert content.people == (Person("ada@example.com"),)
    assert content.has_rules and content.rules == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the CSV is empty"),
        (b"name,team\nAda,payments\n", "line 1: the header must name an email column"),
        (b"email,email\na@x.io,b@x.io\n", "named twice"),
        (b"email,role\na@x.io,admin\n", "line 2: unknown field role"),
        (b"email,team\na@x.io\n", "line 2: 1 fields where the header names 2"),
        (b"email,team\n,payments\n", "line 2: the email is missing"),
        (b"email\nnot-an-email\n", "line 2: 'not-an-email' is not an email address"),
        (b"email\na@x.io\nb@x.io\nA@X.io\n", r"line 4: a@x.io is listed twice \(also at line 2\)"),
        (b'email,team\na@x.io,"pay\x00ments"\n', "line 2: field team holds a control character"),
        (b"email,manager\na@x.io,boss\n", "line 2: manager 'boss' is not an email address"),
        (b"email,team\na@x.io," + b"t" * 300 + b"\n", "line 2: field team is longer than 256"),
        (b"email\n\xff\xfe\n", "not UTF-8"),
    ],
)
def test_bad_csv_is_refused_naming_line_and_field(data: bytes, message: str) -> None:
    with pytest.raises(DirectoryError, match=message):
        parse_csv(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"people: [", "line 1: the YAML does not parse"),
        (b"- a\n- b\n", "must be a mapping"),
        (b"people: {email: a@x.io}", "`people` must be a list"),
        (b"people:\n  - a@x.io\n", r"people\[0\]: each person must be a mapping"),
        (b"people:\n  - {email: a@x.io, team: [x]}\n", r"people\[0\]: field team must be text, not list"),
        (b"people:\n  - {name: Ada}\n", r"people\[0\]: the email is missing"),
        (b"people: []\nrules: [payments]\n", r"rules\[0\]: team rule 'payments' is not PATTERN=TEAM"),
        (b"people: []\nrules: [{pattern: x}]\n", r"rules\[0\]: a rule is PATTERN=TEAM"),
        (b"people: []\ngroups: []\n", "unknown key groups"),
        (b"people: !!python/object/apply:os.system [echo]\n", "does not parse"),
    ],
)
def test_bad_yaml_is_refused_naming_entry_and_field(data: bytes, message: str) -> None:
    with pytest.raises(DirectoryError, match=message):
        parse_yaml(data)


def test_bad_json_is_refused() -> None:
    with pytest.raises(DirectoryError, match="the JSON does not parse"):
        parse_json(b'{"people": [')


def test_a_body_over_the_limit_is_refused_before_parsing() -> None:
    with pytest.raises(DirectoryError, match="more than the limit"):
        parse_csv(b"email\n" + b"a" * MAX_BYTES)


def test_injection_strings_are_kept_as_text() -> None:
    hostile = "x'); DROP TABLE events; --<script>alert(1)</script>"
    (person,) = parse_json(b'{"people": [{"email": "a@x.io", "team": "%s"}]}' % hostile.encode()).people
    assert person.team == hostile


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("people.csv", "csv"),
        ("d.YAML", "yaml"),
        ("d.yml", "yaml"),
        ("text/csv; charset=utf-8", "csv"),
        ("x.json", "json"),
    ],
)
def test_format_of(name: str, kind: str) -> None:
    assert format_of(name) == kind


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(DirectoryError, match="CSV"):
        format_of("people.xlsx")
