-- Identities may carry a display name (a Herald extension to ACS's
-- identity): given at creation, it is the default display name of the
-- user's participations and what the development sign-in shows.

-- +goose Up
ALTER TABLE identities ADD COLUMN display_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE identities DROP COLUMN display_name;
