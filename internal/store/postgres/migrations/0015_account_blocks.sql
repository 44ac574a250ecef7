-- E7: the account dimension's report cells cover 32 days each, with each day's counts inside
-- (store/rollup.go, "Block cells"), instead of one cell per day. A database whose cells were
-- computed daily gets them recomputed when a store opens it next (store.RebuildRollups), as
-- after migration 11; nodes of the earlier version must not write to it meanwhile.
UPDATE rollup_state SET built = false WHERE EXISTS (SELECT 1 FROM report_cells WHERE dim = 'account');
