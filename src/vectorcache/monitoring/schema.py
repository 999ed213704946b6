"""Monitoring's tables, one migration step for each backend (appended to the store's steps).

Tables of its own only: the request log, its rollups, alerts and their webhooks and
deliveries, the client networks seen per key, per-project monitoring settings, the schedule's
last runs, and the seals of the audit rows the retention job removed.
"""

from __future__ import annotations

from vectorcache.monitoring.histogram import N_BUCKETS

__all__ = ["HIST_COLUMNS", "MONITORING_POSTGRES", "MONITORING_SQLITE", "ROLLUP_SLICES"]

HIST_COLUMNS = tuple(f"h{i}" for i in range(N_BUCKETS))

_TEMPLATE = """
CREATE TABLE request_log (
    id {serial}, at {real} NOT NULL, project_id TEXT NOT NULL, key_id TEXT NOT NULL,
    route TEXT NOT NULL, method TEXT NOT NULL, model TEXT NOT NULL, status INTEGER NOT NULL,
    outcome TEXT NOT NULL, reason TEXT NOT NULL, latency_ms {real} NOT NULL,
    provider_ms {real} NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,
    tokens_saved INTEGER NOT NULL, cost_usd {real} NOT NULL, cost_saved_usd {real} NOT NULL,
    client_ip TEXT NOT NULL, user_agent TEXT NOT NULL, user_hash TEXT NOT NULL
);
CREATE INDEX request_log_project ON request_log(project_id, at);
CREATE INDEX request_log_at ON request_log(at);
CREATE TABLE request_rollups (
    project_id TEXT NOT NULL, grain TEXT NOT NULL, bucket BIGINT NOT NULL,
    key_id TEXT NOT NULL, model TEXT NOT NULL, end_user TEXT NOT NULL, outcome TEXT NOT NULL,
    reason TEXT NOT NULL, requests BIGINT NOT NULL, latency_ms_sum {real} NOT NULL,
    provider_ms_sum {real} NOT NULL, tokens_in BIGINT NOT NULL, tokens_out BIGINT NOT NULL,
    tokens_saved BIGINT NOT NULL, cost_usd {real} NOT NULL, cost_saved_usd {real} NOT NULL,
    {hist},
    PRIMARY KEY (project_id, grain, bucket, key_id, model, end_user, outcome, reason)
);
CREATE TABLE monitor_settings (project_id TEXT PRIMARY KEY, settings TEXT NOT NULL);
CREATE TABLE monitor_jobs (
    name TEXT PRIMARY KEY, last_run {real} NOT NULL, holder TEXT, lease_until {real}
);
CREATE TABLE monitor_key_networks (
    key_id TEXT NOT NULL, network TEXT NOT NULL, project_id TEXT NOT NULL,
    first_seen {real} NOT NULL, last_seen {real} NOT NULL, PRIMARY KEY (key_id, network)
);
CREATE TABLE monitor_alerts (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, rule TEXT NOT NULL, key_id TEXT,
    severity TEXT NOT NULL, dedupe TEXT NOT NULL, created_at {real} NOT NULL,
    summary TEXT NOT NULL, evidence TEXT NOT NULL, acknowledged_at {real},
    acknowledged_by TEXT, UNIQUE (project_id, dedupe)
);
CREATE INDEX monitor_alerts_project ON monitor_alerts(project_id, created_at);
CREATE TABLE monitor_webhooks (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, url TEXT NOT NULL, kid TEXT,
    secret {blob} NOT NULL, format TEXT NOT NULL, created_at {real} NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE monitor_deliveries (
    id {serial}, alert_id TEXT NOT NULL, webhook_id TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL, next_at {real} NOT NULL, last_error TEXT,
    last_status INTEGER, delivered_at {real}
);
CREATE INDEX monitor_deliveries_due ON monitor_deliveries(status, next_at);
CREATE TABLE audit_seals (
    id {serial}, sealed_at {real} NOT NULL, first_id BIGINT NOT NULL, last_id BIGINT NOT NULL,
    rows_sealed BIGINT NOT NULL, head TEXT NOT NULL
);
"""

_HIST = ", ".join(f"{c} BIGINT NOT NULL DEFAULT 0" for c in HIST_COLUMNS)

MONITORING_SQLITE = _TEMPLATE.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT", real="REAL",
                                     blob="BLOB", hist=_HIST)
MONITORING_POSTGRES = _TEMPLATE.format(
    serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", real="DOUBLE PRECISION",
    blob="BYTEA", hist=_HIST)

#: A later step (both backends): each rollup row names its slice (``rollup.slice_of``: the
#: dimensions it is kept by), and an index leads with it, so that a query reads the rows it
#: shows and no others: a month by hour overall reads 720 x outcomes rows, not every key's,
#: model's and end user's hours too; and counting a slice's groups reads the index alone.
#: Rows from before the step are labelled here.
ROLLUP_SLICES = """
ALTER TABLE request_rollups ADD COLUMN dims TEXT NOT NULL DEFAULT '';
UPDATE request_rollups SET dims = CASE
    WHEN end_user <> '' THEN 'user'
    WHEN key_id = '*' AND model = '*' THEN 'all'
    WHEN key_id = '*' THEN 'model'
    WHEN model = '*' THEN 'key'
    ELSE 'key_model' END;
CREATE INDEX request_rollups_slice
    ON request_rollups(project_id, grain, dims, bucket, key_id, model, end_user);
"""
