package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/herald-chat/herald"
)

// Limits are the bounds on input, ACS's limits by default.
type Limits struct {
	MaxParticipants  int // per thread
	MaxAddBatch      int // per create or add request
	MaxContentBytes  int // message content
	MaxMetadataBytes int // thread, participant or message metadata, as JSON
	MaxTopicBytes    int
	MaxNameBytes     int // display names
	MaxPageSize      int
	DefaultPageSize  int
	// WriteRate is each user's sustained write rate per second (sends,
	// edits, thread and membership changes, receipts, typing); WriteBurst
	// the bucket size. 0 disables the limit.
	WriteRate  float64
	WriteBurst int
	// AuthFailureRate is how many failed authentications per second a
	// client address earns back (a wrong admin key, a token or ticket this
	// server did not issue); AuthFailureBurst how many it may make at once.
	// Past them the address is refused with 429 until it has earned one
	// back. 0 disables the limit.
	AuthFailureRate  float64
	AuthFailureBurst int
	// MinTokenLifetime, if not zero, replaces the shortest token lifetime
	// (MinTokenLifetime, 60 minutes). Development only: herald serve sets
	// it with --dev-min-token-lifetime, so that token expiry can be seen
	// end to end without waiting an hour. Whole minutes, at least one.
	MinTokenLifetime time.Duration
}

// minTokenLifetime is the shortest token lifetime in force.
func (l Limits) minTokenLifetime() time.Duration {
	if l.MinTokenLifetime > 0 {
		return l.MinTokenLifetime
	}
	return MinTokenLifetime
}

// DefaultLimits returns ACS's limits: 250 participants per thread, 200 per
// batch, 28 KiB of content, 1 KiB of metadata, pages of 1..200.
func DefaultLimits() Limits {
	return Limits{
		MaxParticipants:  250,
		MaxAddBatch:      200,
		MaxContentBytes:  28 * 1024,
		MaxMetadataBytes: 1024,
		MaxTopicBytes:    1024,
		MaxNameBytes:     256,
		MaxPageSize:      200,
		DefaultPageSize:  100,
		WriteRate:        100,
		WriteBurst:       200,
		AuthFailureRate:  1,
		AuthFailureBurst: 30,
	}
}

// Token lifetimes, as in ACS.
const (
	MinTokenLifetime     = 60 * time.Minute
	MaxTokenLifetime     = 1440 * time.Minute
	DefaultTokenLifetime = MaxTokenLifetime
)

// Service applies Herald's rules over a Store.
type Service struct {
	store  herald.Store
	tokens herald.Tokens
	clock  herald.Clock
	ids    herald.IDs
	limits Limits
	writes *limiter
	// failures counts failed authentications per client address.
	failures *failures
	broker   herald.Broker
	order    commitOrder // publishes the signals of transactions in commit order
	rosters  rosters     // each thread's members by roster version (roster.go)
	log      *slog.Logger
	obs      herald.Observer // never nil: NoObserver without WithObserver
	tracer   trace.Tracer    // nil without WithTracer: no spans, no cost
	outbox   herald.Outbox   // nil without WithOutbox: no webhooks

	publishFailures atomic.Int64 // signals the broker refused (see publish)
	// shared, if set, holds the write rate limit for the deployment.
	shared          herald.RateLimiter
	limiterFailures atomic.Int64 // shared limiter errors (writes let through)
}

// Option configures New.
type Option func(*Service)

// WithLogger sends the service's warnings (a signal the broker refused) to
// log; without it they are only counted.
func WithLogger(log *slog.Logger) Option {
	return func(s *Service) { s.log = log }
}

// WithOutbox writes webhook deliveries with every transaction's events.
func WithOutbox(o herald.Outbox) Option {
	return func(s *Service) { s.outbox = o }
}

// WithRateLimiter keeps the write rate limit in l, shared by every node
// (nil keeps it in this node's memory).
func WithRateLimiter(l herald.RateLimiter) Option {
	return func(s *Service) { s.shared = l }
}

