package service

import (
	"context"
	"time"

	"github.com/herald-chat/herald"
)

// IssuedToken is a freshly signed token: the string is shown once, the
// Token is what the issue log keeps.
type IssuedToken struct {
	Token  herald.Token
	Signed string
}

// NewIdentity is an identity to create.
type NewIdentity struct {
	// DisplayName is optional: the default display name of the user's
	// participations.
	DisplayName string
	// Scopes, if given, issue a first token in the same transaction, with
	// Lifetime (0: the default).
	Scopes   []herald.Scope
	Lifetime time.Duration
}

// CreateIdentity makes a new identity and, if scopes are given, a token for
// it in the same transaction.
func (s *Service) CreateIdentity(ctx context.Context, in NewIdentity) (herald.Identity, *IssuedToken, error) {
	scopes, lifetime := in.Scopes, in.Lifetime
	if err := s.checkName("displayName", in.DisplayName); err != nil {
		return herald.Identity{}, nil, err
	}
	if len(scopes) > 0 {
		if err := checkToken(scopes, &lifetime, s.limits.minTokenLifetime()); err != nil {
			return herald.Identity{}, nil, err
		}
	}
	now := s.clock.Now()
	id := herald.Identity{ID: herald.UserID(s.ids.New(herald.PrefixUser)), DisplayName: in.DisplayName, CreatedAt: now}
	var issued *IssuedToken
	err := s.store.Update(ctx, func(tx herald.Tx) error {
		if err := tx.CreateIdentity(ctx, id); err != nil {
			return internal("create identity", err)
		}
		if len(scopes) == 0 {
			return nil
		}
		it, err := s.issue(ctx, tx, id.ID, scopes, lifetime, now)
		issued = it
		return err
	})
	if err != nil {
		return herald.Identity{}, nil, err
	}
	if issued != nil {
		id.LastTokenIssuedAt = issued.Token.IssuedAt
	}
	return id, issued, nil
}

// NamedIdentity returns the identity id with a new token of scopes,
// creating the identity first if it never existed: for the development
// sign-in, where a name maps to one id (httpapi's devLogin), so that
// signing in again with the same name is the same user. A deleted
// identity stays deleted (409 identity_deleted).
func (s *Service) NamedIdentity(ctx context.Context, id herald.UserID, name string, scopes []herald.Scope, lifetime time.Duration) (herald.Identity, *IssuedToken, error) {
	if err := s.checkName("name", name); err != nil {
		return herald.Identity{}, nil, err
	}
	if err := checkToken(scopes, &lifetime, s.limits.minTokenLifetime()); err != nil {
		return herald.Identity{}, nil, err
	}
	now := s.clock.Now()
	var ident herald.Identity
	var issued *IssuedToken
	err := s.store.Update(ctx, func(tx herald.Tx) error {
		var err error
		ident, err = liveIdentity(ctx, tx, id)
		if herald.ErrorReason(err) == herald.ReasonIdentityNotFound {
			ident = herald.Identity{ID: id, DisplayName: name, CreatedAt: now}
			if err := tx.CreateIdentity(ctx, ident); err != nil {
				return internal("create identity", err)
			}
		} else if err != nil {
			return err
		}
		issued, err = s.issue(ctx, tx, id, scopes, lifetime, now)
		return err
	})
	if err != nil {
		return herald.Identity{}, nil, err
	}
	ident.LastTokenIssuedAt = issued.Token.IssuedAt
	return ident, issued, nil
}

// GetIdentity returns an identity, deleted or not.
func (s *Service) GetIdentity(ctx context.Context, id herald.UserID) (herald.Identity, error) {
	ident, err := s.store.GetIdentity(ctx, id)
	if herald.IsNotFound(err) {
		return herald.Identity{}, identityNotFound(id)
	}
	return ident, err
}

// DeleteIdentity marks the identity deleted and revokes all its tokens at
// once; the record stays as evidence. Live connections are closed.
func (s *Service) DeleteIdentity(ctx context.Context, id herald.UserID) error {
	now := s.clock.Now()
	return s.update(ctx, func(tx herald.Tx, b *batch) error {
		b.add(herald.Signal{Kind: herald.SignalCredential, User: id, At: now})
		ident, err := tx.GetIdentity(ctx, id)
		if herald.IsNotFound(err) {
			return identityNotFound(id)
		}
		if err != nil {
			return internal("delete identity", err)
		}
		if ident.Deleted() {
			return nil // deleting twice changes nothing
		}
		if err := tx.DeleteIdentity(ctx, id, now); err != nil {
			return internal("delete identity", err)
		}
		if _, err := tx.RevokeTokens(ctx, id, now); err != nil {
			return internal("delete identity", err)
		}
		return nil
	})
}

