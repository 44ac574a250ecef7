-- E11: the reports read rollup cells (migration 11), not the fact rows by team, so three of the
-- facts' indexes serve no query any more: the ticket facts by intake team and the escalation
-- facts by the team they left and the team they went to. The facts are still read by ticket,
-- by escalation, by account and by creation time (rebuilding the cells), whose indexes stay.
-- Every fact row written changed a page of each of them: an escalation's fact row wrote three
-- indexes besides its table, now one.
DROP INDEX IF EXISTS ticket_facts_intake_team;
DROP INDEX IF EXISTS escalation_facts_from_team;
DROP INDEX IF EXISTS escalation_facts_to_team;