// LimiterFailures returns how many times the shared rate limiter failed
// (and the write was let through) since New.
func (s *Service) LimiterFailures() int64 { return s.limiterFailures.Load() }

// WithObserver sends the service's measurements (the commit latency of
// sends) to o.
func WithObserver(o herald.Observer) Option {
	return func(s *Service) {
		if o != nil {
			s.obs = o
		}
	}
}

// WithTracer records a span for each transaction's commit and for the
// publish of its signals, children of the request's span, and gives the
// published events the traceparent that their socket writes continue
// (see herald.Signal.TraceParent). Without it nothing is recorded.
func WithTracer(tp trace.TracerProvider) Option {
	return func(s *Service) {
		if tp != nil {
			s.tracer = tp.Tracer(tracerName)
		}
	}
}

// tracerName is the instrumentation scope of the service's spans.
const tracerName = "github.com/herald-chat/herald/service"

// PublishFailures returns how many signals the broker refused since New.
func (s *Service) PublishFailures() int64 { return s.publishFailures.Load() }

// New returns a Service. Every dependency is required; broker receives
// the signal of every committed change.
func New(store herald.Store, tokens herald.Tokens, broker herald.Broker, clock herald.Clock, ids herald.IDs, limits Limits, opts ...Option) (*Service, error) {
	if store == nil || tokens == nil || broker == nil || clock == nil || ids == nil {
		return nil, errors.New("service.New: store, tokens, broker, clock and ids are required")
	}
	if limits.MaxPageSize <= 0 || limits.DefaultPageSize <= 0 || limits.DefaultPageSize > limits.MaxPageSize {
		return nil, fmt.Errorf("service.New: bad page sizes %d/%d", limits.DefaultPageSize, limits.MaxPageSize)
	}
	s := &Service{store: store, tokens: tokens, clock: clock, ids: ids, limits: limits,
		writes: newLimiter(limits.WriteRate, limits.WriteBurst), failures: newFailures(limits.AuthFailureRate, limits.AuthFailureBurst),
		broker: broker, log: slog.New(slog.DiscardHandler), obs: herald.NoObserver{}}
	for _, opt := range opts {
		opt(s)
	}
	return s, nil
}

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return s.limits }

// Caller is an authenticated user: who, and with which token.
type Caller struct {
	User  herald.UserID
	Token herald.Token
}

// Authenticate verifies an access token and checks, on every request, that
// it was not revoked and that its identity still exists. Errors are 401s
// with reason token_missing, token_invalid, token_expired, token_revoked or
// identity_deleted; with the last three the returned Caller still names the
// user (for the request log), and must not be used to act.
func (s *Service) Authenticate(ctx context.Context, bearer string) (Caller, error) {
	if bearer == "" {
		return Caller{}, herald.Errorf(herald.CodeUnauthorized, herald.ReasonTokenMissing,
			"no access token: send Authorization: Bearer <token>")
	}
	claims, err := s.tokens.Verify(bearer)
	if err != nil {
		// An expired token's claims are still signed: name the caller so the
		// request log can attribute the 401 (evidence for the doctor).
		return Caller{User: claims.UserID, Token: herald.Token{ID: claims.TokenID, UserID: claims.UserID}}, err
	}
	id, err := s.store.GetIdentity(ctx, claims.UserID)
	if herald.IsNotFound(err) {
		return Caller{}, herald.Errorf(herald.CodeUnauthorized, herald.ReasonTokenInvalid, "the token's identity is unknown")
	}
	if err != nil {
		return Caller{}, fmt.Errorf("authenticate: %w", err)
	}
	if id.Deleted() {
		return Caller{User: id.ID}, herald.Errorf(herald.CodeUnauthorized, herald.ReasonIdentityDeleted,
			"the identity %s was deleted at %s; it can no longer act", id.ID, stamp(id.DeletedAt))
	}
	tok, err := s.store.GetToken(ctx, claims.TokenID)
	if herald.IsNotFound(err) || (err == nil && tok.UserID != claims.UserID) {
		return Caller{}, herald.Errorf(herald.CodeUnauthorized, herald.ReasonTokenInvalid, "the token was not issued by this server")
	}
	if err != nil {
		return Caller{}, fmt.Errorf("authenticate: %w", err)
	}
	if tok.Revoked() {
		return Caller{User: tok.UserID, Token: tok}, herald.Errorf(herald.CodeUnauthorized, herald.ReasonTokenRevoked,
			"the access token was revoked at %s; issue a new one", stamp(tok.RevokedAt))
	}
	// The token log is the authority: a signed exp that is not the logged
	// one (whole seconds, as JWT carries it) is not a token this server
	// issued, whoever signed it.
	if tok.ExpiresAt.Unix() != claims.ExpiresAt.Unix() {
		return Caller{}, herald.Errorf(herald.CodeUnauthorized, herald.ReasonTokenInvalid,
			"the token's expiry is not the one this server issued it with")
	}
	return Caller{User: tok.UserID, Token: tok}, nil
}

