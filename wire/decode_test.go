package wire_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

type inner struct {
	ID string `json:"id"`
}

type target struct {
	Name  string            `json:"name"`
	Count int               `json:"count"`
	Tags  []string          `json:"tags"`
	Meta  map[string]string `json:"meta"`
	In    *inner            `json:"in"`
	List  []inner           `json:"list"`
	Raw   json.RawMessage   `json:"raw"`
	Skip  string            `json:"-"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		reason herald.Reason
		target string
	}{
		{"ok", `{"name":"a","count":2,"tags":["x"],"meta":{"k":"v"},"in":{"id":"i"},"list":[{"id":"j"}],"raw":{"any":[1,{"b":2}]}}`, "", ""},
		{"empty object", `{}`, "", ""},
		{"whitespace around", " \n{\"name\":\"a\"}\n ", "", ""},
		{"valid pair", `{"name":"\ud83d\ude00"}`, "", ""},
		{"escaped backslash before u", `{"name":"\\ud800"}`, "", ""},
		{"unknown", `{"nope":1}`, herald.ReasonUnknownField, "nope"},
		{"case variant", `{"Name":"a"}`, herald.ReasonUnknownField, "Name"},
		{"dash field", `{"-":"a"}`, herald.ReasonUnknownField, "-"},
		{"unexported name", `{"Skip":"a"}`, herald.ReasonUnknownField, "Skip"},
		{"nested unknown", `{"in":{"id":"a","x":1}}`, herald.ReasonUnknownField, "in.x"},
		{"unknown in list", `{"list":[{"id":"a"},{"y":1}]}`, herald.ReasonUnknownField, "list[1].y"},
		{"duplicate", `{"name":"a","name":"b"}`, herald.ReasonDuplicateField, "name"},
		{"nested duplicate", `{"in":{"id":"a","id":"b"}}`, herald.ReasonDuplicateField, "in.id"},
		{"duplicate map key", `{"meta":{"k":"1","k":"2"}}`, herald.ReasonDuplicateField, "meta.k"},
		{"duplicate in raw", `{"raw":{"a":1,"a":2}}`, herald.ReasonDuplicateField, "raw.a"},
		{"wrong type", `{"count":"2"}`, herald.ReasonInvalidField, "count"},
		{"object for string", `{"name":{}}`, herald.ReasonInvalidField, "name"},
		{"array for object", `{"in":[]}`, herald.ReasonInvalidField, "in"},
		{"lone surrogate", `{"name":"\ud800x"}`, herald.ReasonInvalidUTF8, ""},
		{"lone low", `{"name":"\uDC01"}`, herald.ReasonInvalidUTF8, ""},
		{"high then non-low", `{"name":"\ud800\u0041"}`, herald.ReasonInvalidUTF8, ""},
		{"surrogate in key", `{"\ud800":1}`, herald.ReasonInvalidUTF8, ""},
		{"invalid utf8", "{\"name\":\"\xc3\x28\"}", herald.ReasonInvalidUTF8, ""},
		{"nul escape", `{"name":"a\u0000b"}`, herald.ReasonInvalidField, ""},
		{"trailing", `{} {}`, herald.ReasonInvalidJSON, ""},
		{"trailing comma", `{"name":"a",}`, herald.ReasonInvalidJSON, ""},
		{"truncated", `{"name":`, herald.ReasonInvalidJSON, ""},
		{"empty", ``, herald.ReasonInvalidJSON, ""},
		{"array", `[]`, herald.ReasonInvalidJSON, ""},
		{"number", `1`, herald.ReasonInvalidJSON, ""},
		{"deep raw", `{"raw":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`, herald.ReasonInvalidJSON, ""},
		{"deep raw objects", `{"raw":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`, herald.ReasonInvalidJSON, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v target
			err := wire.Decode([]byte(c.in), &v)
			if got := herald.ErrorReason(err); got != c.reason {
				t.Fatalf("got reason %q (%v), want %q", got, err, c.reason)
			}
			if err != nil {
				var e *herald.Error
				if !asError(err, &e) || e.Code != herald.CodeInvalid || e.Message == "" {
					t.Errorf("got %#v, want an invalid *herald.Error with a message", err)
				}
				if c.target != "" && e.Target != c.target {
					t.Errorf("got target %q, want %q", e.Target, c.target)
				}
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	var v target
	err := wire.Decode([]byte(`{"name":"\ud83d\ude00 é","count":3,"meta":{"a":"b"},"list":[{"id":"x"}]}`), &v)
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "😀 é" || v.Count != 3 || v.Meta["a"] != "b" || len(v.List) != 1 || v.List[0].ID != "x" {
		t.Errorf("got %+v", v)
	}
}

func asError(err error, e **herald.Error) bool {
	var ok bool
	*e, ok = err.(*herald.Error)
	return ok
}

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// is valid UTF-8 JSON that encoding/json also accepts.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"name":"a"}`, `{"name":"\ud800"}`, `{"a":1,"a":2}`, `{"raw":[[[[]]]]}`,
		`{"list":[{"id":"x"}]}`, "{\"name\":\"\xff\"}", `{"meta":{"k":"v"}} x`, `{"in":{"id":"\\u"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v target
		if err := wire.Decode(data, &v); err != nil {
			if herald.ErrorCode(err) != herald.CodeInvalid {
				t.Fatalf("got code %q for %q, want invalid", herald.ErrorCode(err), data)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
	})
}

// FuzzClientFrame feeds arbitrary bytes to the real-time frame decoder the
// server runs on every client frame: it must never panic, and must accept
// only valid JSON objects.
func FuzzClientFrame(f *testing.F) {
	for _, s := range []string{`{"type":"hello","v":1,"cursor":{"t_a":3},"resume":true,"handles":["chatMessageReceived"]}`,
		`{"type":"ack","acks":[{"threadId":"t","seq":2}]}`, `{"type":"refresh","token":"x"}`, `{"type":"ping"}`,
		`{"type":"ack","acks":[{"threadId":"t","seq":"2"}]}`, `{"type":"hello","cursor":{"a":1,"a":2}}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr wire.ClientFrame
		if err := wire.Decode(data, &fr); err == nil && !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
	})
}
