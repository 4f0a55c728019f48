-- Version 3: stored replay records keep the request's digest and the answer's body only. The
-- HTTP status they kept was always the success status of their operation (201 for a submission,
-- 200 for a callback), which the transport knows; the control plane keeps no HTTP status codes.
ALTER TABLE idempotency DROP COLUMN status;
ALTER TABLE deliveries DROP COLUMN status;
