-- The deployment's ACS-style access keys: requests signed with one
-- (HMAC-SHA256, as the ACS SDKs sign with a connection string) act as the
-- admin. Kept whole: verifying a signature needs the key.

-- +goose Up
CREATE TABLE access_keys (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    secret     BYTEA NOT NULL,
    created_at BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE access_keys;
