package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/wire"
)

// An SSE connection's frames and a long-polling connection's polls are
// separate HTTP requests, which a load balancer without affinity sends to
// any node. Each connection id names the route of the node holding it
// (hub.Config.Route); a request for another node's connection is relayed
// there over Config.Relay and answered as if it had arrived there.

// relayRequest is what one node asks another about a connection.
type relayRequest struct {
	Op    string              `json:"op"` // "poll" or "frame"
	Conn  herald.ConnectionID `json:"conn"`
	Key   string              `json:"key"`
	Frame json.RawMessage     `json:"frame,omitempty"`
}

// relayReply is the answer: frames of a poll, or the error.
type relayReply struct {
	Frames  []json.RawMessage `json:"frames,omitempty"`
	Code    herald.Code       `json:"code,omitempty"`
	Reason  herald.Reason     `json:"reason,omitempty"`
	Message string            `json:"message,omitempty"`
	Target  string            `json:"target,omitempty"`
}

// relayWait bounds a relayed request: a poll waits up to pollWait there.
const relayWait = pollWait + 10*time.Second

// remote reports whether connection id belongs to another node this one
// can relay to.
func (s *Server) remote(id herald.ConnectionID) bool {
	if s.cfg.Relay == nil || s.cfg.Route == "" {
		return false
	}
	route := hub.RouteOf(id)
	return route != "" && route != s.cfg.Route
}

// serveRelay answers the requests other nodes relay here, until stop.
func (s *Server) serveRelay() (stop func(), err error) {
	if s.cfg.Relay == nil || s.cfg.Route == "" {
		return func() {}, nil
	}
	return s.cfg.Relay.ServeRelay(s.cfg.Route, s.answerRelay)
}

// answerRelay runs a relayed request against this node's connections.
func (s *Server) answerRelay(ctx context.Context, raw []byte) []byte {
	var req relayRequest
	var reply relayReply
	err := json.Unmarshal(raw, &req)
	if err == nil {
		switch req.Op {
		case "poll":
			var frames [][]byte
			frames, err = s.pollLocal(ctx, req.Conn, req.Key, nil)
			for _, f := range frames {
				reply.Frames = append(reply.Frames, f)
			}
		case "frame":
			var c *hub.Conn
			if c, err = s.connOf(req.Conn, req.Key); err == nil {
				var f wire.ClientFrame
				if err = wire.Decode(req.Frame, &f); err == nil {
					err = receive(ctx, c, f)
				}
			}
		default:
			err = fmt.Errorf("relay: unknown op %q", req.Op)
		}
	}
	if err != nil {
		var he *herald.Error
		if !errors.As(err, &he) {
			he = &herald.Error{Code: herald.CodeInternal, Reason: herald.ReasonInternal, Message: "the node holding the connection failed"}
			s.log.Error("relayed request", "op", req.Op, "conn", req.Conn, "err", err)
		}
		reply.Code, reply.Reason, reply.Message, reply.Target = he.Code, he.Reason, he.Message, he.Target
	}
	out, _ := json.Marshal(reply)
	return out
}

// relayPoll polls another node's long-polling connection.
func (s *Server) relayPoll(ctx context.Context, id herald.ConnectionID, key string) ([][]byte, error) {
	reply, err := s.relay(ctx, relayRequest{Op: "poll", Conn: id, Key: key})
	if err != nil {
		return nil, err
	}
	frames := make([][]byte, len(reply.Frames))
	for i, f := range reply.Frames {
		frames[i] = f
	}
	return frames, nil
}

// relayFrame hands a client frame to another node's connection.
func (s *Server) relayFrame(ctx context.Context, id herald.ConnectionID, key string, frame json.RawMessage) error {
	_, err := s.relay(ctx, relayRequest{Op: "frame", Conn: id, Key: key, Frame: frame})
	return err
}

func (s *Server) relay(ctx context.Context, req relayRequest) (relayReply, error) {
	raw, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, relayWait)
	defer cancel()
	out, err := s.cfg.Relay.Forward(ctx, hub.RouteOf(req.Conn), raw)
	if herald.IsNotFound(err) { // the node is gone, and its connections with it
		return relayReply{}, herald.Errorf(herald.CodeNotFound, herald.ReasonConnectionNotFound,
			"no open connection %s: the node that held it is gone; open a new one", req.Conn).WithTarget(string(req.Conn))
	}
	if err != nil {
		return relayReply{}, fmt.Errorf("relay %s of %s: %w", req.Op, req.Conn, err)
	}
	var reply relayReply
	if err := json.Unmarshal(out, &reply); err != nil {
		return relayReply{}, fmt.Errorf("relay %s of %s: answer: %w", req.Op, req.Conn, err)
	}
	if reply.Code != "" {
		e := &herald.Error{Code: reply.Code, Reason: reply.Reason, Message: reply.Message}
		if reply.Target != "" {
			e = e.WithTarget(reply.Target)
		}
		return relayReply{}, e
	}
	return reply, nil
}
