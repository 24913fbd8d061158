"""Tables of ccmon's own state (not telemetry): people who log in, their sessions, API keys, ingest tokens, the
directory and the audit log.

They live in the store like the telemetry, so several ccmon processes sharing one ClickHouse server share them, and
a process holds nothing it cannot lose. Mutable records are `ReplacingMergeTree` tables versioned by `updated_at`:
a change is a new row, read back with `FINAL`; a deletion is a row with `deleted = 1`.
"""

from __future__ import annotations

AUTH_TABLES: tuple[str, ...] = (
    """
CREATE TABLE IF NOT EXISTS users (
    email String,
    name String,
    role LowCardinality(String),
    team String,
    department String,
    password_hash String,
    source LowCardinality(String),
    disabled Bool,
    deleted Bool,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY email
""",
    """
CREATE TABLE IF NOT EXISTS login_sessions (
    id_hash String,
    email String,
    role LowCardinality(String),
    person String,
    team String,
    department String,
    via LowCardinality(String),
    csrf String,
    created_at DateTime64(6, 'UTC'),
    expires_at DateTime64(6, 'UTC'),
    last_seen DateTime64(6, 'UTC'),
    revoked Bool,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id_hash
TTL toDateTime(expires_at) + INTERVAL 1 DAY
""",
    """
CREATE TABLE IF NOT EXISTS api_keys (
    id String,
    name String,
    key_hash String,
    role LowCardinality(String),
    person String,
    team String,
    department String,
    created_by String,
    created_at DateTime64(6, 'UTC'),
    expires_at Nullable(DateTime64(6, 'UTC')),
    revoked Bool,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
""",
    """
CREATE TABLE IF NOT EXISTS audit_log (
    ts DateTime64(6, 'UTC'),
    actor String,
    action LowCardinality(String),
    target String,
    outcome LowCardinality(String),
    address String,
    detail String
)
ENGINE = MergeTree
ORDER BY ts
""",
    """
CREATE TABLE IF NOT EXISTS server_secrets (
    name String,
    value String,
    created_at DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (name, created_at)
""",
)
"""Migration 6: logins, sessions, API keys, the audit log and the server's secrets (`ccmon.auth`)."""

TOKEN_TABLES: tuple[str, ...] = (
    """
CREATE TABLE IF NOT EXISTS ingest_tokens (
    id String,
    name String,
    token_hash String,
    organization String,
    team String,
    department String,
    cost_center String,
    rate_limit_per_s Float64,
    rate_limit_burst Float64,
    created_by String,
    created_at DateTime64(6, 'UTC'),
    expires_at Nullable(DateTime64(6, 'UTC')),
    revoked Bool,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
""",
    """
CREATE TABLE IF NOT EXISTS ingest_token_seen (
    id String,
    seen_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(seen_at)
ORDER BY id
""",
)
"""Migration 7: ingest tokens, stored hashed, with their pinned attributes (`ccmon.ingest.tokens`)."""

DIRECTORY_TABLES: tuple[str, ...] = (
    """
CREATE TABLE IF NOT EXISTS directory_people (
    email String,
    name String,
    team String,
    department String,
    cost_center String,
    manager String,
    deleted Bool,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY email
""",
    # Email rules are replaced as a whole: each set is a generation, read is the latest; an empty set is one row
    # with an empty pattern. `regex` and `replacement` are the rule's SQL form, read by the ingest INSERT.
    """
CREATE TABLE IF NOT EXISTS directory_rules (
    generation DateTime64(6, 'UTC'),
    position UInt32,
    pattern String,
    team String,
    regex String,
    replacement String
)
ENGINE = MergeTree
ORDER BY (generation, position)
""",
)
"""Migration 8: the directory of people and its email rules (`ccmon.directory`)."""
