package bench

import (
	"strings"
	"testing"
)

func TestTargets(t *testing.T) {
	r := &Result{Deliveries: &Deliveries{Lost: 0, PerSec: 150000}, LatencyMs: &Latency{Samples: 10, P99: 7}}
	goals, err := parseTargets([]string{"lost=0", "p99<=5", "delivered_per_s >= 100000", "rss_per_conn_kib<=16"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range goals {
		c := g.check(r)
		got = append(got, c.Target+" "+measured(c)+" "+yesNo(c))
	}
	want := []string{"lost = 0 0 yes", "p99 <= 5 7 **no**", "delivered_per_s >= 100000 150000 yes", "rss_per_conn_kib <= 16 not measured ?"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{"p99", "p99<=fast", "speed>=1"} {
		if _, err := parseTargets([]string{bad}); err == nil {
			t.Errorf("parseTargets(%q): got no error, want one", bad)
		}
	}
}

func TestParseContent(t *testing.T) {
	f := []byte(`{"type":"event","threadId":"t_1","seq":7,"event":"chatMessageReceived","data":{"message":{"content":{"message":"hb:42:1700000000123456789:xx"}}}}`)
	idx, sent, ok := parseContent(f)
	if !ok || idx != 42 || sent != 1700000000123456789 {
		t.Errorf("got %d %d %v, want 42 1700000000123456789 true", idx, sent, ok)
	}
	if got := frameType(f); got != "event" {
		t.Errorf("got frame type %q, want event", got)
	}
	if _, _, ok := parseContent([]byte(`{"type":"event","data":{"message":{"content":{"message":"hello"}}}}`)); ok {
		t.Error("parsed a message the bench did not send")
	}
}
