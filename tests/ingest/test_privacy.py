"""Privacy where rows are built: secret redaction and the content policy, email pseudonyms, and the server's secret.

The rules are declared once (`ccmon.ingest.privacy`) and read twice, in Python and in the engine's SQL: the readings
are checked against each other here on corpora, and end to end by ingesting through the real receivers and reading
every stored row back."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest

from ccmon.directory.pseudonyms import Pads, pseudonym, pseudonym_secret, pseudonym_sql
from ccmon.ingest.privacy import DROPPED, Privacy, parse_pattern
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter
from ccmon.settings import ConfigError, load_config
from ccmon.store.facade import Store
from ccmon.store.secrets import server_secret
from tests.otlp.helpers import (
    JSON,
    PROTOBUF,
    custom_server,
    data_point,
    event,
    log_record,
    logs_request,
    metrics_request,
    post,
    query,
    session,
    span,
    sum_metric,
    to_json,
    to_protobuf,
    traces_request,
)
from tests.support import RunningServer

# Each kind of secret as it may appear in text: (text holding it, the secret itself, the marker it becomes).
SECRETS: list[tuple[str, str, str]] = [
    ("ANTHROPIC_API_KEY=sk-ant-api03-Qx7Lm2Np9Rt4Vw8Yz1Bc5Df6Gh0Jk", "Qx7Lm2Np9Rt4Vw8Yz1Bc5Df6Gh0Jk", "anthropic_key"),
    ("export OPENAI_API_KEY sk-proj-4fG7hJ2kL9mN3pQ6rS8tV1wX", "sk-proj-4fG7hJ2kL9mN3pQ6rS8tV1wX", "openai_key"),
    (
        "git push https://ghp_R8tY2uI4oP6aS8dF0gH2jK4lZ6xC8vB0nM1@x",
        "ghp_R8tY2uI4oP6aS8dF0gH2jK4lZ6xC8vB0nM1",
        "github_token",
    ),
    ("gh auth gho_Ab12Cd34Ef56Gh78Ij90Kl12Mn34", "gho_Ab12Cd34Ef56Gh78Ij90Kl12Mn34", "github_token"),
    (
        "pat github_pat_11ABCDEFG0123456789_abcdefghijKLMNOP",
        "github_pat_11ABCDEFG0123456789_abcdefghijKLMNOP",
        "github_token",
    ),
    ("slack xoxb-2048-4096-Tk9Lm8Np7Qr6", "xoxb-2048-4096-Tk9Lm8Np7Qr6", "slack_token"),
    ("aws id AKIAZ7Q2M4N6P8R0T2V4 in use", "AKIAZ7Q2M4N6P8R0T2V4", "aws_access_key_id"),
    ("session ASIAY6X4W2V0U8T6S4R2 too", "ASIAY6X4W2V0U8T6S4R2", "aws_access_key_id"),
    (
        "aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY1",
        "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY1",
        "aws_secret_access_key",
    ),
    ("maps key AIzaSyB1c2D3e4F5g6H7i8J9k0L1m2N3o4P5q6R", "AIzaSyB1c2D3e4F5g6H7i8J9k0L1m2N3o4P5q6R", "google_api_key"),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLXNpZw",
        "eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLXNpZw",
        "jwt",
    ),
    (
        "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHI\n"
        "-----END OPENSSH PRIVATE KEY-----\nthanks",
        "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHI",
        "private_key",
    ),
    (
        '{\\"content\\":\\"-----BEGIN RSA PRIVATE KEY-----\\\\nMIIEpQIBAAKCAQEAz9Lx (cut',
        "MIIEpQIBAAKCAQEAz9Lx",
        "private_key",
    ),
    ("curl -H 'Authorization: Bearer tk_live_7Hq2Wm9Zr4' api", "tk_live_7Hq2Wm9Zr4", "bearer"),
    ("psql postgres://admin:Pg-S3cret!@db.internal:5432/app", "Pg-S3cret!", "url_credentials"),
    ("DB_PASSWORD=Tr0ub4dor&3 ./run", "Tr0ub4dor", "password"),
    ('{"password": "correct-horse-battery"}', "correct-horse-battery", "password"),
    ('{\\"db_password\\": \\"n3sted-Json-pw\\"}', "n3sted-Json-pw", "password"),
    ("GITHUB_TOKEN=tok-8c1f77e2a", "tok-8c1f77e2a", "secret"),
    ("client_secret: cs_9Yh7Gf5Dd3", "cs_9Yh7Gf5Dd3", "secret"),
    ("url?api_key=ak_3b7c9d1e&x=1", "ak_3b7c9d1e", "secret"),
]

HARMLESS = [
    "",
    "Write a haiku about ClickHouse",
    '{"file_path":"/tmp/notes.md","content":"# Notes\\nmax_tokens=1024, input_tokens: 5"}',
    "the key point is the token count; a secret to happiness",
    "git@github.com:acme/ccmon.git and https://example.com/a?b=c",
    "sk-short ghp_short AKIA1234 eyJ.eyJ",
    "Ünïcödé ✓ text with\ttabs and\nnewlines",
]

AROUND = ("before-text ", " after-text")


def plant(text: str) -> str:
    return f"{AROUND[0]}{text}{AROUND[1]}"


def sql_redact(store: Store, privacy: Privacy, texts: list[str]) -> list[str]:
    rows = store.query(f"SELECT arrayMap(t -> {privacy.redact_sql('t')}, {{texts:Array(String)}})", {"texts": texts})
    return list(rows[0][0])


# --- the readings agree ---------------------------------------------------------------------------------------------


def test_every_kind_of_secret_is_redacted_and_the_text_around_it_kept_in_python_and_sql(store: Store) -> None:
    privacy = Privacy()
    texts = [plant(text) for text, _, _ in SECRETS]
    in_sql = sql_redact(store, privacy, texts)
    for (text, secret, kind), python, sql in zip(SECRETS, [privacy.redact(t) for t in texts], in_sql, strict=True):
        assert python == sql, text
        assert secret not in python, python
        assert f"<REDACTED:{kind}>" in python, python
        assert python.startswith(AROUND[0]) and (python.endswith(AROUND[1]) or kind == "private_key"), python


def test_harmless_text_is_left_alone_by_both_readings(store: Store) -> None:
    privacy = Privacy()
    assert [privacy.redact(t) for t in HARMLESS] == HARMLESS
    assert sql_redact(store, privacy, HARMLESS) == HARMLESS


def test_configured_patterns_redact_as_custom(store: Store) -> None:
    privacy = Privacy(extra_patterns=("ACME-[0-9]{6}", "(?i:internal-only)"))
    texts = ["ticket ACME-123456 is INTERNAL-ONLY", "ACME-12 stays"]
    assert [privacy.redact(t) for t in texts] == ["ticket <REDACTED:custom> is <REDACTED:custom>", "ACME-12 stays"]
    assert sql_redact(store, privacy, texts) == [privacy.redact(t) for t in texts]


EMAILS = ["jane@example.com", "Jane.Doe+cc@Example.COM", "ÉLODIE@exemple.fr", "x", "a@b", "\t@\u00ff"]
SECRETS_FOR_HMAC = [b"s", b"k" * 64, b"long" * 40, bytes(range(256))[:100]]


def test_the_sql_pseudonym_is_the_python_hmac(store: Store) -> None:
    for secret in SECRETS_FOR_HMAC:
        pads = Pads.of(secret)
        sql = pseudonym_sql("e", "{inner:String}", "{outer:String}")
        rows = store.query(
            f"SELECT arrayMap(e -> {sql}, {{emails:Array(String)}})",
            {"emails": EMAILS, "inner": pads.inner, "outer": pads.outer},
        )
        expected = ["anon-" + hmac.new(secret, e.encode().lower(), hashlib.sha256).hexdigest()[:16] for e in EMAILS]
        assert list(rows[0][0]) == expected == [pseudonym(secret, e) for e in EMAILS]
    # Case does not matter, the secret does.
    assert (
        pseudonym(b"a", "Jane@Example.com")
        == pseudonym(b"a", "jane@example.com")
        != pseudonym(b"b", "jane@example.com")
    )


def test_attribute_readings_agree(store: Store) -> None:
    privacy = Privacy(prompts="drop", responses="keep", email_secret=b"pepper")
    pairs = [
        ("prompt", "my password=abc123"),
        ("response", "password=abc123"),
        ("tool_input", "password=abc123"),
        ("body", "anything"),
        ("error", "token=abc123"),
        ("user.email", "Jane@Example.com"),
        ("owner", "ops@example.org"),
        ("note", "write to ops@example.org"),
        ("repo", "git@github.com:acme/x.git"),
        ("user.email", ""),
    ]
    branches = ", ".join(privacy.attribute_branches("k", "t"))
    rows = store.query(
        f"SELECT arrayMap((k, t) -> multiIf({branches}, t), {{keys:Array(String)}}, {{texts:Array(String)}})",
        {"keys": [k for k, _ in pairs], "texts": [t for _, t in pairs], **privacy.parameters},
    )
    python = [privacy.attribute(k, t) for k, t in pairs]
    assert list(rows[0][0]) == python
    assert python == [
        DROPPED,
        "password=abc123",
        "password=<REDACTED:password>",
        DROPPED,  # bodies follow the strictest policy
        "token=<REDACTED:secret>",
        pseudonym(b"pepper", "jane@example.com"),
        pseudonym(b"pepper", "ops@example.org"),
        "write to ops@example.org",  # free text is content, not identity
        "git@github.com:acme/x.git",
        "",
    ]


# --- end to end: planted secrets through the real receiver ------------------------------------------------------------


EVENT_PLANTS = [
    ("user_prompt", "prompt", 0),
    ("tool_result", "tool_parameters", 2),
    ("tool_decision", "tool_parameters", 10),
    ("tool_result", "tool_input", 14),
    ("assistant_response", "response", 9),
    ("api_error", "error", 13),
    ("api_request_body", "body", 11),
]
"""Where secrets are planted in events (event name, attribute, `SECRETS` index); and in a log record's body."""
LOG_BODY_PLANT = 6
SPAN_PLANTS = [
    ("user_prompt", 1),
    ("tool_input", 16),
    ("exception.message", 17),
    ("gen_ai.output.messages", 5),
    ("error", 8),
]
STATUS_PLANT = 12
PLANTED = [
    SECRETS[i] for i in [*(i for _, _, i in EVENT_PLANTS), LOG_BODY_PLANT, *(i for _, i in SPAN_PLANTS), STATUS_PLANT]
]


