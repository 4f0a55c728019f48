-- Version 2: delivery ids unique per deployment (they were global, so the same id on two
-- deployments failed on the key); creation times on idempotency and delivery records (they
-- expire); outbox leases (an entry is claimed before it is delivered); the decision's outcome
-- and the policies that held or blocked each deployment, written with the decision, so lists
-- and signals read no decision JSON. Rows of version 1 are carried over: a delivery's deployment
-- is found from the event that recorded it, outcomes and policies from the stored decisions.
CREATE TABLE deliveries_v2 (
    deployment_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (deployment_id, delivery_id)
);
INSERT INTO deliveries_v2 (deployment_id, delivery_id, body_sha256, status, body, created_ns)
SELECT COALESCE(
        (SELECT e.deployment_id FROM events e
         WHERE e.type IN ('started', 'succeeded', 'failed') AND json_valid(e.data)
           AND json_extract(e.data, '$.delivery_id') = d.delivery_id
         ORDER BY e.position LIMIT 1),
        ''),
    d.delivery_id, d.body_sha256, d.status, d.body,
    CAST(unixepoch('subsec') * 1000000000 AS INTEGER)
FROM deliveries d;
DROP TABLE deliveries;
ALTER TABLE deliveries_v2 RENAME TO deliveries;
CREATE INDEX deliveries_created ON deliveries(created_ns);
ALTER TABLE idempotency ADD COLUMN created_ns INTEGER NOT NULL DEFAULT 0;
UPDATE idempotency SET created_ns = CAST(unixepoch('subsec') * 1000000000 AS INTEGER);
CREATE INDEX idempotency_created ON idempotency(created_ns);
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until_ns INTEGER;
ALTER TABLE deployments ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
UPDATE deployments SET outcome = COALESCE(
    CASE WHEN json_valid(decision) THEN json_extract(decision, '$.outcome') END, '');
CREATE TABLE deployment_policies (
    deployment_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    blocking INTEGER NOT NULL,
    PRIMARY KEY (deployment_id, policy)
);
INSERT OR IGNORE INTO deployment_policies (deployment_id, policy, blocking)
SELECT d.id, json_extract(v.value, '$.policy'), json_extract(v.value, '$.status') = 'blocking'
FROM deployments d, json_each(CASE WHEN json_valid(d.decision) THEN d.decision ELSE '{}' END, '$.violations') v
WHERE json_extract(v.value, '$.status') IN ('blocking', 'pending_approval')
  AND json_type(v.value, '$.policy') = 'text'
ORDER BY d.seq, v.key;
