"""What ccmon keeps of what people typed and of who they are, decided where rows are built, before anything is stored.

- **Content policy** (on by default). Each group of content attributes has a setting, `redact` (default), `keep` or
  `drop`: `drop` stores `<DROPPED>` instead of the text; `redact` keeps the text with every secret the patterns find
  replaced by `<REDACTED:kind>`. Prompts (`content_prompts`), assistant responses (`content_responses`) and tool
  parameters, inputs and outputs (`content_tool_details`) follow their setting; raw API bodies (`body`) the strictest
  of the three, since they hold all of them; error messages, exception texts, hook and settings definitions, a log
  record's body and a span's status message always have their secrets redacted.
- **Secret patterns** (`SECRET_PATTERNS`, plus the `redact_patterns` setting): RE2 syntax that Python's `re` reads
  alike (no lookarounds; `\\b` and classes ASCII-only), so ClickHouse's `replaceRegexpAll` runs the same rules the
  Python reading does.
- **Email pseudonyms** (`hash_emails`): the `user_email` column, the `person` column when it is that email, and in the
  `attrs` and `resource` maps every value of an email key (`EMAIL_KEYS`) and every value that is a whole email
  address, are replaced by `ccmon.directory.pseudonyms.pseudonym`. Addresses inside free text (a prompt) are not:
  that text is content, under the content policy.

Everything is declared here once and read twice: in Python (`Privacy.attribute`, `redact`, `email`) for metric rows
(`ccmon.ingest.rows.seal_points`) and in SQL (`Privacy.attribute_branches`, `redact_sql`, `email_sql`) for the
engine's INSERT of event and span rows (`ccmon.ingest.engine_rows`); tests check that the two agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ccmon.directory.pseudonyms import Pads, pseudonym, pseudonym_sql
from ccmon.store.content import (
    BODY_KEYS,
    DIAGNOSTIC_KEYS,
    PROMPT_KEYS,
    RESPONSE_KEYS,
    TOOL_DETAIL_KEYS,
)
from ccmon.store.dimensions import sql_literal

KEEP, REDACT, DROP = "keep", "redact", "drop"
POLICIES = (REDACT, KEEP, DROP)
"""The content settings' values, the default first."""
DROPPED = "<DROPPED>"


EMAIL_KEYS = ("user.email", "user_email", "email", "enduser.email")
"""Attributes holding a person's email, pseudonymised whatever their value looks like."""
EMAIL_PATTERN = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
"""A whole attribute value that is an email address (any key) is pseudonymised too."""


@dataclass(frozen=True)
class SecretPattern:
    """One kind of secret: an RE2 (and Python) pattern, what its match becomes (`\\1` is its first group, kept where
    the pattern matches the name of a secret before its value), and literal strings one of which (ignoring case)
    every match contains, which let the engine skip the patterns for a text that holds none."""

    kind: str
    pattern: str
    replacement: str = ""
    needles: tuple[str, ...] = ()
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern, re.ASCII))
        if not self.replacement:
            object.__setattr__(self, "replacement", f"<REDACTED:{self.kind}>")

    def sub(self, text: str) -> str:
        return self.regex.sub(self.replacement, text)


_NAME_END = r"\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
"""What follows the name of a secret before its value: `=`, `: `, `": "` and the same with escaped quotes (JSON
inside JSON, as in `tool_input`)."""
_VALUE = r"[^ \t\r\n\"'\\&,;<][^ \t\r\n\"'\\&,;]*"
"""A secret's value: up to a space, quote, backslash or separator. Not one starting with `<`: a secret an earlier
pattern found (`token=<REDACTED:github_token>`) keeps its kind."""

