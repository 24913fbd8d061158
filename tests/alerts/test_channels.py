from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ccmon.alerts.channels import PAGERDUTY_URL, describe, header_pairs, parse_channel, secrets_of


def test_each_kind_parses_with_its_settings() -> None:
    slack = parse_channel("ops", {"kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/secret"})
    assert (slack.name, slack.kind, slack.send_resolved) == ("ops", "slack", True)
    assert slack.settings == {"url": "https://hooks.slack.com/services/T0/B0/secret"}

    pagerduty = parse_channel("pd", {"kind": "pagerduty", "routing_key": "R0UT1NGKEY", "send_resolved": False})
    assert pagerduty.settings == {"routing_key": "R0UT1NGKEY", "url": PAGERDUTY_URL}
    assert pagerduty.send_resolved is False

    webhook = parse_channel(
        "hook",
        {
            "kind": "webhook",
            "url": "http://127.0.0.1:9/x",
            "secret": "s3cret",
            "headers": {"Authorization": "Bearer t"},
        },
    )
    assert header_pairs(webhook) == [("Authorization", "Bearer t")]

    mail = parse_channel(
        "mail", {"kind": "email", "host": "smtp.example.com", "from": "ccmon@example.com", "to": "ops@example.com"}
    )
    assert mail.settings == {
        "host": "smtp.example.com",
        "port": 587,
        "security": "starttls",
        "from": "ccmon@example.com",
        "to": ("ops@example.com",),
    }
    assert parse_channel("t", {"kind": "teams", "url": "https://x.example/wf"}).kind == "teams"
    assert parse_channel("am", {"kind": "alertmanager", "url": "http://am:9093/hook"}).kind == "alertmanager"


def test_one_mapping_with_a_name_parses_too() -> None:
    channel = parse_channel({"name": "ops", "kind": "slack", "url": "https://hooks.slack.com/x"})
    assert channel.name == "ops"


def test_implicit_tls_defaults_to_port_465() -> None:
    channel = parse_channel(
        "m", {"kind": "email", "host": "mx", "security": "tls", "from": "a@b.example", "to": ["c@d.example"]}
    )
    assert channel.settings["port"] == 465


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "sms", "url": "https://x"}, "kind: expected one of slack, teams"),
        ({"kind": "slack"}, "url: expected a non-empty string"),
        ({"kind": "slack", "url": "ftp://files.example/x"}, "url: expected an http:// or https:// URL"),
        ({"kind": "slack", "url": "https://"}, "url: expected an http:// or https:// URL"),
        ({"kind": "slack", "url": "https://x.example", "channel": "#ops"}, "channel: not a setting of a slack"),
        (
            {"kind": "slack", "url": "https://x.example", "send_resolved": "yes"},
            "send_resolved: expected true or false",
        ),
        ({"kind": "pagerduty"}, "routing_key: expected a non-empty string"),
        ({"kind": "pagerduty", "routing_key": "a b"}, "routing_key: must not contain whitespace"),
        ({"kind": "webhook", "url": "https://x.example"}, "secret: expected a non-empty string"),
        (
            {"kind": "webhook", "url": "https://x.example", "secret": "s", "headers": {"X-Ccmon-Signature": "x"}},
            "headers.X-Ccmon-Signature: set by ccmon itself",
        ),
        (
            {"kind": "webhook", "url": "https://x.example", "secret": "s", "headers": {"Bad Name": "x"}},
            "headers: 'Bad Name' is not a valid header name",
        ),
        (
            {"kind": "webhook", "url": "https://x.example", "secret": "s", "headers": {"X-Team": "équipe"}},
            "headers.X-Team: only printable ASCII characters are allowed",
        ),
        (
            {"kind": "webhook", "url": "https://x.example", "secret": "s", "headers": {"X-Key": "a\x00b"}},
            "headers.X-Key: only printable ASCII characters are allowed",
        ),
        ({"kind": "slack", "url": "https://\u2603.example/hook"}, "url: not a URL that can be requested"),
        ({"kind": "email", "from": "a@b.example", "to": ["c@d.example"]}, "host: expected a non-empty string"),
        ({"kind": "email", "host": "mx", "from": "a@b.example", "to": []}, "to: expected an address or a non-empty"),
        ({"kind": "email", "host": "mx", "from": "nobody", "to": ["c@d.example"]}, "from: expected an email address"),
        (
            {"kind": "email", "host": "mx", "from": "a@b.example", "to": ["c@d.example", "x"]},
            "to[1]: expected an email address",
        ),
        (
            {"kind": "email", "host": "mx", "port": 70000, "from": "a@b.example", "to": "c@d.example"},
            "port: expected a port number",
        ),
        (
            {"kind": "email", "host": "mx", "security": "ssl", "from": "a@b.example", "to": "c@d.example"},
            "security: expected one of starttls, tls, none",
        ),
        (
            {"kind": "email", "host": "mx", "password": "p", "from": "a@b.example", "to": "c@d.example"},
            "password: given without a username",
        ),
    ],
)
def test_bad_settings_are_named_in_the_error(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"^" + message.replace("[", r"\[").replace("]", r"\]")):
        parse_channel("c", data)


