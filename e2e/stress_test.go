package e2e

import "flag"

// stress runs the stress tests at their published sizes (10,000 messages
// through random disconnects, 1,500 through server-side closes) instead of
// the smaller defaults that keep CI on two cores fast:
//
//	go test ./e2e -run 'TestResumeUnderRandomDisconnects|TestSDKResumeAcrossServerCloses' -stress -v
var stress = flag.Bool("stress", false, "run the e2e stress tests at their full sizes")

// size returns full under -stress and ci otherwise.
func size(ci, full int) int {
	if *stress {
		return full
	}
	return ci
}