def _planted_logs(session_id: str) -> bytes:
    records = [
        event(name, session_id, number, **{key: plant(SECRETS[index][0])})
        for number, (name, key, index) in enumerate(EVENT_PLANTS)
    ]
    records.append(log_record({"session.id": session_id}, body=plant(SECRETS[LOG_BODY_PLANT][0])))
    return to_protobuf("logs", logs_request(records, {"service.name": "claude-code"}))


def _planted_traces(session_id: str) -> bytes:
    spans = [
        span(
            "claude_code.tool",
            "5b8efff798038103d269b633813fc60c",
            f"eee19b7ec3c1b17{number}",
            **{"session.id": session_id, key: plant(SECRETS[index][0])},
        )
        for number, (key, index) in enumerate(SPAN_PLANTS)
    ]
    spans[0]["status"] = {"code": 2, "message": plant(SECRETS[STATUS_PLANT][0])}
    return to_json(traces_request(spans))


def _stored_texts(server: RunningServer, session_id: str) -> str:
    """Every stored column of the session's events and spans, as one text."""
    texts = []
    for table in ("events", "spans"):
        rows = query(
            server, f"SELECT toString(tuple(*)) FROM {table} WHERE session_id = {{s:String}}", {"s": session_id}
        )
        texts += [row[0] for row in rows]
    assert len(texts) == len(EVENT_PLANTS) + 1 + len(SPAN_PLANTS), texts
    return "\n".join(texts)


