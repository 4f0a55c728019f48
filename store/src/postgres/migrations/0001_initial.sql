-- Version 1: the control plane's schema on PostgreSQL, the same tables and columns as SQLite's
-- (JSON and RFC 3339 times as text, times also as Unix nanoseconds for ranges), so one set of
-- statements reads and audits either. Several `gatehouse serve` processes share it:
-- - `ledger_head` is the one row every ledger append locks (`SELECT ... FOR UPDATE`): positions
--   are assigned under it, so the global chain has no gap and no fork; `events.position` is the
--   primary key as a second guard.
-- - `idempotency (principal, key)` and `deliveries (deployment_id, delivery_id)` are primary
--   keys: the database, not a process, decides that a key or a delivery id is used once.
-- - `outbox` rows are claimed with `FOR UPDATE SKIP LOCKED` and a lease (`lease_owner`,
--   `lease_until_ns`).
-- - `replicas` holds what each running server reports (the bundle it judges with), and
--   `active_bundle` the bundle last activated by any of them.
CREATE TABLE deployments (
    seq BIGSERIAL PRIMARY KEY,
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
    created_ns BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    intent TEXT NOT NULL,
    decision TEXT NOT NULL,
    bundle_digest TEXT NOT NULL,
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deployments_service ON deployments (service, state);
CREATE INDEX deployments_created ON deployments (created_ns);
CREATE INDEX deployments_state ON deployments (state);

CREATE TABLE events (
    position BIGINT PRIMARY KEY,
    deployment_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    link TEXT NOT NULL,
    UNIQUE (deployment_id, seq)
);

CREATE TABLE ledger_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL,
    link TEXT NOT NULL
);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    deployment_id TEXT NOT NULL,
    executor TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    next_attempt_ns BIGINT NOT NULL,
    last_error TEXT,
    receipt TEXT,
    lease_owner TEXT,
    lease_until_ns BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_ns);
CREATE INDEX outbox_deployment ON outbox (deployment_id);

CREATE TABLE idempotency (
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ns BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_created ON idempotency (created_ns);

CREATE TABLE deliveries (
    deployment_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ns BIGINT NOT NULL,
    PRIMARY KEY (deployment_id, delivery_id)
);
CREATE INDEX deliveries_created ON deliveries (created_ns);

CREATE TABLE deployment_policies (
    deployment_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    blocking BOOLEAN NOT NULL,
    PRIMARY KEY (deployment_id, policy)
);

CREATE TABLE replicas (
    replica_id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    bundle_digest TEXT NOT NULL,
    bundle_revision TEXT NOT NULL,
    started_at TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    seen_ns BIGINT NOT NULL
);

CREATE TABLE active_bundle (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    digest TEXT NOT NULL,
    revision TEXT NOT NULL,
    activated_by TEXT NOT NULL,
    activated_at TEXT NOT NULL
);
