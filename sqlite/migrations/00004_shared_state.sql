-- State every node of a deployment shares, so nothing is copied between
-- nodes by hand: the token signing keys (generation 1 is created by the
-- first node to start; a rotation adds the next), the admin key's hash,
-- and the single-use real-time tickets (by the hash of their secret).

-- +goose Up
CREATE TABLE signing_keys (
    generation INTEGER NOT NULL PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    seed       BLOB    NOT NULL,
    created_at INTEGER NOT NULL DEFAULT 0,
    rotated_at INTEGER NOT NULL DEFAULT 0,
    retires_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE admin_keys (
    singleton  INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    hash       TEXT    NOT NULL,
    created_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE tickets (
    id         TEXT    NOT NULL PRIMARY KEY,
    token_id   TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    created_at INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL DEFAULT 0
) STRICT;

-- CreateTicket removes the expired ones.
CREATE INDEX tickets_expiry ON tickets (expires_at);

-- +goose Down
DROP TABLE tickets;
DROP TABLE admin_keys;
DROP TABLE signing_keys;
