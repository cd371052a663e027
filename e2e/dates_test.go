package e2e

import (
	"testing"
	"time"
)

// timeSensitive are the tests in which the clock decides what happens:
// token expiry and its warning, in-band refresh across expiries, forged
// times in tokens, revocation checks, heartbeats.
var timeSensitive = []struct {
	name string
	test func(t *testing.T, at time.Time)
}{
	{"TokenExpiry", testTokenExpiry},
	{"ForgedTokens", testForgedTokens},
	{"TokenExpiryOnLiveConnection", testTokenExpiryOnLiveConnection},
	{"InBandRefreshSurvivesExpiries", testInBandRefreshSurvivesExpiries},
	{"RevocationAndDeletionClose", testRevocationAndDeletionClose},
	{"SDKRefreshKeepsConnection", testSDKRefreshKeepsConnection},
	{"HeartbeatTimeout", testHeartbeatTimeout},
}

// TestTimeSensitiveAnyDate runs the time-sensitive tests with the clock
// of the server and of the SDK three years behind and three years ahead of
// the machine's date. A component that read the system clock instead of
// the injected one (as the SDK's credential once did) disagrees with the
// server by years and fails here, whatever today's date is.
func TestTimeSensitiveAnyDate(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the time-sensitive tests run once, at the suite's epoch")
	}
	// The one place the suite reads the machine's date: to stay away from it.
	today := time.Now().UTC().Truncate(time.Second)
	for _, shift := range []int{-3, 3} {
		at := today.AddDate(shift, 0, 0)
		for _, tc := range timeSensitive {
			t.Run(at.Format("2006-01-02")+"/"+tc.name, func(t *testing.T) { tc.test(t, at) })
		}
	}
}
