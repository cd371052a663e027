package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/herald-chat/herald"
)

// TicketLifetime is how long a real-time ticket may wait to be used.
const TicketLifetime = 60 * time.Second

// CreateTicket issues a single-use ticket standing for the caller's token,
// for a browser that cannot send an Authorization header on a WebSocket or
// EventSource. It is kept in the store (as the hash of its secret), so the
// connection may open on any node. It expires after TicketLifetime, or
// with the token if that comes first.
func (s *Service) CreateTicket(ctx context.Context, c Caller) (secret string, expires time.Time, err error) {
	var raw [24]byte
	rand.Read(raw[:])
	secret = "tk_" + base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.clock.Now()
	expires = now.Add(TicketLifetime)
	if c.Token.ExpiresAt.Before(expires) {
		expires = c.Token.ExpiresAt
	}
	t := herald.Ticket{ID: ticketID(secret), TokenID: c.Token.ID, UserID: c.User, CreatedAt: now, ExpiresAt: expires}
	if err := s.store.Update(ctx, func(tx herald.Tx) error { return tx.CreateTicket(ctx, t) }); err != nil {
		return "", time.Time{}, internal("create ticket", err)
	}
	return secret, expires, nil
}

// RedeemTicket takes the ticket — once, whichever node asks — and returns
// the token it stands for, checked as a bearer token is: not expired, not
// revoked, its identity not deleted. An unknown, used or expired ticket is
// 401 ticket_invalid; the returned token then names the user when the
// ticket did, for the connection log.
func (s *Service) RedeemTicket(ctx context.Context, secret string) (herald.Token, error) {
	var t herald.Ticket
	err := s.store.Update(ctx, func(tx herald.Tx) error {
		var err error
		t, err = tx.TakeTicket(ctx, ticketID(secret))
		return err
	})
	invalid := herald.Errorf(herald.CodeUnauthorized, herald.ReasonTicketInvalid,
		"the ticket is unknown, used or expired; get a new one from POST /realtime/tickets")
	if herald.IsNotFound(err) {
		return herald.Token{}, invalid
	}
	if err != nil {
		return herald.Token{}, internal("redeem ticket", err)
	}
	named := herald.Token{ID: t.TokenID, UserID: t.UserID}
	if !s.clock.Now().Before(t.ExpiresAt) {
		return named, invalid
	}
	tok, err := s.store.GetToken(ctx, t.TokenID)
	if err != nil {
		return named, internal("redeem ticket: token", err)
	}
	if now := s.clock.Now(); !now.Before(tok.ExpiresAt) {
		return named, herald.Errorf(herald.CodeUnauthorized, herald.ReasonTokenExpired,
			"the access token the ticket stands for expired at %s", stamp(tok.ExpiresAt))
	}
	if err := s.Recheck(ctx, tok); err != nil {
		return named, err
	}
	return tok, nil
}

// ticketID is what the store keeps of a ticket: the hash of its secret.
func ticketID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
