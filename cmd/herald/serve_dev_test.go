package main

import (
	"strings"
	"testing"
	"time"
)

// TestDevMinTokenLifetime: the development option is off by default,
// accepted on a loopback address, and refused where other machines can
// connect or with a lifetime that is not whole minutes within 1m..60m.
func TestDevMinTokenLifetime(t *testing.T) {
	for _, c := range []struct {
		addr    string
		min     time.Duration
		refused string
	}{
		{"0.0.0.0:8080", 0, ""},
		{"127.0.0.1:8080", time.Minute, ""},
		{"[::1]:0", 5 * time.Minute, ""},
		{"localhost:8080", time.Minute, ""},
		{"0.0.0.0:8080", time.Minute, "refused with --addr 0.0.0.0:8080"},
		{":8080", time.Minute, "refused with --addr :8080"},
		{"10.1.2.3:8080", time.Minute, "refused"},
		{"127.0.0.1:8080", 30 * time.Second, "whole minutes"},
		{"127.0.0.1:8080", 2 * time.Hour, "whole minutes"},
	} {
		err := (&ServeCmd{Addr: c.addr, DevMinToken: c.min}).checkDev()
		if (c.refused == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.refused)) {
			t.Errorf("%s with %v: got %v, want refused=%q", c.addr, c.min, err, c.refused)
		}
	}
}
