-- Herald's schema, the same tables, columns and keys as the sqlite engine's
-- 00001. Times are BIGINT unix milliseconds (0 = unset), maps and lists are
-- JSONB (NULL = empty), events.data is TEXT kept verbatim, durations are
-- microseconds. Identifier columns use the "C" collation so that ORDER BY
-- and tie-breaks compare bytes, as SQLite does, whatever the database's
-- default collation.

-- +goose Up
CREATE TABLE identities (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    created_at    BIGINT NOT NULL DEFAULT 0,
    deleted_at    BIGINT NOT NULL DEFAULT 0,
    last_token_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE tokens (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES identities (id),
    scopes     JSONB,
    issued_at  BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL DEFAULT 0,
    revoked_at BIGINT NOT NULL DEFAULT 0
);

-- ListTokens (newest first) and RevokeTokens.
CREATE INDEX tokens_user ON tokens (user_id, issued_at);

CREATE TABLE threads (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    topic           TEXT   NOT NULL DEFAULT '',
    metadata        JSONB,
    created_by      TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL DEFAULT 0,
    updated_at      BIGINT NOT NULL DEFAULT 0,
    deleted_at      BIGINT NOT NULL DEFAULT 0,
    deleted_by      TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- NextSeq increments it under the row lock: the per-thread Seq.
    last_seq        BIGINT NOT NULL DEFAULT 0,
    last_message_at BIGINT NOT NULL DEFAULT 0,
    -- The creator's repeatability id and the hash of the creating request.
    request_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    request_hash    TEXT   NOT NULL DEFAULT ''
);

-- GetThreadByRequest; one thread per (creator, repeatability id).
CREATE UNIQUE INDEX threads_request ON threads (created_by, request_id)
    WHERE request_id <> '';

-- Current and past memberships; removed_seq = 0 while current.
CREATE TABLE participants (
    thread_id          TEXT COLLATE "C" NOT NULL REFERENCES threads (id),
    user_id            TEXT COLLATE "C" NOT NULL,
    display_name       TEXT   NOT NULL DEFAULT '',
    metadata           JSONB,
    share_history_time BIGINT NOT NULL DEFAULT 0,
    added_at           BIGINT NOT NULL DEFAULT 0,
    added_by           TEXT COLLATE "C" NOT NULL DEFAULT '',
    added_seq          BIGINT NOT NULL DEFAULT 0,
    removed_at         BIGINT NOT NULL DEFAULT 0,
    removed_by         TEXT COLLATE "C" NOT NULL DEFAULT '',
    removed_seq        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, user_id)
);

-- ListThreads: the threads of a user.
CREATE INDEX participants_user ON participants (user_id, thread_id);
-- ListParticipants and CountParticipants: current members in added order.
CREATE INDEX participants_current ON participants (thread_id, added_seq, user_id)
    WHERE removed_seq = 0;

CREATE TABLE messages (
    id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    thread_id           TEXT COLLATE "C" NOT NULL REFERENCES threads (id),
    seq                 BIGINT NOT NULL,
    type                TEXT   NOT NULL DEFAULT '',
    sender_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    sender_display_name TEXT   NOT NULL DEFAULT '',
    content             TEXT   NOT NULL DEFAULT '',
    metadata            JSONB,
    topic               TEXT   NOT NULL DEFAULT '',
    participants        JSONB,
    created_at          BIGINT NOT NULL DEFAULT 0,
    edited_at           BIGINT NOT NULL DEFAULT 0,
    deleted_at          BIGINT NOT NULL DEFAULT 0,
    version             BIGINT NOT NULL DEFAULT 0,
    client_message_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    body_hash           TEXT   NOT NULL DEFAULT ''
);

-- ListMessages walks a thread's messages by seq.
CREATE UNIQUE INDEX messages_seq ON messages (thread_id, seq);
-- GetMessageByClientID; the sender's idempotency key is unique per thread.
CREATE UNIQUE INDEX messages_client_id ON messages (thread_id, sender_id, client_message_id)
    WHERE client_message_id <> '';

-- The sequenced history; the primary key serves ListEvents.
CREATE TABLE events (
    thread_id  TEXT COLLATE "C" NOT NULL REFERENCES threads (id),
    seq        BIGINT NOT NULL,
    type       TEXT   NOT NULL,
    message_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    actor      TEXT COLLATE "C" NOT NULL DEFAULT '',
    at         BIGINT NOT NULL DEFAULT 0,
    users      JSONB,
    -- Type-specific details, JSON kept byte for byte as written.
    data       TEXT,
    PRIMARY KEY (thread_id, seq)
);

CREATE TABLE read_receipts (
    thread_id  TEXT COLLATE "C" NOT NULL REFERENCES threads (id),
    user_id    TEXT COLLATE "C" NOT NULL,
    message_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    read_at    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, user_id)
);

-- ListReadReceipts: newest first.
CREATE INDEX read_receipts_read_at ON read_receipts (thread_id, read_at DESC, user_id);

-- The request log. No foreign keys: a 404 is logged with the id asked for.
CREATE TABLE requests (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT  NOT NULL DEFAULT 0,
    request_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    caller      TEXT COLLATE "C" NOT NULL DEFAULT '',
    token_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    operation   TEXT    NOT NULL DEFAULT '',
    thread_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    message_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    status      INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL DEFAULT '',
    duration_us BIGINT  NOT NULL DEFAULT 0
);

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
