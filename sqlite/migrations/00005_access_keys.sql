-- The deployment's ACS-style access keys: requests signed with one
-- (HMAC-SHA256, as the ACS SDKs sign with a connection string) act as the
-- admin. Kept whole: verifying a signature needs the key.

-- +goose Up
CREATE TABLE access_keys (
    name       TEXT NOT NULL PRIMARY KEY,
    secret     BLOB NOT NULL,
    created_at INTEGER NOT NULL DEFAULT 0
) STRICT;

-- +goose Down
DROP TABLE access_keys;
