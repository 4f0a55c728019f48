-- Version 6: a decision log record's `at` is the server's clock when it was logged; the
-- decision time the evaluation used (a preview's caller-supplied `context.now`) is kept in its
-- own column. Rows of earlier versions had only `at` (which was that decision time): they keep it
-- in both columns.
ALTER TABLE decisions ADD COLUMN evaluated_at TEXT;
UPDATE decisions SET evaluated_at = at;
