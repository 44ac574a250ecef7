-- E11: as SQLite's migration 17. The reports read rollup cells, not the fact rows by team, so
-- the facts' indexes by intake team, by the team an escalation left and by the team it went to
-- serve no query; each fact row written no longer updates them.
DROP INDEX IF EXISTS ticket_facts_intake_team;
DROP INDEX IF EXISTS escalation_facts_from_team;
DROP INDEX IF EXISTS escalation_facts_to_team;
