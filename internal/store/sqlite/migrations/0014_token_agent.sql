-- E9: a token of role agent acts for one agent of the policy, whose teams decide what it sees
-- ('' for tokens of other roles, and for agent tokens made before this column).
ALTER TABLE tokens ADD COLUMN agent TEXT NOT NULL DEFAULT '';
