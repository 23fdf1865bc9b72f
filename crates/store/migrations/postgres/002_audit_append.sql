-- rampart store, migration 2 (PostgreSQL): a cheaper audit append. Keep in step with
-- ../sqlite/002_audit_append.sql.
--
-- audit_resources_by_seq is redundant: LookupEvents finds an event's resources with
-- `r.seq = a.seq AND r.resource_type = ?` (or resource_name), which
-- audit_resources_by_type / audit_resources_by_name answer on their own. One index fewer
-- to update per recorded resource.
DROP INDEX IF EXISTS audit_resources_by_seq;
