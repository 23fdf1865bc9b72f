-- rampart store, migration 3 (PostgreSQL): the audit trail's anchored head. Keep in step
-- with ../sqlite/003_audit_head.sql.
--
-- One row, rewritten by every append inside the append's transaction: the seq and digest
-- of the newest event and, when the store was opened with the master key's audit seal,
-- an HMAC over both. `rampart audit verify` compares it with the chain's last event, so
-- events removed from the end of the trail are seen; an append refuses to go on from a
-- trail whose last event is not the anchored head.
CREATE TABLE audit_head (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    seq    BIGINT NOT NULL,
    digest TEXT   NOT NULL,
    seal   TEXT              -- hex HMAC-SHA256, NULL when written without the audit seal
);
INSERT INTO audit_head (id, seq, digest, seal)
    SELECT 1, seq, digest, NULL FROM audit_events ORDER BY seq DESC LIMIT 1;
