package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// MaxResponseBytes is the largest response body the client reads; a longer
// answer is an error rather than an unbounded allocation.
const MaxResponseBytes = 8 << 20

// DefaultUserAgent is the User-Agent sent unless WithUserAgent replaces it.
const DefaultUserAgent = "herald-go-client"

// Credential supplies the access token a Client sends as its bearer token.
// Token is called before every request, so an implementation may refresh an
// expiring token; it must be safe for concurrent use.
type Credential interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken returns a Credential that always supplies token.
func StaticToken(token string) Credential { return staticToken(token) }

type staticToken string

func (t staticToken) Token(context.Context) (string, error) { return string(t), nil }

// Option configures a Client or an Admin.
type Option func(*conn)

// WithHTTPClient makes requests with hc instead of a default *http.Client.
// A nil hc is ignored.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *conn) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithClock makes the client read the time from clock (for Retry-After
// dates, and as the default clock of its real-time connections) instead of
// the system clock. A nil clock is ignored.
func WithClock(clock Clock) Option {
	return func(c *conn) {
		if clock != nil {
			c.clock = clock
		}
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *conn) { c.userAgent = ua }
}

// Client performs chat operations as the user whose access token its
// Credential supplies. It is safe for concurrent use.
type Client struct {
	conn *conn
}

// New returns a Client for the server at baseURL (for example
// "http://127.0.0.1:8080"; a path prefix is kept). If baseURL is not an
// absolute http or https URL, every method returns that error.
func New(baseURL string, cred Credential, opts ...Option) *Client {
	return &Client{conn: newConn(baseURL, cred, opts)}
}

// Admin manages identities and access tokens with the server's admin key.
// It is safe for concurrent use.
type Admin struct {
	conn *conn
}

// NewAdmin returns an Admin for the server at baseURL that authenticates
// with adminKey. If baseURL is not an absolute http or https URL, every
// method returns that error.
func NewAdmin(baseURL, adminKey string, opts ...Option) *Admin {
	return &Admin{conn: newConn(baseURL, StaticToken(adminKey), opts)}
}

// conn is what Client and Admin share: where the server is and how to
// reach it. It is not modified after newConn returns.
type conn struct {
	base      *url.URL // scheme, host and path prefix; no query
	baseErr   error    // why baseURL is unusable; returned by every call
	http      *http.Client
	userAgent string
	cred      Credential
	clock     Clock
}

func newConn(baseURL string, cred Credential, opts []Option) *conn {
	c := &conn{http: &http.Client{}, userAgent: DefaultUserAgent, cred: cred, clock: systemClock{}}
	for _, o := range opts {
		o(c)
	}
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		c.baseErr = fmt.Errorf("herald: base URL: %w", err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		c.baseErr = fmt.Errorf("herald: base URL %q is not an absolute http or https URL", baseURL)
	default:
		u.RawQuery, u.Fragment = "", ""
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = strings.TrimSuffix(u.RawPath, "/")
		c.base = u
	}
	return c
}

// request is one call to the server. Exactly one of path and url is set.
type request struct {
	method        string
	path          string // escaped, beginning with "/", relative to the base URL
	url           string // absolute, from a nextLink
	query         url.Values
	body          any         // JSON-encoded when non-nil
	repeatability string      // the repeatability-request-id header, if not empty
	header        http.Header // further headers, if any
	err           error       // why the request cannot be made; returned unsent
}

// target returns the absolute URL r is sent to.
func (c *conn) target(r request) string {
	if r.url != "" {
		return r.url
	}
	u := c.base.String() + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	return u
}

// newRequest builds the HTTP request for r, with the JSON body, the
// headers and the credential's bearer token.
func (c *conn) newRequest(ctx context.Context, r request) (*http.Request, error) {
	if c.baseErr != nil {
		return nil, c.baseErr
	}
	if r.err != nil {
		return nil, r.err
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("herald: encode %s body: %w", r.method, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.target(r), body)
	if err != nil {
		return nil, fmt.Errorf("herald: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if r.repeatability != "" {
		req.Header.Set(wire.HeaderRepeatability, r.repeatability)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if c.cred != nil {
		token, err := c.cred.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("herald: get access token: %w", err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	return req, nil
}

// do sends r and decodes a 2xx answer into out, unless out is nil. A non-2xx
// answer is returned as a *herald.Error.
func (c *conn) do(ctx context.Context, r request, out any) error {
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("herald: %w", err)
	}
	defer resp.Body.Close()
	data, readErr := readCapped(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return responseError(resp, data, c.clock.Now())
	}
	if readErr != nil {
		return fmt.Errorf("herald: read answer to %s %s: %w", r.method, req.URL.Path, readErr)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("herald: decode answer to %s %s: %w", r.method, req.URL.Path, err)
	}
	return nil
}

var errTooLarge = fmt.Errorf("the body is larger than %d bytes", MaxResponseBytes)

// readCapped reads at most MaxResponseBytes of r; a longer body is an error.
func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxResponseBytes {
		return nil, errTooLarge
	}
	return data, nil
}

// call sends r and returns the decoded answer.
func call[T any](ctx context.Context, c *conn, r request) (*T, error) {
	var v T
	if err := c.do(ctx, r, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// segment escapes id as one path segment. It refuses what cannot be one:
// "" would address a different route and "." or ".." a different path.
func segment(target, id string) (string, error) {
	switch id {
	case "":
		return "", &herald.Error{Code: herald.CodeInvalid, Reason: herald.ReasonMissingField, Target: target,
			Message: fmt.Sprintf("%s is empty", target)}
	case ".", "..":
		return "", &herald.Error{Code: herald.CodeInvalid, Reason: herald.ReasonInvalidField, Target: target,
			Message: fmt.Sprintf("%s %q cannot be a path segment", target, id)}
	}
	return url.PathEscape(id), nil
}

// identityRequest addresses /identities/{id} followed by suffix.
func identityRequest(method, id, suffix string) request {
	s, err := segment("identityId", id)
	return request{method: method, path: "/identities/" + s + suffix, err: err}
}

// threadRequest addresses /chat/threads/{threadID} followed by suffix.
func threadRequest(method, threadID, suffix string) request {
	s, err := segment("threadId", threadID)
	return request{method: method, path: "/chat/threads/" + s + suffix, err: err}
}

// messageRequest addresses /chat/threads/{threadID}/messages/{messageID}.
func messageRequest(method, threadID, messageID string) request {
	r := threadRequest(method, threadID, "/messages/")
	s, err := segment("messageId", messageID)
	r.path += s
	if r.err == nil {
		r.err = err
	}
	return r
}

// follow returns the request for a page's nextLink: a path and query
// relative to the base URL, or an absolute URL on the same server. A link to
// another host is refused, so the credential is never sent elsewhere.
func (c *conn) follow(nextLink string) request {
	r := request{method: http.MethodGet}
	if c.baseErr != nil {
		r.err = c.baseErr
		return r
	}
	u, err := url.Parse(nextLink)
	switch {
	case err != nil:
		r.err = fmt.Errorf("herald: nextLink: %w", err)
	case nextLink == "":
		r.err = errors.New("herald: nextLink is empty")
	case u.Scheme != "" || u.Host != "":
		if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			r.err = fmt.Errorf("herald: nextLink %q leaves %s://%s", nextLink, c.base.Scheme, c.base.Host)
			break
		}
		r.url = u.String()
	default:
		r.url = c.base.String() + "/" + strings.TrimPrefix(nextLink, "/")
	}
	return r
}
