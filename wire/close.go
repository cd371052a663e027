package wire

import "github.com/herald-chat/herald"

// CloseConnectionLost is recorded (never sent) when a connection ended
// without a close frame: the socket died, or an SSE/long-poll client went
// away.
const CloseConnectionLost = 1006

// closeCodes is the one table from the reason a server closes a real-time
// connection for to the close code it sends (docs/realtime.md).
var closeCodes = map[herald.Reason]int{
	herald.ReasonGoingAway:          CloseGoingAway,
	herald.ReasonHeartbeatTimeout:   CloseHeartbeatTimeout,
	herald.ReasonSlowConsumer:       CloseSlowConsumer,
	herald.ReasonResync:             CloseResync,
	herald.ReasonProtocolError:      CloseProtocolError,
	herald.ReasonInvalidAck:         CloseProtocolError,
	herald.ReasonTokenExpired:       CloseTokenExpired,
	herald.ReasonTokenRevoked:       CloseTokenRevoked,
	herald.ReasonIdentityDeleted:    CloseIdentityDeleted,
	herald.ReasonAuthTimeout:        CloseAuthTimeout,
	herald.ReasonUnsupportedVersion: CloseUnsupportedVersion,
	herald.ReasonPayloadTooLarge:    CloseMessageTooBig,
	herald.ReasonInvalidUTF8:        CloseInvalidPayload,
	herald.ReasonConnectionLost:     CloseConnectionLost,
}

// CloseCodeOf returns the close code for reason r; a reason with no code
// of its own is a protocol error.
func CloseCodeOf(r herald.Reason) int {
	if c, ok := closeCodes[r]; ok {
		return c
	}
	return CloseProtocolError
}
