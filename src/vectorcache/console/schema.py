"""The console's tables, one migration step in each backend's schema (``store/*_schema.py``).

Tables of their own, so the console adds nothing to the request path's tables: a key that waits
for approval is a row here, and only becomes an ``api_keys`` row (a key that works) once approved.
One index on the store's ``api_keys`` (a project's keys, newest first: the API Keys page
reads one page of them without sorting them all). Times are epoch seconds; ids are random
text; secrets are stored hashed (sessions, tokens, backup codes, passwords) or encrypted under
the data key (TOTP secrets).
"""

from __future__ import annotations

__all__ = ["CONSOLE_POSTGRES", "CONSOLE_SQLITE"]

_TABLES = """
CREATE TABLE console_users (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
    password_hash TEXT NOT NULL, totp_kid TEXT, totp_secret {blob},
    totp_enabled INTEGER NOT NULL DEFAULT 0, totp_last_step BIGINT,
    created_at {time} NOT NULL, password_changed_at {time} NOT NULL, disabled_at {time}
);
CREATE TABLE console_backup_codes (
    user_id TEXT NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL, used_at {time}, PRIMARY KEY (user_id, code_hash)
);
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
    stage TEXT NOT NULL, csrf_token TEXT NOT NULL, created_at {time} NOT NULL,
    last_seen_at {time} NOT NULL, expires_at {time} NOT NULL, client_ip TEXT,
    user_agent TEXT, revoked_at {time}
);
CREATE INDEX console_sessions_user ON console_sessions(user_id, last_seen_at);
CREATE TABLE console_memberships (
    user_id TEXT NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    created_at {time} NOT NULL, PRIMARY KEY (user_id, project_id)
);
CREATE INDEX console_memberships_project ON console_memberships(project_id);
CREATE TABLE console_key_requests (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    requested_by TEXT NOT NULL, name TEXT NOT NULL, prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE, grant_json TEXT NOT NULL, reasons TEXT NOT NULL,
    status TEXT NOT NULL, created_at {time} NOT NULL, decided_by TEXT, decided_at {time}
);
CREATE INDEX console_key_requests_project ON console_key_requests(project_id, status);
CREATE INDEX console_api_keys_recent ON api_keys(project_id, created_at);
CREATE TABLE console_tokens (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
    name TEXT NOT NULL, prefix TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL, created_at {time} NOT NULL, expires_at {time} NOT NULL,
    last_used_at {time}, revoked_at {time}
);
CREATE TABLE console_login_failures (
    subject TEXT PRIMARY KEY, failures INTEGER NOT NULL, window_start {time} NOT NULL,
    locked_until {time}
);
"""

CONSOLE_SQLITE = _TABLES.format(blob="BLOB", time="REAL")
CONSOLE_POSTGRES = _TABLES.format(blob="BYTEA", time="DOUBLE PRECISION")
