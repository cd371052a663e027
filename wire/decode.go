package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/herald-chat/herald"
)

// MaxDepth is the deepest nesting of objects and arrays Decode accepts.
const MaxDepth = 32

// Decode parses data, which must hold exactly one JSON object, into the
// struct that v points to. Every key must be one of the struct's JSON field
// names spelled exactly; map fields take any key. Errors are *herald.Error
// with CodeInvalid and one of ReasonInvalidUTF8, ReasonInvalidJSON,
// ReasonDuplicateField, ReasonUnknownField or ReasonInvalidField; Target
// names the field when there is one.
func Decode(data []byte, v any) error {
	if !utf8.Valid(data) {
		return invalid(herald.ReasonInvalidUTF8, "", "the request body is not valid UTF-8")
	}
	if at, nul := badEscape(data); at >= 0 && nul {
		return invalid(herald.ReasonInvalidField, "", "the request body has a NUL character (\\u0000) at byte %d; strings may not contain NUL", at)
	} else if at >= 0 {
		return invalid(herald.ReasonInvalidUTF8, "", "the request body has a lone UTF-16 surrogate escape at byte %d", at)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err, dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return invalid(herald.ReasonInvalidJSON, "", "the request body must be a JSON object")
	}
	w := walker{dec: dec}
	if err := w.object(reflect.TypeOf(v).Elem(), "", 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid(herald.ReasonInvalidJSON, "", "the request body has data after the JSON object (byte %d)", dec.InputOffset())
	}
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalid(herald.ReasonInvalidField, te.Field, "%s must be %s, not %s", fieldName(te.Field), kindName(te.Type), te.Value)
		}
		// The syntax was checked above: what is left is a value its field
		// refuses (a time that is not RFC 3339, for example).
		return invalid(herald.ReasonInvalidField, "", "a field has an invalid value: %v", err)
	}
	return nil
}

func invalid(r herald.Reason, target, format string, args ...any) error {
	return &herald.Error{Code: herald.CodeInvalid, Reason: r, Target: target, Message: fmt.Sprintf(format, args...)}
}

func syntaxError(err error, dec *json.Decoder) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return invalid(herald.ReasonInvalidJSON, "", "the request body is not valid JSON: unexpected end at byte %d", dec.InputOffset())
	}
	return invalid(herald.ReasonInvalidJSON, "", "the request body is not valid JSON: %v", err)
}

// walker checks the token stream against the target type: exact field
// names, no duplicates, bounded depth. Types are checked by Unmarshal after.
type walker struct{ dec *json.Decoder }

func (w walker) object(t reflect.Type, path string, depth int) error {
	if depth > MaxDepth {
		return invalid(herald.ReasonInvalidJSON, path, "the request body is nested deeper than %d levels", MaxDepth)
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	seen := map[string]bool{}
	for {
		tok, err := w.dec.Token()
		if err != nil {
			return syntaxError(err, w.dec)
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return nil
		}
		key := tok.(string) // the decoder guarantees a string key here
		at := join(path, key)
		if seen[key] {
			return invalid(herald.ReasonDuplicateField, at, "the field %q appears more than once", at)
		}
		seen[key] = true
		var ft reflect.Type
		switch {
		case t == nil || t.Kind() == reflect.Interface:
			ft = nil
		case t.Kind() == reflect.Map:
			ft = t.Elem()
		case t.Kind() == reflect.Struct:
			f, ok := structField(t, key)
			if !ok {
				return invalid(herald.ReasonUnknownField, at, "unknown field %q", at)
			}
			ft = f
		default:
			return invalid(herald.ReasonInvalidField, path, "%s must be %s, not an object", fieldName(path), kindName(t))
		}
		if err := w.value(ft, at, depth); err != nil {
			return err
		}
	}
}

func (w walker) value(t reflect.Type, path string, depth int) error {
	tok, err := w.dec.Token()
	if err != nil {
		return syntaxError(err, w.dec)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // scalars: Unmarshal checks their types
	}
	if t == reflect.TypeOf(json.RawMessage(nil)) {
		t = nil
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch d {
	case '{':
		return w.object(t, path, depth+1)
	case '[':
		if depth+1 > MaxDepth {
			return invalid(herald.ReasonInvalidJSON, path, "the request body is nested deeper than %d levels", MaxDepth)
		}
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		} else if t != nil && t.Kind() != reflect.Interface {
			return invalid(herald.ReasonInvalidField, path, "%s must be %s, not an array", fieldName(path), kindName(t))
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(et, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		_, err := w.dec.Token() // ']'
		if err != nil {
			return syntaxError(err, w.dec)
		}
	}
	return nil
}

// structField finds the field of t whose JSON name is exactly name.
func structField(t reflect.Type, name string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		n, _, _ := strings.Cut(tag, ",")
		if n == "-" {
			continue
		}
		if n == "" {
			n = f.Name
		}
		if n == name {
			return f.Type, true
		}
	}
	return nil, false
}

// badEscape returns the byte offset of a \uD800-\uDFFF escape that is
// not part of a valid surrogate pair, or of a \u0000 escape (nul true), or
// -1. NUL is refused because PostgreSQL text cannot hold it, and one rule
// must hold on every engine.
func badEscape(data []byte) (int, bool) {
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(data) {
				return -1, false // truncated; the parser reports it
			}
			if data[i+1] != 'u' {
				i++ // skip the escaped character
				continue
			}
			r, ok := hex4(data, i+2)
			if !ok {
				i++
				continue
			}
			switch {
			case r == 0:
				return i, true
			case r >= 0xD800 && r <= 0xDBFF:
				if i+11 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
					if lo, ok := hex4(data, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 11
						continue
					}
				}
				return i, false
			case r >= 0xDC00 && r <= 0xDFFF:
				return i, false
			}
			i += 5
		}
	}
	return -1, false
}

func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func fieldName(path string) string {
	if path == "" {
		return "the body"
	}
	return path
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}
