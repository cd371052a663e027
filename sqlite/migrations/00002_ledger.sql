-- The real-time evidence (herald.Ledger): the connection log and the
-- per-recipient delivery ledger. Same conventions as 00001: times are INTEGER
-- unix milliseconds (0 = unset), lists are JSON TEXT (NULL = empty).
--
-- No foreign keys: a refused attempt may have no user, and a ledger write
-- must never be refused because the row it names is missing or gone.

-- +goose Up
CREATE TABLE connections (
    id               TEXT    NOT NULL PRIMARY KEY,
    user_id          TEXT    NOT NULL DEFAULT '',
    token_id         TEXT    NOT NULL DEFAULT '',
    transport        TEXT    NOT NULL DEFAULT '',
    remote           TEXT    NOT NULL DEFAULT '',
    origin           TEXT    NOT NULL DEFAULT '',
    user_agent       TEXT    NOT NULL DEFAULT '',
    -- The reason the attempt was refused; '' for an opened connection.
    refused          TEXT    NOT NULL DEFAULT '',
    opened_at        INTEGER NOT NULL DEFAULT 0,
    closed_at        INTEGER NOT NULL DEFAULT 0,
    close_code       INTEGER NOT NULL DEFAULT 0,
    close_reason     TEXT    NOT NULL DEFAULT '',
    closed_by        TEXT    NOT NULL DEFAULT '',
    -- The event types the client declared it handles, a JSON array.
    handles          TEXT,
    heartbeat_misses INTEGER NOT NULL DEFAULT 0,
    node             TEXT    NOT NULL DEFAULT ''
) STRICT;

-- ListConnections, newest first, of one user or of everyone; id breaks ties
-- so the index gives the whole order.
CREATE INDEX connections_user ON connections (user_id, opened_at, id);
CREATE INDEX connections_opened_at ON connections (opened_at, id);

-- Runs of consecutive events of a thread pushed to a connection; a run grows
-- in place (to_seq, last_at) as pushes continue.
CREATE TABLE deliveries (
    connection_id TEXT    NOT NULL,
    thread_id     TEXT    NOT NULL,
    from_seq      INTEGER NOT NULL,
    user_id       TEXT    NOT NULL DEFAULT '',
    transport     TEXT    NOT NULL DEFAULT '',
    to_seq        INTEGER NOT NULL,
    first_at      INTEGER NOT NULL DEFAULT 0,
    last_at       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, thread_id, from_seq)
) STRICT, WITHOUT ROWID;

-- ListDeliveries: the runs of a user in a thread.
CREATE INDEX deliveries_user ON deliveries (user_id, thread_id, from_seq);

-- Acknowledgements, appended; id keeps the order of equal times.
CREATE TABLE acks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       TEXT    NOT NULL DEFAULT '',
    thread_id     TEXT    NOT NULL DEFAULT '',
    connection_id TEXT    NOT NULL DEFAULT '',
    seq           INTEGER NOT NULL DEFAULT 0,
    at            INTEGER NOT NULL DEFAULT 0
) STRICT;

-- ListAcks: the acks of a user in a thread that reach a Seq.
CREATE INDEX acks_user ON acks (user_id, thread_id, seq);

-- +goose Down
DROP TABLE acks;
DROP TABLE deliveries;
DROP TABLE connections;
