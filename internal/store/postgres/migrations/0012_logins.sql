-- E8: console sign-in (store.Logins). Hashes only: a password's argon2id PHC string, a
-- session token's SHA-256.
CREATE TABLE credentials (
    user_id    TEXT NOT NULL PRIMARY KEY,
    hash       TEXT NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE sessions (
    id_hash    TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
