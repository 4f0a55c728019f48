-- Version 7: decision attestations (`[attestations] signing_key`): for each decision the control
-- plane made on a deployment, the DSSE envelope it signed, or why it issued none (an artifact
-- not pinned by digest). Decisions made before this version, or while no key was configured,
-- have no row; nothing already stored changes.
CREATE TABLE attestations (
    decision_id TEXT PRIMARY KEY,
    deployment_id TEXT NOT NULL,
    at TEXT NOT NULL,
    at_ns INTEGER NOT NULL,
    envelope TEXT,
    unavailable TEXT
);
CREATE INDEX attestations_deployment ON attestations (deployment_id, at_ns, decision_id);
