-- Webhook subscriptions and their outbox. A delivery row is written by the
-- transaction that commits its thread event; nodes claim due rows with a
-- lease, POST them, and log every attempt.

-- +goose Up
CREATE TABLE webhooks (
    id           TEXT    NOT NULL PRIMARY KEY,
    url          TEXT    NOT NULL,
    schema       TEXT    NOT NULL,
    event_types  TEXT,
    secret       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL DEFAULT 0,
    validated_at INTEGER NOT NULL DEFAULT 0,
    deleted_at   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id   TEXT    NOT NULL,
    thread_id    TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    events       TEXT    NOT NULL,
    recipients   TEXT,
    created_at   INTEGER NOT NULL DEFAULT 0,
    state        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL DEFAULT 0,
    leased_until INTEGER NOT NULL DEFAULT 0,
    last_status  INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    delivered_at INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The dispatcher's claim: pending rows by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
-- The doctor's question: the deliveries of one thread event.
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (thread_id, seq);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    node        TEXT    NOT NULL DEFAULT '',
    status      INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    duration_us INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
