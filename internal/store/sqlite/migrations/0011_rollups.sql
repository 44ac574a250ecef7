-- E7: daily report rollups (store.Cell; see internal/store/rollup.go).
--
-- One row per (scope, dimension, key, UTC day, shard) with the counts reports add up and the
-- histograms for their percentiles and thresholds, varint-encoded in one value (store.Counts),
-- kept in step with the fact tables by every save of a fact, in its transaction. The primary key leads with what a report
-- reads: a scope's dimension over a range of days, and the table is clustered on it.
CREATE TABLE report_cells (
    scope  TEXT NOT NULL,
    dim    TEXT NOT NULL,
    day    INTEGER NOT NULL,
    key    TEXT NOT NULL,
    shard  INTEGER NOT NULL,
    counts BLOB NOT NULL,
    PRIMARY KEY (scope, dim, day, key, shard)
) STRICT, WITHOUT ROWID;

-- Whether report_cells holds what the facts say. A database that already has facts gets its
-- rollups computed when a store opens it next (store.RebuildRollups), not in this SQL.
CREATE TABLE rollup_state (
    id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    built INTEGER NOT NULL
) STRICT;
INSERT INTO rollup_state (id, built)
SELECT 1, NOT EXISTS (SELECT 1 FROM ticket_facts) AND NOT EXISTS (SELECT 1 FROM escalation_facts);
