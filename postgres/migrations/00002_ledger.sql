-- The real-time evidence (herald.Ledger): the connection log and the
-- per-recipient delivery ledger, as in the sqlite engine's 00002. Same
-- conventions as 00001: times are BIGINT unix milliseconds (0 = unset),
-- lists are JSONB (NULL = empty), identifiers collate as bytes ("C").
--
-- No foreign keys: a refused attempt may have no user, and a ledger write
-- must never be refused because the row it names is missing or gone.

-- +goose Up
CREATE TABLE connections (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    token_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    transport        TEXT    NOT NULL DEFAULT '',
    remote           TEXT    NOT NULL DEFAULT '',
    origin           TEXT    NOT NULL DEFAULT '',
    user_agent       TEXT    NOT NULL DEFAULT '',
    -- The reason the attempt was refused; '' for an opened connection.
    refused          TEXT    NOT NULL DEFAULT '',
    opened_at        BIGINT  NOT NULL DEFAULT 0,
    closed_at        BIGINT  NOT NULL DEFAULT 0,
    close_code       INTEGER NOT NULL DEFAULT 0,
    close_reason     TEXT    NOT NULL DEFAULT '',
    closed_by        TEXT    NOT NULL DEFAULT '',
    -- The event types the client declared it handles, a JSON array.
    handles          JSONB,
    heartbeat_misses INTEGER NOT NULL DEFAULT 0,
    node             TEXT    NOT NULL DEFAULT ''
);

-- ListConnections, newest first, of one user or of everyone; id breaks ties
-- so the index gives the whole order.
CREATE INDEX connections_user ON connections (user_id, opened_at, id);
CREATE INDEX connections_opened_at ON connections (opened_at, id);

-- Runs of consecutive events of a thread pushed to a connection; a run grows
-- in place (to_seq, last_at) as pushes continue.
CREATE TABLE deliveries (
    connection_id TEXT COLLATE "C" NOT NULL,
    thread_id     TEXT COLLATE "C" NOT NULL,
    from_seq      BIGINT NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    transport     TEXT   NOT NULL DEFAULT '',
    to_seq        BIGINT NOT NULL,
    first_at      BIGINT NOT NULL DEFAULT 0,
    last_at       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, thread_id, from_seq)
);

-- ListDeliveries: the runs of a user in a thread.
CREATE INDEX deliveries_user ON deliveries (user_id, thread_id, from_seq);

-- Acknowledgements, appended; id keeps the order of equal times.
CREATE TABLE acks (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    thread_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    connection_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    seq           BIGINT NOT NULL DEFAULT 0,
    at            BIGINT NOT NULL DEFAULT 0
);

-- ListAcks: the acks of a user in a thread that reach a Seq.
CREATE INDEX acks_user ON acks (user_id, thread_id, seq);

-- +goose Down
DROP TABLE acks;
DROP TABLE deliveries;
DROP TABLE connections;