def test_secrets_planted_in_every_content_field_are_not_stored(chdb_path: Path) -> None:
    with custom_server(chdb_path) as server:  # the defaults: redact
        sid = session()
        assert post(server, "logs", _planted_logs(sid), PROTOBUF).status_code == 200
        assert post(server, "traces", _planted_traces(sid), JSON).status_code == 200
        stored = _stored_texts(server, sid)
    for text, secret, kind in PLANTED:
        assert secret not in stored, (kind, text)
        assert f"<REDACTED:{kind}>" in stored, kind
    assert stored.count(AROUND[0].strip()) == len(PLANTED)
    assert stored.count(AROUND[1].strip()) == len(PLANTED) - 1  # the cut private key takes the rest of its text


def test_drop_and_keep_policies_and_configured_patterns(chdb_path: Path) -> None:
    overrides: dict[str, Any] = {
        "content_prompts": "drop",
        "content_responses": "keep",
        "content_tool_details": "redact",
        "redact_patterns": ("ACME-[0-9]{6}",),
    }
    with custom_server(chdb_path, **overrides) as server:
        sid = session()
        records = [
            event("user_prompt", sid, 0, prompt="fix ACME-123456 with password=abc123"),
            event("assistant_response", sid, 1, response="done, password=abc123"),
            event("tool_result", sid, 2, tool_parameters='{"command":"deploy ACME-654321"}'),
            event("api_request_body", sid, 3, body="whatever"),
        ]
        assert post(server, "logs", to_json(logs_request(records)), JSON).status_code == 200
        rows = query(
            server,
            "SELECT event_name, mapValues(mapFilter((k, v) -> k IN ('prompt', 'response', 'tool_parameters', "
            "'body'), attrs))[1] FROM events WHERE session_id = {s:String} ORDER BY event_sequence",
            {"s": sid},
        )
    assert rows == [
        ("user_prompt", DROPPED),
        ("assistant_response", "done, password=abc123"),
        ("tool_result", '{"command":"deploy <REDACTED:custom>"}'),
        ("api_request_body", DROPPED),
    ]


