-- Cheaper audit appends (PostgreSQL). Keep in step with
-- sqlite/0009_audit_append.sql.
--
-- The tenant indexes of the activity and access logs go: the control
-- plane always narrows those logs to a resource scope, whose index (or the
-- caller's, the token's, the time index) serves the query, so every append
-- paid for an index no listing read. SQLite also rebuilds each log with seq
-- as its rowid; PostgreSQL stores rows in a heap in insertion order
-- whatever the key, so its tables, and the nullable seq that lets
-- VerifyAudit name a row inserted without one, stay as they are.

DROP INDEX activity_tenant;
DROP INDEX access_log_tenant;