// IssueToken signs a new token for a live identity and logs it.
func (s *Service) IssueToken(ctx context.Context, id herald.UserID, scopes []herald.Scope, lifetime time.Duration) (*IssuedToken, error) {
	if err := checkToken(scopes, &lifetime, s.limits.minTokenLifetime()); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var issued *IssuedToken
	err := s.store.Update(ctx, func(tx herald.Tx) error {
		if _, err := liveIdentity(ctx, tx, id); err != nil {
			return err
		}
		it, err := s.issue(ctx, tx, id, scopes, lifetime, now)
		issued = it
		return err
	})
	return issued, err
}

// RevokeTokens revokes every token of the identity; the next request with
// any of them is refused with token_revoked.
func (s *Service) RevokeTokens(ctx context.Context, id herald.UserID) error {
	now := s.clock.Now()
	return s.update(ctx, func(tx herald.Tx, b *batch) error {
		b.add(herald.Signal{Kind: herald.SignalCredential, User: id, At: now})
		if _, err := tx.GetIdentity(ctx, id); herald.IsNotFound(err) {
			return identityNotFound(id)
		} else if err != nil {
			return internal("revoke tokens", err)
		}
		if _, err := tx.RevokeTokens(ctx, id, now); err != nil {
			return internal("revoke tokens", err)
		}
		return nil
	})
}

// ListTokens returns the identity's token issue log, newest first.
func (s *Service) ListTokens(ctx context.Context, id herald.UserID) ([]herald.Token, error) {
	if _, err := s.GetIdentity(ctx, id); err != nil {
		return nil, err
	}
	return s.store.ListTokens(ctx, id)
}

func (s *Service) issue(ctx context.Context, tx herald.Tx, id herald.UserID, scopes []herald.Scope, lifetime time.Duration, now time.Time) (*IssuedToken, error) {
	tok := herald.Token{
		ID:        herald.TokenID(s.ids.New(herald.PrefixToken)),
		UserID:    id,
		Scopes:    scopes,
		IssuedAt:  now,
		ExpiresAt: now.Add(lifetime),
	}
	signed, err := s.tokens.Sign(herald.Claims{TokenID: tok.ID, UserID: id, Scopes: scopes, IssuedAt: now, ExpiresAt: tok.ExpiresAt})
	if err != nil {
		return nil, err
	}
	if err := tx.CreateToken(ctx, tok); err != nil {
		return nil, internal("log token", err)
	}
	return &IssuedToken{Token: tok, Signed: signed}, nil
}

// checkToken validates scopes and a lifetime (0 becomes the default)
// against the shortest lifetime allowed.
func checkToken(scopes []herald.Scope, lifetime *time.Duration, minLifetime time.Duration) error {
	if len(scopes) == 0 {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidScope,
			"scopes must name at least one of chat, chat.join, chat.join.limited").WithTarget("scopes")
	}
	seen := map[herald.Scope]bool{}
	for _, sc := range scopes {
		if !sc.Valid() {
			return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidScope,
				"unknown scope %q: use chat, chat.join or chat.join.limited", sc).WithTarget("scopes")
		}
		if seen[sc] {
			return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidScope, "scope %q is listed twice", sc).WithTarget("scopes")
		}
		seen[sc] = true
	}
	if *lifetime == 0 {
		*lifetime = DefaultTokenLifetime
	}
	if *lifetime < minLifetime || *lifetime > MaxTokenLifetime {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidExpiry,
			"expiresInMinutes must be between %d and %d", int(minLifetime.Minutes()), int(MaxTokenLifetime.Minutes())).WithTarget("expiresInMinutes")
	}
	return nil
}

// liveIdentity returns the identity if it exists and is not deleted.
func liveIdentity(ctx context.Context, r herald.Reader, id herald.UserID) (herald.Identity, error) {
	ident, err := r.GetIdentity(ctx, id)
	if herald.IsNotFound(err) {
		return ident, identityNotFound(id)
	}
	if err != nil {
		return ident, internal("get identity", err)
	}
	if ident.Deleted() {
		return ident, herald.Errorf(herald.CodeConflict, herald.ReasonIdentityDeleted,
			"the identity %s was deleted at %s", id, stamp(ident.DeletedAt)).WithTarget(string(id))
	}
	return ident, nil
}

func identityNotFound(id herald.UserID) error {
	return herald.Errorf(herald.CodeNotFound, herald.ReasonIdentityNotFound, "no identity %s", id).WithTarget(string(id))
}
