package httpapi

import (
	"net/http"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

func (s *Server) createIdentity(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	var in wire.CreateIdentityRequest
	if err := s.decode(w, r, &in, true); err != nil {
		return err
	}
	if in.ExpiresInMinutes != nil && len(in.CreateTokenWithScopes) == 0 {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "expiresInMinutes needs createTokenWithScopes").WithTarget("expiresInMinutes")
	}
	ident, tok, err := s.svc.CreateIdentity(r.Context(), service.NewIdentity{DisplayName: in.DisplayName,
		Scopes: scopes(in.CreateTokenWithScopes), Lifetime: minutes(in.ExpiresInMinutes)})
	if err != nil {
		return err
	}
	out := wire.CreateIdentityResponse{Identity: wire.CommunicationUser{ID: string(ident.ID)}, DisplayName: ident.DisplayName}
	if tok != nil {
		out.AccessToken = accessToken(tok.Signed, tok.Token)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) getIdentity(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	ident, err := s.svc.GetIdentity(r.Context(), herald.UserID(r.PathValue("userId")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Identity{ID: string(ident.ID), DisplayName: ident.DisplayName, CreatedOn: ident.CreatedAt,
		DeletedOn: wire.Opt(ident.DeletedAt), LastTokenIssuedAt: wire.Opt(ident.LastTokenIssuedAt)})
	return nil
}

func (s *Server) deleteIdentity(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	if err := s.svc.DeleteIdentity(r.Context(), herald.UserID(r.PathValue("userId"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	var in wire.IssueTokenRequest
	if err := s.decode(w, r, &in, false); err != nil {
		return err
	}
	tok, err := s.svc.IssueToken(r.Context(), herald.UserID(r.PathValue("userId")), scopes(in.Scopes), minutes(in.ExpiresInMinutes))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, accessToken(tok.Signed, tok.Token))
	return nil
}

func (s *Server) revokeTokens(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	if err := s.svc.RevokeTokens(r.Context(), herald.UserID(r.PathValue("userId"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	toks, err := s.svc.ListTokens(r.Context(), herald.UserID(r.PathValue("userId")))
	if err != nil {
		return err
	}
	out := wire.TokenList{Value: make([]wire.TokenInfo, len(toks))}
	for i, t := range toks {
		out.Value[i] = wire.TokenInfo{ID: string(t.ID), Scopes: strs(t.Scopes), IssuedOn: t.IssuedAt,
			ExpiresOn: t.ExpiresAt, RevokedOn: wire.Opt(t.RevokedAt)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func accessToken(signed string, t herald.Token) *wire.AccessToken {
	return &wire.AccessToken{Token: signed, ExpiresOn: t.ExpiresAt, ID: string(t.ID)}
}

func scopes(in []string) []herald.Scope {
	out := make([]herald.Scope, len(in))
	for i, s := range in {
		out[i] = herald.Scope(s)
	}
	return out
}

func strs[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// minutes converts an optional expiresInMinutes; 0 means the default.
// Negative or absurd values become a lifetime the service refuses.
func minutes(m *int) time.Duration {
	if m == nil {
		return 0
	}
	if *m <= 0 || *m > 1<<20 {
		return -1
	}
	return time.Duration(*m) * time.Minute
}

// listIdentities answers GET /identities?name=&maxPageSize= (admin key; a
// Herald addition): the directory of named identities.
func (s *Server) listIdentities(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	return s.writeDirectory(w, r)
}

// writeDirectory writes the identities whose name starts with ?name=.
func (s *Server) writeDirectory(w http.ResponseWriter, r *http.Request) error {
	q := query{r: r}
	limit := q.int("maxPageSize")
	if q.err != nil {
		return q.err
	}
	is, err := s.svc.Directory(r.Context(), r.URL.Query().Get("name"), limit)
	if err != nil {
		return err
	}
	out := wire.IdentityList{Value: make([]wire.Identity, len(is))}
	for i, ident := range is {
		out.Value[i] = wire.Identity{ID: string(ident.ID), DisplayName: ident.DisplayName, CreatedOn: ident.CreatedAt,
			LastTokenIssuedAt: wire.Opt(ident.LastTokenIssuedAt)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
