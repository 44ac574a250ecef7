-- A ticket's customer tier in the analytics rows follows its account's tier (SetAccountTier):
-- finding an account's rows must not scan every ticket row.
CREATE INDEX ticket_facts_account ON ticket_facts (account_id);
