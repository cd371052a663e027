package sqlite

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/herald-chat/herald"
)

// millis is how a time is stored: unix milliseconds, 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// timeCol scans a millis column into a UTC time; 0 and NULL give the zero time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		if v == 0 {
			*c.t = time.Time{}
		} else {
			*c.t = time.UnixMilli(v).UTC()
		}
	default:
		return fmt.Errorf("time column holds %T, want an integer", v)
	}
	return nil
}

// jsonValue is the set of fields stored as JSON text.
type jsonValue interface {
	~map[string]string | ~[]herald.UserID | ~[]herald.Scope | ~[]herald.EventType | ~[]string
}

// jsonArg returns v as JSON text to bind, or nil (NULL) when v is empty, so
// empty maps and lists read back as nil.
func jsonArg[T jsonValue](v T) any {
	if len(v) == 0 {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Maps and slices of strings always marshal.
		panic(fmt.Sprintf("sqlite: marshal %T: %v", v, err))
	}
	return string(b)
}

// jsonCol scans JSON text into a map or slice; NULL and "" give nil.
type jsonCol[T jsonValue] struct{ p *T }

// Scan implements sql.Scanner.
func (c jsonCol[T]) Scan(v any) error {
	var zero T
	*c.p = zero
	var b []byte
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("JSON column holds %T, want text", v)
	}
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, c.p)
}

// rawArg returns raw JSON to bind as text verbatim, or nil (NULL) when empty.
func rawArg(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}

// rawCol scans text into a json.RawMessage verbatim; NULL and "" give nil.
type rawCol struct{ p *json.RawMessage }

// Scan implements sql.Scanner.
func (c rawCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.p = nil
	case string:
		*c.p = nil
		if v != "" {
			*c.p = json.RawMessage(v)
		}
	case []byte:
		*c.p = nil
		if len(v) > 0 {
			*c.p = append(json.RawMessage(nil), v...)
		}
	default:
		return fmt.Errorf("JSON column holds %T, want text", v)
	}
	return nil
}
