package client

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"

	"github.com/herald-chat/herald"
)

// ListThreadsOptions selects a page of GET /chat/threads. Zero fields are
// not sent and leave the choice to the server.
type ListThreadsOptions struct {
	MaxPageSize int       // the most threads per page
	StartTime   time.Time // only threads active at or after this time, as the server defines it
	Skip        int       // threads to skip before the page starts
}

func (o ListThreadsOptions) values() url.Values {
	q := url.Values{}
	setInt(q, "maxPageSize", o.MaxPageSize)
	setTime(q, "startTime", o.StartTime)
	setInt(q, "skip", o.Skip)
	return q
}

// ListMessagesOptions selects a page of GET .../messages. Zero fields are
// not sent and leave the choice to the server.
type ListMessagesOptions struct {
	MaxPageSize int       // the most messages per page
	StartTime   time.Time // only messages created at or after this time
	// Before lists messages with a sequence id below Before, newest first.
	Before herald.Seq
	// Since, when not nil, lists messages with a sequence id above *Since,
	// oldest first. A pointer because Since 0 is meaningful: the whole
	// thread, oldest first.
	Since *herald.Seq
}

func (o ListMessagesOptions) values() url.Values {
	q := url.Values{}
	setInt(q, "maxPageSize", o.MaxPageSize)
	setTime(q, "startTime", o.StartTime)
	if o.Before > 0 {
		q.Set("before", strconv.FormatInt(int64(o.Before), 10))
	}
	if o.Since != nil {
		q.Set("since", strconv.FormatInt(int64(*o.Since), 10))
	}
	return q
}

// ListParticipantsOptions selects a page of GET .../participants.
type ListParticipantsOptions struct {
	MaxPageSize int // the most participants per page; 0 leaves it to the server
	Skip        int // participants to skip before the page starts
}

func (o ListParticipantsOptions) values() url.Values {
	q := url.Values{}
	setInt(q, "maxPageSize", o.MaxPageSize)
	setInt(q, "skip", o.Skip)
	return q
}

// ListReadReceiptsOptions selects a page of GET .../readReceipts.
type ListReadReceiptsOptions struct {
	MaxPageSize int // the most receipts per page; 0 leaves it to the server
	Skip        int // receipts to skip before the page starts
}

func (o ListReadReceiptsOptions) values() url.Values {
	q := url.Values{}
	setInt(q, "maxPageSize", o.MaxPageSize)
	setInt(q, "skip", o.Skip)
	return q
}

func setInt(q url.Values, key string, v int) {
	if v > 0 {
		q.Set(key, strconv.Itoa(v))
	}
}

func setTime(q url.Values, key string, t time.Time) {
	if !t.IsZero() {
		q.Set(key, t.UTC().Format(time.RFC3339Nano))
	}
}

// pages iterates the items of the page first asks for and of every page its
// nextLink leads to. parts takes a page apart into its items and nextLink.
// A failure is yielded once, with a zero item, and ends the iteration; so
// does a nextLink that repeats the one just followed, which would loop.
func pages[L, T any](ctx context.Context, c *conn, first request, parts func(*L) ([]T, string)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		r, followed := first, ""
		for {
			page, err := call[L](ctx, c, r)
			if err != nil {
				yield(zero, err)
				return
			}
			items, next := parts(page)
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if next == followed {
				yield(zero, fmt.Errorf("herald: the server answered nextLink %q twice", next))
				return
			}
			r, followed = c.follow(next), next
		}
	}
}
