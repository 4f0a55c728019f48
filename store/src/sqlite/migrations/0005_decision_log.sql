-- Version 5: the decision log (every evaluation's record, when `[decision_log] enabled`), and
-- the id of each deployment's latest admission decision. Rows of earlier versions have none.
ALTER TABLE deployments ADD COLUMN decision_id TEXT;
CREATE TABLE decisions (
    decision_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    at_ns INTEGER NOT NULL,
    stage TEXT NOT NULL,
    source TEXT NOT NULL,
    caller TEXT NOT NULL,
    deployment_id TEXT,
    replica_id TEXT NOT NULL,
    bundle_digest TEXT NOT NULL,
    bundle_revision TEXT NOT NULL,
    outcome TEXT NOT NULL,
    intent TEXT NOT NULL,
    masked TEXT NOT NULL,
    decision TEXT NOT NULL
);
CREATE INDEX decisions_at ON decisions (at_ns, decision_id);
