"""The PostgreSQL schema: the SQLite one's tables and columns, with pgvector for the embeddings.

Versioned in ``vectorcache_schema``; each step runs once, in order, inside the opening
transaction, under an advisory lock so that replicas starting together migrate once. Times are
epoch seconds in ``DOUBLE PRECISION`` and ciphertext is ``BYTEA``, so rows read back exactly
as SQLite's do (``store/codec.py`` serves both).
"""

from __future__ import annotations

from vectorcache.console.schema import CONSOLE_POSTGRES
from vectorcache.monitoring.schema import MONITORING_POSTGRES, ROLLUP_SLICES
from vectorcache.store.sql import Conn

__all__ = ["SCHEMA_VERSION", "migrate"]

_MIGRATION_LOCK = 0x76636D67  # any constant shared by every Vectorcache process

_STEPS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE data_keys (
        kid TEXT PRIMARY KEY, wrapped BYTEA NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        active INTEGER NOT NULL DEFAULT 0, retired_at DOUBLE PRECISION
    );
    CREATE TABLE projects (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at DOUBLE PRECISION NOT NULL,
        default_model TEXT, similarity_threshold DOUBLE PRECISION NOT NULL DEFAULT 0.85,
        decision_mode TEXT, target_error_rate DOUBLE PRECISION,
        pii_policy TEXT NOT NULL DEFAULT 'bypass', allowed_models TEXT, ttl_seconds INTEGER
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL, prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
        created_at DOUBLE PRECISION NOT NULL, scopes TEXT, models TEXT, allowed_ips TEXT,
        expires_at DOUBLE PRECISION, rate_limit_per_minute INTEGER, quota_requests BIGINT,
        quota_period TEXT, last_used_at DOUBLE PRECISION,
        request_count BIGINT NOT NULL DEFAULT 0, revoked_at DOUBLE PRECISION
    );
    CREATE INDEX api_keys_project ON api_keys(project_id);
    CREATE TABLE providers (
        project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
        provider TEXT NOT NULL, base_url TEXT, kid TEXT, api_key BYTEA, models TEXT,
        fallback_models TEXT, updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE entries (
        rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        partition TEXT NOT NULL, exact_key TEXT NOT NULL, model TEXT NOT NULL,
        kid TEXT, prompt BYTEA, response BYTEA, context BYTEA, metadata BYTEA, shape BYTEA,
        embedding vector({dims}) NOT NULL, user_hash TEXT,
        prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
        provider TEXT, created_by_key TEXT, created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION, hit_count BIGINT NOT NULL DEFAULT 0,
        last_hit_at DOUBLE PRECISION, size_bytes BIGINT NOT NULL,
        min_similarity DOUBLE PRECISION NOT NULL DEFAULT 0,
        wrong_reports INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX entries_exact ON entries(partition, exact_key);
    CREATE INDEX entries_project ON entries(project_id, created_at);
    CREATE INDEX entries_user ON entries(user_hash) WHERE user_hash IS NOT NULL;
    CREATE INDEX entries_expiry ON entries(expires_at) WHERE expires_at IS NOT NULL;
    CREATE INDEX entries_embedding ON entries USING hnsw (embedding vector_cosine_ops);
    CREATE TABLE events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at DOUBLE PRECISION NOT NULL,
        project_id TEXT NOT NULL, kind TEXT NOT NULL, entry_id TEXT, key_id TEXT,
        user_hash TEXT, similarity DOUBLE PRECISION, latency_ms DOUBLE PRECISION,
        tokens INTEGER, cost_usd DOUBLE PRECISION, cost_saved_usd DOUBLE PRECISION, model TEXT
    );
    CREATE INDEX events_project ON events(project_id, kind);
    CREATE INDEX events_user ON events(user_hash) WHERE user_hash IS NOT NULL;
    CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at DOUBLE PRECISION NOT NULL,
        action TEXT NOT NULL, project_id TEXT, actor TEXT, target TEXT, details TEXT
    );
    CREATE FUNCTION vectorcache_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS
        'BEGIN RAISE EXCEPTION ''the audit log is append-only''; END';
    CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
        FOR EACH ROW EXECUTE FUNCTION vectorcache_audit_is_append_only();
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
        FOR EACH STATEMENT EXECUTE FUNCTION vectorcache_audit_is_append_only();
    """,
    # 2: cache scope (service/scope.py), as SQLite's step 4
    """
    ALTER TABLE projects ADD COLUMN cache_scope TEXT NOT NULL DEFAULT 'shared';
    ALTER TABLE api_keys ADD COLUMN cache_scope TEXT;
    """,
    # the console (console/schema.py), as in SQLite
    CONSOLE_POSTGRES,
    # monitoring (monitoring/schema.py): the request log and its rollups, alerts,
    # webhooks and deliveries, networks seen per key, audit seals: tables of its own
    MONITORING_POSTGRES,
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
    ALTER TABLE api_keys ADD COLUMN rotation_due_at DOUBLE PRECISION;
    ALTER TABLE api_keys ADD COLUMN rotated_at DOUBLE PRECISION;
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


def migrate(conn: Conn, dims: int) -> None:
    """Bring the schema to the latest version. Runs inside the caller's transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    conn.execute("CREATE TABLE IF NOT EXISTS vectorcache_schema (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM vectorcache_schema").fetchone()
    version = 0 if row is None else int(row[0])
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"Database schema {version} is newer than this Vectorcache ({SCHEMA_VERSION}); "
            "upgrade Vectorcache.")
    for step in _STEPS[version:]:
        for statement in step.replace("{dims}", str(int(dims))).split(";\n"):
            if statement.strip():
                conn.execute(statement)
    conn.execute("DELETE FROM vectorcache_schema")
    conn.execute("INSERT INTO vectorcache_schema (version) VALUES (?)", (SCHEMA_VERSION,))
