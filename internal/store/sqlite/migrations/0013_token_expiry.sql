-- E9: tokens that expire (NULL: never).
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
