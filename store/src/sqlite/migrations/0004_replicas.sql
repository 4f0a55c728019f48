-- Version 4: what each server on this database reports (the bundle it judges with, when it was
-- last seen), and the bundle last activated by any of them; `/readyz` compares the two.
CREATE TABLE replicas (
    replica_id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    bundle_digest TEXT NOT NULL,
    bundle_revision TEXT NOT NULL,
    started_at TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    seen_ns INTEGER NOT NULL
);
CREATE TABLE active_bundle (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    digest TEXT NOT NULL,
    revision TEXT NOT NULL,
    activated_by TEXT NOT NULL,
    activated_at TEXT NOT NULL
);
