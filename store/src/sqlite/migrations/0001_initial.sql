-- Version 1: the first schema (written with IF NOT EXISTS, before versioned migrations).
CREATE TABLE IF NOT EXISTS deployments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    service TEXT NOT NULL,
    version TEXT NOT NULL,
    artifact TEXT NOT NULL,
    environment TEXT NOT NULL,
    cloud TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    intent TEXT NOT NULL,
    decision TEXT NOT NULL,
    bundle_digest TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deployments_service ON deployments(service, state);
CREATE INDEX IF NOT EXISTS deployments_created ON deployments(created_ns);
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY,
    deployment_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    link TEXT NOT NULL,
    UNIQUE (deployment_id, seq)
);
CREATE TABLE IF NOT EXISTS ledger_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL,
    link TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id TEXT NOT NULL,
    executor TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    next_attempt_ns INTEGER NOT NULL,
    last_error TEXT,
    receipt TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt_ns);
CREATE INDEX IF NOT EXISTS outbox_deployment ON outbox(deployment_id);
CREATE TABLE IF NOT EXISTS idempotency (
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id TEXT PRIMARY KEY,
    body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL
);