def test_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^name: "):
        parse_channel("has space", {"kind": "slack", "url": "https://x.example"})
    with pytest.raises(ValueError, match=r"^name: 'a' differs"):
        parse_channel("b", {"name": "a", "kind": "slack", "url": "https://x.example"})


def test_an_invalid_url_is_not_echoed_because_it_may_be_a_secret() -> None:
    with pytest.raises(ValueError) as caught:
        parse_channel("c", {"kind": "teams", "url": "ftp://host/very-secret-token"})
    assert "very-secret-token" not in str(caught.value)


def test_environment_references_are_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCMON_TEST_SLACK", "https://hooks.slack.com/services/T/B/k3y")
    monkeypatch.setenv("CCMON_TEST_TOKEN", "t0ken")
    slack = parse_channel("s", {"kind": "slack", "url": "${CCMON_TEST_SLACK}"})
    assert slack.settings["url"] == "https://hooks.slack.com/services/T/B/k3y"
    hook = parse_channel(
        "h",
        {
            "kind": "webhook",
            "url": "https://x.example/in",
            "secret": "${CCMON_TEST_TOKEN}",
            "headers": {"Authorization": "Bearer ${CCMON_TEST_TOKEN}"},
        },
    )
    assert hook.settings["secret"] == "t0ken"
    assert header_pairs(hook) == [("Authorization", "Bearer t0ken")]


def test_an_unset_environment_reference_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCMON_TEST_UNSET", raising=False)
    with pytest.raises(ValueError, match=r"^routing_key: environment variable CCMON_TEST_UNSET is not set"):
        parse_channel("pd", {"kind": "pagerduty", "routing_key": "${CCMON_TEST_UNSET}"})
    with pytest.raises(ValueError, match="is not an environment variable name"):
        parse_channel("pd", {"kind": "pagerduty", "routing_key": "${1BAD}"})


def test_ca_file_must_exist(tmp_path: Path) -> None:
    base = {"kind": "email", "host": "mx", "from": "a@b.example", "to": "c@d.example"}
    with pytest.raises(ValueError, match=r"^ca_file: no such file"):
        parse_channel("m", {**base, "ca_file": str(tmp_path / "missing.pem")})
    (tmp_path / "ca.pem").write_text("x")
    assert parse_channel("m", {**base, "ca_file": str(tmp_path / "ca.pem")}).settings["ca_file"] == str(
        tmp_path / "ca.pem"
    )


def test_describe_shows_the_host_and_never_a_secret() -> None:
    slack = parse_channel("ops", {"kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/S3CRET"})
    assert describe(slack) == {"name": "ops", "kind": "slack", "send_resolved": True, "target": "hooks.slack.com"}
    pagerduty = parse_channel("pd", {"kind": "pagerduty", "routing_key": "R0UTINGKEY"})
    assert describe(pagerduty)["target"] == "events.pagerduty.com"
    assert "R0UTINGKEY" not in str(describe(pagerduty))
    mail = parse_channel(
        "m",
        {
            "kind": "email",
            "host": "smtp.example.com",
            "username": "u",
            "password": "pa55word",
            "from": "a@b.example",
            "to": "c@d.example",
        },
    )
    assert describe(mail) == {"name": "m", "kind": "email", "send_resolved": True, "target": "smtp.example.com"}
    assert "pa55word" in secrets_of(mail)
    assert "R0UTINGKEY" in secrets_of(pagerduty)
