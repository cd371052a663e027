package e2e

import (
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

// TestDoctorShortTokenExpiry reproduces the playbook's first hypothesis
// with a 1-minute token, which only the development option allows: the
// live connection closes at expiry, and the doctor names token_expired.
func TestDoctorShortTokenExpiry(t *testing.T) {
	def := start(t)
	one := 1
	def.fails(def.do("POST", "/identities", adminKey, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}, ExpiresInMinutes: &one}), 400, herald.ReasonInvalidExpiry)

	e := start(t, func(l *service.Limits) { l.MinTokenLifetime = time.Minute })
	alice, bob := e.newUser(), e.newUserFor(1)
	th := e.newThread(alice, bob)
	c := e.connect(bob, handlesMessages) // a static token: no refresh
	e.Clock.Advance(2 * time.Minute)
	if cl := c.waitClose(3 * time.Second); cl.Reason != string(herald.ReasonTokenExpired) {
		t.Fatalf("got close %d %q, want token_expired", cl.Code, cl.Reason)
	}
	m := e.send(alice, th, secret)
	rep := e.diagnose(dq{bob.ID, th, m.ID})
	if rep.Status != doctor.StatusNotDelivered || rep.Cause != doctor.CheckTokenExpired || rep.Findings[0].Tag != doctor.Observed {
		t.Errorf("got status %q cause %q (%s), want not_delivered token_expired [Observed]", rep.Status, rep.Cause, rep.Summary)
	}
}