# --- email pseudonyms ------------------------------------------------------------------------------------------------

EMAIL = "Jane.Doe@Example.com"


def test_hash_emails_pseudonymises_events_spans_and_metric_points(chdb_path: Path) -> None:
    overrides: dict[str, Any] = {
        "hash_emails": True,
        "hash_secret": "pepper",
        "team_from_email": load_config(environ={"CCMON_TEAM_FROM_EMAIL": "*@example.com=platform"}).team_from_email,
    }
    expected = pseudonym(b"pepper", EMAIL)
    resource = {"user.email": EMAIL, "service.name": "claude-code"}
    with custom_server(chdb_path, **overrides) as server:
        sid = session()
        identity = {"user.email": EMAIL, "owner": "ops@example.org"}
        logs = logs_request([event("api_request", sid, 0, cost_usd=1.0, **identity)], resource)
        metrics = metrics_request(
            [sum_metric("claude_code.cost.usage", [data_point(1.0, {"session.id": sid, **identity})])], resource
        )
        trace = span(
            "claude_code.interaction",
            "5b8efff798038103d269b633813fc60d",
            "eee19b7ec3c1b177",
            **{"session.id": sid},
            **identity,
        )
        assert post(server, "logs", to_protobuf("logs", logs), PROTOBUF).status_code == 200
        assert post(server, "metrics", to_json(metrics), JSON).status_code == 200
        assert post(server, "traces", to_json(traces_request([trace], resource)), JSON).status_code == 200
        for table in ("events", "metric_points", "spans"):
            rows = query(
                server,
                f"SELECT user_email, person, team, attrs['owner'], resource['user.email'], toString(tuple(*)) "
                f"FROM {table} WHERE session_id = {{s:String}}",
                {"s": sid},
            )
            assert len(rows) == 1, table
            email, person, team, owner, in_resource, everything = rows[0]
            assert (email, person, in_resource) == (expected, expected, expected), table
            assert owner == pseudonym(b"pepper", "ops@example.org"), table
            assert team == "platform", table  # the email rules read the address before it was hashed
            assert "example" not in everything.lower(), (table, everything)


def test_the_server_secret_is_made_once_and_the_first_row_wins(store: Store) -> None:
    first = server_secret(store, "test.secret")
    assert len(first) == 32
    assert server_secret(store, "test.secret") == first
    # A process that raced us stored its own later: everyone still reads the first.
    store.command("INSERT INTO server_secrets VALUES ('test.secret', {v:String}, now64(6) + 1)", {"v": "ab" * 32})
    assert server_secret(store, "test.secret") == first
    assert server_secret(store, "other") != first
    assert pseudonym_secret(store, None) == server_secret(store, "email_pseudonyms")
    assert pseudonym_secret(store, "configured") == b"configured"


# --- settings --------------------------------------------------------------------------------------------------------


def test_privacy_settings_are_read_and_checked(tmp_path: Path) -> None:
    config = load_config(environ={})
    assert (config.hash_emails, config.content_prompts, config.content_tool_details) == (False, "redact", "redact")
    toml = tmp_path / "ccmon.toml"
    toml.write_text('hash_emails = true\ncontent_prompts = "drop"\nredact_patterns = ["ACME-[0-9]{3,6}"]\n')
    config = load_config(environ={}, config_file=toml)
    assert (config.hash_emails, config.content_prompts, config.redact_patterns) == (True, "drop", ("ACME-[0-9]{3,6}",))
    for environ, message in [
        ({"CCMON_CONTENT_RESPONSES": "shred"}, "not one of redact, keep, drop"),
        ({"CCMON_REDACT_PATTERNS": "("}, "not a regular expression"),
        ({"CCMON_REDACT_PATTERNS": "x*"}, "matches the empty text"),
        ({"CCMON_HASH_EMAILS": "perhaps"}, "expected a boolean"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_config(environ=environ)
    assert parse_pattern("AKIA[0-9A-Z]{16}") == "AKIA[0-9A-Z]{16}"


def test_a_pattern_the_engine_refuses_stops_the_writer_at_start(store: Store) -> None:
    writer = BatchWriter(store, IngestStats(), privacy=Privacy(extra_patterns=("secret(?=x)",)))  # Python-only syntax
    with pytest.raises(ConfigError, match="redact_patterns"):
        writer.start()
