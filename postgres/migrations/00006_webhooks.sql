-- Webhook subscriptions and their outbox. A delivery row is written by the
-- transaction that commits its thread event; nodes claim due rows with a
-- lease, POST them, and log every attempt.

-- +goose Up
CREATE TABLE webhooks (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    url          TEXT    NOT NULL,
    schema       TEXT    NOT NULL,
    event_types  JSONB,
    secret       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL DEFAULT 0,
    validated_at BIGINT  NOT NULL DEFAULT 0,
    deleted_at   BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE webhook_deliveries (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id   TEXT COLLATE "C" NOT NULL,
    thread_id    TEXT COLLATE "C" NOT NULL,
    seq          BIGINT  NOT NULL,
    events       TEXT    NOT NULL,
    recipients   JSONB,
    created_at   BIGINT  NOT NULL DEFAULT 0,
    state        TEXT    NOT NULL,
    attempts     BIGINT  NOT NULL DEFAULT 0,
    next_at      BIGINT  NOT NULL DEFAULT 0,
    leased_until BIGINT  NOT NULL DEFAULT 0,
    last_status  BIGINT  NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    delivered_at BIGINT  NOT NULL DEFAULT 0
);

-- The dispatcher's claim: pending rows by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
-- The doctor's question: the deliveries of one thread event.
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (thread_id, seq);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

CREATE TABLE webhook_attempts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id BIGINT  NOT NULL,
    at          BIGINT  NOT NULL,
    node        TEXT    NOT NULL DEFAULT '',
    status      BIGINT  NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    duration_us BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
