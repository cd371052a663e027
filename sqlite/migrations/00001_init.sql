-- Herald's schema. Times are INTEGER unix milliseconds (0 = unset), lists
-- and maps are JSON TEXT (NULL = empty), durations are microseconds.

-- +goose Up
CREATE TABLE identities (
    id            TEXT    NOT NULL PRIMARY KEY,
    created_at    INTEGER NOT NULL DEFAULT 0,
    deleted_at    INTEGER NOT NULL DEFAULT 0,
    last_token_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES identities (id),
    scopes     TEXT,
    issued_at  INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER NOT NULL DEFAULT 0
) STRICT;

-- ListTokens (newest first) and RevokeTokens.
CREATE INDEX tokens_user ON tokens (user_id, issued_at);

CREATE TABLE threads (
    id              TEXT    NOT NULL PRIMARY KEY,
    topic           TEXT    NOT NULL DEFAULT '',
    metadata        TEXT,
    created_by      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL DEFAULT 0,
    deleted_at      INTEGER NOT NULL DEFAULT 0,
    deleted_by      TEXT    NOT NULL DEFAULT '',
    last_seq        INTEGER NOT NULL DEFAULT 0,
    last_message_at INTEGER NOT NULL DEFAULT 0,
    -- The creator's repeatability id and the hash of the creating request.
    request_id      TEXT    NOT NULL DEFAULT '',
    request_hash    TEXT    NOT NULL DEFAULT ''
) STRICT;

-- GetThreadByRequest; one thread per (creator, repeatability id).
CREATE UNIQUE INDEX threads_request ON threads (created_by, request_id)
    WHERE request_id <> '';

-- Current and past memberships; removed_seq = 0 while current.
CREATE TABLE participants (
    thread_id          TEXT    NOT NULL REFERENCES threads (id),
    user_id            TEXT    NOT NULL,
    display_name       TEXT    NOT NULL DEFAULT '',
    metadata           TEXT,
    share_history_time INTEGER NOT NULL DEFAULT 0,
    added_at           INTEGER NOT NULL DEFAULT 0,
    added_by           TEXT    NOT NULL DEFAULT '',
    added_seq          INTEGER NOT NULL DEFAULT 0,
    removed_at         INTEGER NOT NULL DEFAULT 0,
    removed_by         TEXT    NOT NULL DEFAULT '',
    removed_seq        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, user_id)
) STRICT, WITHOUT ROWID;

-- ListThreads: the threads of a user.
CREATE INDEX participants_user ON participants (user_id, thread_id);
-- ListParticipants and CountParticipants: current members in added order.
CREATE INDEX participants_current ON participants (thread_id, added_seq, user_id)
    WHERE removed_seq = 0;

CREATE TABLE messages (
    id                  TEXT    NOT NULL PRIMARY KEY,
    thread_id           TEXT    NOT NULL REFERENCES threads (id),
    seq                 INTEGER NOT NULL,
    type                TEXT    NOT NULL DEFAULT '',
    sender_id           TEXT    NOT NULL DEFAULT '',
    sender_display_name TEXT    NOT NULL DEFAULT '',
    content             TEXT    NOT NULL DEFAULT '',
    metadata            TEXT,
    topic               TEXT    NOT NULL DEFAULT '',
    participants        TEXT,
    created_at          INTEGER NOT NULL DEFAULT 0,
    edited_at           INTEGER NOT NULL DEFAULT 0,
    deleted_at          INTEGER NOT NULL DEFAULT 0,
    version             INTEGER NOT NULL DEFAULT 0,
    client_message_id   TEXT    NOT NULL DEFAULT '',
    body_hash           TEXT    NOT NULL DEFAULT ''
) STRICT;

-- ListMessages walks a thread's messages by seq.
CREATE UNIQUE INDEX messages_seq ON messages (thread_id, seq);
-- GetMessageByClientID; the sender's idempotency key is unique per thread.
CREATE UNIQUE INDEX messages_client_id ON messages (thread_id, sender_id, client_message_id)
    WHERE client_message_id <> '';

-- The sequenced history; the primary key serves ListEvents.
CREATE TABLE events (
    thread_id  TEXT    NOT NULL REFERENCES threads (id),
    seq        INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    message_id TEXT    NOT NULL DEFAULT '',
    actor      TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL DEFAULT 0,
    users      TEXT,
    data       TEXT,
    PRIMARY KEY (thread_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE read_receipts (
    thread_id  TEXT    NOT NULL REFERENCES threads (id),
    user_id    TEXT    NOT NULL,
    message_id TEXT    NOT NULL DEFAULT '',
    read_at    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, user_id)
) STRICT, WITHOUT ROWID;

-- ListReadReceipts: newest first.
CREATE INDEX read_receipts_read_at ON read_receipts (thread_id, read_at DESC, user_id);

-- The request log. No foreign keys: a 404 is logged with the id asked for.
CREATE TABLE requests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL DEFAULT 0,
    request_id  TEXT    NOT NULL DEFAULT '',
    caller      TEXT    NOT NULL DEFAULT '',
    token_id    TEXT    NOT NULL DEFAULT '',
    operation   TEXT    NOT NULL DEFAULT '',
    thread_id   TEXT    NOT NULL DEFAULT '',
    message_id  TEXT    NOT NULL DEFAULT '',
    status      INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL DEFAULT '',
    duration_us INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX requests_caller ON requests (caller, at);
CREATE INDEX requests_thread ON requests (thread_id, at);

-- +goose Down
DROP TABLE requests;
DROP TABLE read_receipts;
DROP TABLE events;
DROP TABLE messages;
DROP TABLE participants;
DROP TABLE threads;
DROP TABLE tokens;
DROP TABLE identities;