SECRET_PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern(
        "private_key",
        r"-----BEGIN[A-Z ]*PRIVATE KEY[A-Z ]*-----(?:(?s:.*?)-----END[A-Z ]*PRIVATE KEY[A-Z ]*-----|(?s:.*))",
        needles=("-----BEGIN",),
    ),
    SecretPattern("anthropic_key", r"\bsk-ant-[A-Za-z0-9_-]{8,}", needles=("sk-ant-",)),
    SecretPattern("openai_key", r"\bsk-[A-Za-z0-9_-]{20,}", needles=("sk-",)),
    SecretPattern(
        "github_token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",
        needles=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    SecretPattern("slack_token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}", needles=("xox",)),
    SecretPattern("aws_access_key_id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", needles=("AKIA", "ASIA")),
    SecretPattern(
        "aws_secret_access_key",
        r"((?i:aws_secret_access_key)\\?[\"']?[ \t]*[:=]?[ \t]*\\?[\"']?)[A-Za-z0-9/+]{40}",
        r"\1<REDACTED:aws_secret_access_key>",
        needles=("aws_secret_access_key",),
    ),
    SecretPattern("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}", needles=("AIza",)),
    SecretPattern("jwt", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", needles=("eyJ",)),
    SecretPattern(
        "bearer", r"(\b(?i:bearer)[ \t]+)[A-Za-z0-9._~+/=-]{8,}", r"\1<REDACTED:bearer>", needles=("bearer",)
    ),
    SecretPattern(
        "url_credentials",
        r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/ \t\r\n:@\"'\\<>]+:[^/ \t\r\n@\"'\\<>]+@",
        r"\1<REDACTED:url_credentials>@",
        needles=("://",),
    ),
    SecretPattern(
        "password",
        rf"((?i:[A-Za-z0-9_.-]*(?:password|passwd|passphrase)){_NAME_END}){_VALUE}",
        r"\1<REDACTED:password>",
        needles=("passw", "passphrase"),
    ),
    SecretPattern(
        "secret",
        rf"((?i:[A-Za-z0-9_.-]*(?:secret|token|api[_-]?key|access[_-]?key|private[_-]?key)){_NAME_END}){_VALUE}",
        r"\1<REDACTED:secret>",
        needles=("secret", "token", "key"),
    ),
)
"""The secrets redacted by default, most specific first (a value in `token=...` is first read for what it is)."""


def parse_pattern(text: str) -> str:
    """A `redact_patterns` item: a regular expression (RE2 syntax) whose every match is redacted as `custom`."""
    try:
        compiled = re.compile(text, re.ASCII)
    except re.error as exc:
        raise ValueError(f"redact pattern {text!r} is not a regular expression: {exc}") from None
    if compiled.search(""):
        raise ValueError(f"redact pattern {text!r} matches the empty text; it must match a secret")
    return text


def custom_pattern(text: str) -> SecretPattern:
    return SecretPattern("custom", parse_pattern(text))


@dataclass(frozen=True)
class Privacy:
    """The privacy settings, and their readings in Python and SQL (see the module docstring)."""

    prompts: str = REDACT
    responses: str = REDACT
    tool_details: str = REDACT
    extra_patterns: tuple[str, ...] = ()
    email_secret: bytes | None = None
    """The pseudonyms' secret; None: emails are kept as sent (`hash_emails` off)."""
    policies: dict[str, str] = field(init=False, repr=False, compare=False)
    patterns: tuple[SecretPattern, ...] = field(init=False, repr=False, compare=False)
    _pseudonyms: dict[str, str] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        groups = ((PROMPT_KEYS, self.prompts), (RESPONSE_KEYS, self.responses), (TOOL_DETAIL_KEYS, self.tool_details))
        for _, policy in groups:
            if policy not in POLICIES:
                raise ValueError(f"content policy {policy!r} is not one of {', '.join(POLICIES)}")
        chosen = {policy for _, policy in groups}
        bodies = DROP if DROP in chosen else KEEP if chosen == {KEEP} else REDACT
        policies = {key: policy for keys, policy in groups for key in keys}
        policies |= dict.fromkeys(BODY_KEYS, bodies) | dict.fromkeys(DIAGNOSTIC_KEYS, REDACT)
        object.__setattr__(self, "policies", {k: p for k, p in policies.items() if p != KEEP})
        custom = tuple(custom_pattern(text) for text in self.extra_patterns)
        object.__setattr__(self, "patterns", SECRET_PATTERNS + custom)

    @property
    def hashing(self) -> bool:
        return self.email_secret is not None

    # --- Python ----------------------------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        for pattern in self.patterns:
            text = pattern.sub(text)
        return text

    def email(self, text: str) -> str:
        """The pseudonym of an email (unchanged when hashing is off, or the text empty)."""
        if self.email_secret is None or not text:
            return text
        found = self._pseudonyms.get(text)
        if found is None:
            if len(self._pseudonyms) > 100_000:  # a bound, not a cache policy: people are far fewer
                self._pseudonyms.clear()
            found = self._pseudonyms[text] = pseudonym(self.email_secret, text)
        return found

    def attribute(self, key: str, text: str) -> str:
        """What is stored of an attribute's text in `attrs` or `resource`."""
        policy = self.policies.get(key)
        if policy == DROP:
            return DROPPED
        if policy == REDACT:
            return self.redact(text)
        if self.email_secret is not None and text and (key in EMAIL_KEYS or _EMAIL.fullmatch(text)):
            return self.email(text)
        return text

    # --- SQL -------------------------------------------------------------------------------------------------------

    @property
    def parameters(self) -> dict[str, Any]:
        """The query parameters the SQL readings use (the pseudonyms' key, kept out of the SQL's text)."""
        if self.email_secret is None:
            return {}
        pads = Pads.of(self.email_secret)
        return {"email_inner": pads.inner, "email_outer": pads.outer}

    def redact_sql(self, text: str) -> str:
        """`redact` over the String expression `text`: the built-in patterns only where one of their needles
        occurs (a search far cheaper than the patterns), then the configured ones."""
        builtin = text
        for pattern in SECRET_PATTERNS:
            builtin = _replace_sql(builtin, pattern)
        needles = sorted({needle for pattern in SECRET_PATTERNS for needle in pattern.needles})
        found = f"multiSearchAnyCaseInsensitive({text}, [{', '.join(map(sql_literal, needles))}])"
        result = f"if({found}, {builtin}, {text})"
        for pattern in self.patterns[len(SECRET_PATTERNS) :]:
            result = _replace_sql(result, pattern)
        return result

    def email_sql(self, text: str) -> str:
        """`email` over the String expression `text`."""
        if self.email_secret is None:
            return text
        hashed = pseudonym_sql(text, "{email_inner:String}", "{email_outer:String}")
        return f"if({text} = '', '', {hashed})"

    def attribute_branches(self, key: str, text: str) -> list[str]:
        """`attribute` as `multiIf` branches (condition, value, ...) over the String expressions `key` and `text`;
        the caller adds the final `else` (the text)."""
        branches = []
        for policy, value in ((DROP, sql_literal(DROPPED)), (REDACT, self.redact_sql(text))):
            keys = [k for k, p in self.policies.items() if p == policy]
            if keys:
                branches += [f"has({_array(keys)}, {key})", value]
        if self.email_secret is not None:
            email = f"{text} != '' AND (has({_array(EMAIL_KEYS)}, {key}) OR match({text}, {_EMAIL_SQL}))"
            branches += [email, self.email_sql(text)]
        return branches


_EMAIL = re.compile(EMAIL_PATTERN, re.ASCII)
_EMAIL_SQL = sql_literal(f"^(?:{EMAIL_PATTERN})$")


def _array(items: Sequence[str]) -> str:
    return f"[{', '.join(map(sql_literal, items))}]"


def _replace_sql(text: str, pattern: SecretPattern) -> str:
    return f"replaceRegexpAll({text}, {sql_literal(pattern.pattern)}, {sql_literal(pattern.replacement)})"
