package postgres

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/herald-chat/herald"
)

// millis is how a time is stored: unix milliseconds, 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// timeCol scans a millis column into a UTC time; 0 and NULL give the zero
// time.
type timeCol struct{ t *time.Time }

// ScanInt64 implements pgtype.Int64Scanner.
func (c timeCol) ScanInt64(v pgtype.Int8) error {
	if !v.Valid || v.Int64 == 0 {
		*c.t = time.Time{}
		return nil
	}
	*c.t = time.UnixMilli(v.Int64).UTC()
	return nil
}

// jsonValue is the set of fields stored as JSONB. They scan straight into
// their Go type (pgx unmarshals; NULL gives nil).
type jsonValue interface {
	~map[string]string | ~[]herald.UserID | ~[]herald.Scope | ~[]herald.EventType | ~[]string
}

// jsonArg returns v as JSON text to bind, or nil (NULL) when v is empty, so
// empty maps and lists read back as nil, as in the sqlite engine.
func jsonArg[T jsonValue](v T) any {
	if len(v) == 0 {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Maps and slices of strings always marshal.
		panic(fmt.Sprintf("postgres: marshal %T: %v", v, err))
	}
	return b
}

// rawArg returns raw JSON to bind as text verbatim, or nil (NULL) when empty.
func rawArg(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}

// rawCol scans a text column into a json.RawMessage verbatim; NULL and ""
// give nil.
type rawCol struct{ p *json.RawMessage }

// ScanText implements pgtype.TextScanner.
func (c rawCol) ScanText(v pgtype.Text) error {
	*c.p = nil
	if v.Valid && v.String != "" {
		*c.p = json.RawMessage(v.String)
	}
	return nil
}
