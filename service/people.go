package service

import (
	"context"
	"unicode/utf8"

	"github.com/herald-chat/herald"
)

// Bounds of a people search.
const (
	maxPeopleQuery    = 64
	defaultPeopleSize = 20
	maxPeopleSize     = 50
)

// SearchPeople finds, by name prefix, the people the caller shares or
// shared a thread with: a people picker that shows names, and never anyone
// the caller has no thread with. limit 0 means 20; at most 50.
func (s *Service) SearchPeople(ctx context.Context, c Caller, prefix string, limit int) ([]herald.Person, error) {
	switch n := utf8.RuneCountInString(prefix); {
	case n == 0:
		return nil, herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField, "q is required: the start of a name").WithTarget("q")
	case n > maxPeopleQuery || !utf8.ValidString(prefix):
		return nil, herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "q must be valid text of at most %d characters", maxPeopleQuery).WithTarget("q")
	}
	limit, err := peoplePage(limit, "a people search")
	if err != nil {
		return nil, err
	}
	ps, err := s.store.SearchPeople(ctx, c.User, prefix, limit)
	if err != nil {
		return nil, internal("search people", err)
	}
	return ps, nil
}

// Directory lists, by name prefix ("" for all), the named identities that
// are not deleted: the admin's directory, and the development sign-in's
// list of who exists. limit 0 means 20; at most 50.
func (s *Service) Directory(ctx context.Context, prefix string, limit int) ([]herald.Identity, error) {
	if utf8.RuneCountInString(prefix) > maxPeopleQuery || !utf8.ValidString(prefix) {
		return nil, herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "name must be valid text of at most %d characters", maxPeopleQuery).WithTarget("name")
	}
	limit, err := peoplePage(limit, "the directory")
	if err != nil {
		return nil, err
	}
	is, err := s.store.ListIdentities(ctx, prefix, limit)
	if err != nil {
		return nil, internal("list identities", err)
	}
	return is, nil
}

// peoplePage checks the page size of a list of people (what names the list
// in the error): 0 is the default.
func peoplePage(limit int, what string) (int, error) {
	switch {
	case limit == 0:
		return defaultPeopleSize, nil
	case limit < 0 || limit > maxPeopleSize:
		return 0, herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidPageSize, "maxPageSize must be 1 to %d for %s", maxPeopleSize, what).WithTarget("maxPageSize")
	}
	return limit, nil
}