// write checks the caller's write rate: in the shared limiter when there
// is one (the limit holds for the deployment, whichever node serves), else
// in this node's memory. A shared limiter that fails lets the write
// through (counted and logged): the limit protects the service, and the
// write itself reports a store that is down.
func (s *Service) write(ctx context.Context, c Caller) error {
	if s.shared == nil || s.limits.WriteRate <= 0 {
		return s.writes.allow(c.User, s.clock.Now())
	}
	every := time.Duration(float64(time.Second) / s.limits.WriteRate)
	wait, err := s.shared.Take(ctx, "write:"+string(c.User), s.clock.Now(), every, max(s.limits.WriteBurst, 1))
	if err != nil {
		s.limiterFailures.Add(1)
		s.log.Warn("rate limiter failed; the write is let through", "user", c.User, "err", err)
		return nil
	}
	if wait <= 0 {
		return nil
	}
	return rateLimited(wait)
}

// require checks that the caller's token carries one of the scopes.
func require(c Caller, action string, scopes ...herald.Scope) error {
	for _, sc := range scopes {
		if c.Token.HasScope(sc) {
			return nil
		}
	}
	return herald.Errorf(herald.CodeForbidden, herald.ReasonScopeInsufficient,
		"%s needs a token with scope %s; this token has %v", action, scopes[0], c.Token.Scopes)
}

// pageSize validates a requested page size; 0 means the default.
func (s *Service) pageSize(n int) (int, error) {
	if n == 0 {
		return s.limits.DefaultPageSize, nil
	}
	if n < 1 || n > s.limits.MaxPageSize {
		return 0, herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidPageSize,
			"maxPageSize must be between 1 and %d, not %d", s.limits.MaxPageSize, n).WithTarget("maxPageSize")
	}
	return n, nil
}

// page validates offset paging and fills in the default page size.
func (s *Service) page(p herald.Page) (herald.Page, error) {
	n, err := s.pageSize(p.Limit)
	if err != nil {
		return p, err
	}
	if p.Skip < 0 {
		return p, herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidCursor, "skip must not be negative").WithTarget("skip")
	}
	p.Limit = n
	return p, nil
}

// hash fingerprints a request for idempotency checks.
func hash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("hash: %v", err)) // only plain data is hashed
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// internal wraps a store failure with context. A store error that says
// only "not found" or "conflict" where the rules expected neither is a bug,
// and becomes internal: every error a caller sees carries a reason.
func internal(op string, err error) error {
	if herald.ErrorReason(err) == herald.ReasonNone || herald.ErrorCode(err) == herald.CodeInternal {
		return &herald.Error{Code: herald.CodeInternal, Reason: herald.ReasonInternal, Message: "internal error", Err: fmt.Errorf("%s: %w", op, err)}
	}
	return fmt.Errorf("%s: %w", op, err)
}
