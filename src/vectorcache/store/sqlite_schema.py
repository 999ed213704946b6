"""The SQLite schema, versioned by ``PRAGMA user_version``; each step runs once, in order."""

from __future__ import annotations

import sqlite3

from vectorcache.console.schema import CONSOLE_SQLITE
from vectorcache.monitoring.schema import MONITORING_SQLITE, ROLLUP_SLICES

__all__ = ["SCHEMA_VERSION", "migrate"]

_STEPS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE data_keys (
        kid TEXT PRIMARY KEY, wrapped BLOB NOT NULL, created_at REAL NOT NULL,
        active INTEGER NOT NULL DEFAULT 0, retired_at REAL
    );
    CREATE TABLE projects (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL,
        default_model TEXT, similarity_threshold REAL NOT NULL DEFAULT 0.85,
        decision_mode TEXT, target_error_rate REAL, pii_policy TEXT NOT NULL DEFAULT 'bypass',
        allowed_models TEXT, ttl_seconds INTEGER
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL, prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL, scopes TEXT, models TEXT, allowed_ips TEXT, expires_at REAL,
        rate_limit_per_minute INTEGER, quota_requests INTEGER, quota_period TEXT,
        last_used_at REAL, request_count INTEGER NOT NULL DEFAULT 0, revoked_at REAL
    );
    CREATE INDEX api_keys_project ON api_keys(project_id);
    CREATE TABLE providers (
        project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
        provider TEXT NOT NULL, base_url TEXT, kid TEXT, api_key BLOB, models TEXT,
        fallback_models TEXT, updated_at REAL NOT NULL
    );
    CREATE TABLE entries (
        rowid INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        partition TEXT NOT NULL, exact_key TEXT NOT NULL, model TEXT NOT NULL,
        kid TEXT, prompt BLOB, response BLOB, context BLOB, metadata BLOB,
        embedding BLOB NOT NULL, user_hash TEXT,
        prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
        provider TEXT, created_by_key TEXT, created_at REAL NOT NULL, expires_at REAL,
        hit_count INTEGER NOT NULL DEFAULT 0, last_hit_at REAL, size_bytes INTEGER NOT NULL
    );
    CREATE INDEX entries_exact ON entries(partition, exact_key);
    CREATE INDEX entries_project ON entries(project_id, created_at);
    CREATE INDEX entries_user ON entries(user_hash) WHERE user_hash IS NOT NULL;
    CREATE INDEX entries_expiry ON entries(expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, project_id TEXT NOT NULL,
        kind TEXT NOT NULL, entry_id TEXT, key_id TEXT, user_hash TEXT, similarity REAL,
        latency_ms REAL, tokens INTEGER, cost_usd REAL, cost_saved_usd REAL, model TEXT
    );
    CREATE INDEX events_project ON events(project_id, kind);
    CREATE INDEX events_user ON events(user_hash) WHERE user_hash IS NOT NULL;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, action TEXT NOT NULL,
        project_id TEXT, actor TEXT, target TEXT, details TEXT
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """,
    # 2: what else put a chat entry in its partition (earlier turns, sampling parameters),
    # encrypted like the prompt, so an export can be imported into the same partition
    """
    ALTER TABLE entries ADD COLUMN shape BLOB;
    """,
    # 3: wrong-answer reports (service/feedback.py): the entry is served only above this
    # cosine afterwards, and how many reports raised it
    """
    ALTER TABLE entries ADD COLUMN min_similarity REAL NOT NULL DEFAULT 0;
    ALTER TABLE entries ADD COLUMN wrong_reports INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: cache scope (service/scope.py): a project's entries shared by its end users or kept
    # per user; a key may override its project's (NULL: the project's)
    """
    ALTER TABLE projects ADD COLUMN cache_scope TEXT NOT NULL DEFAULT 'shared';
    ALTER TABLE api_keys ADD COLUMN cache_scope TEXT;
    """,
    # the console (console/schema.py): admin accounts, sessions (ids hashed), memberships,
    # keys waiting for approval, admin tokens, login throttling: tables of its own
    CONSOLE_SQLITE,
    # monitoring (monitoring/schema.py): the request log and its rollups, alerts,
    # webhooks and deliveries, networks seen per key, audit seals: tables of its own
    MONITORING_SQLITE,
    # the client address of each audited action (security/client_ip.py), as the server
    # resolved it; NULL for the CLI and for rows written before this step
    """
    ALTER TABLE audit ADD COLUMN client_ip TEXT;
    """,
    # which embedding model made each stored vector (runtime.embedding_space): a search
    # compares vectors of one model only, and `vectorcache cache reembed` moves entries to the
    # server's; rows written before this step were made by the space the meta row names
    """
    ALTER TABLE entries ADD COLUMN space TEXT;
    UPDATE entries SET space = COALESCE((SELECT value FROM meta WHERE key = 'embedding_space'),
                                        'sentence-transformers/all-MiniLM-L6-v2 int8');
    CREATE INDEX entries_space ON entries(space);
    """,
    # key age (store/key_rotation.py): each key's environment and when it is due for rotation
    # (created_at + the project's days for that environment; keys from before this step are
    # production keys, due 90 days after they were made), when it was rotated away and by
    # which key; the project's rotation policy, bounded here as at the API and the CLI
    """
    ALTER TABLE api_keys ADD COLUMN environment TEXT NOT NULL DEFAULT 'production'
        CHECK (environment IN ('production', 'staging', 'development'));
    ALTER TABLE api_keys ADD COLUMN rotation_due_at REAL;
    ALTER TABLE api_keys ADD COLUMN rotated_at REAL;
    ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;
    UPDATE api_keys SET rotation_due_at = created_at + 90 * 86400;
    ALTER TABLE projects ADD COLUMN rotation_days_production INTEGER NOT NULL DEFAULT 90
        CHECK (rotation_days_production BETWEEN 1 AND 3650);
    ALTER TABLE projects ADD COLUMN rotation_days_staging INTEGER NOT NULL DEFAULT 90
        CHECK (rotation_days_staging BETWEEN 1 AND 3650);
    ALTER TABLE projects ADD COLUMN rotation_days_development INTEGER NOT NULL DEFAULT 180
        CHECK (rotation_days_development BETWEEN 1 AND 3650);
    """,
    # the rollups' slices (monitoring/schema.py): each row labelled with the dimensions it is
    # kept by, and an index per project x grain x slice x bucket for the analytics queries
    ROLLUP_SLICES,
)

SCHEMA_VERSION = len(_STEPS)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to the latest version. Runs inside the caller's transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"Database schema {version} is newer than this Vectorcache ({SCHEMA_VERSION}); "
            "upgrade Vectorcache."
        )
    for step in _STEPS[version:]:
        for statement in _split(step):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _split(script: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies whole."""
    statements, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        text = "\n".join(current).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    return statements
