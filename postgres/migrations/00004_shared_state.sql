-- State every node of a deployment shares, so nothing is copied between
-- nodes by hand: the token signing keys (generation 1 is created by the
-- first node to start; a rotation adds the next), the admin key's hash,
-- the single-use real-time tickets (by the hash of their secret), and the
-- per-user write rate limit.
--
-- rate_limits is UNLOGGED: it is written on every write request, and
-- losing it in a crash only gives every user a full burst again, so it
-- skips the WAL (and is not copied to standbys).

-- +goose Up
CREATE TABLE signing_keys (
    generation INTEGER NOT NULL PRIMARY KEY,
    id         TEXT COLLATE "C" NOT NULL UNIQUE,
    seed       BYTEA  NOT NULL,
    created_at BIGINT NOT NULL DEFAULT 0,
    rotated_at BIGINT NOT NULL DEFAULT 0,
    retires_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE admin_keys (
    singleton  INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    hash       TEXT   NOT NULL,
    created_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE tickets (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    token_id   TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL DEFAULT 0
);

-- CreateTicket removes the expired ones.
CREATE INDEX tickets_expiry ON tickets (expires_at);

-- The theoretical arrival time (GCRA), unix microseconds, of each key.
CREATE UNLOGGED TABLE rate_limits (
    key TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tat BIGINT NOT NULL
);

-- +goose Down
DROP TABLE rate_limits;
DROP TABLE tickets;
DROP TABLE admin_keys;
DROP TABLE signing_keys;
