package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

func messageID(r *http.Request) herald.MessageID { return herald.MessageID(r.PathValue("messageId")) }

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	var in wire.SendMessageRequest
	if err := s.decode(w, r, &in, false); err != nil {
		return err
	}
	key := in.ClientMessageID
	if h := r.Header.Get(wire.HeaderRepeatability); h != "" {
		if key != "" && key != h {
			return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField,
				"clientMessageId %q and the repeatability-request-id header %q differ", key, h).WithTarget("clientMessageId")
		}
		key = h
	}
	msg, err := s.svc.SendMessage(r.Context(), c, threadID(r), service.NewMessage{Content: in.Content, Type: herald.MessageType(in.Type),
		SenderDisplayName: in.SenderDisplayName, Metadata: in.Metadata, ClientMessageID: key})
	if err != nil {
		return err
	}
	if rec := recordOf(r); rec != nil {
		rec.MessageID = msg.ID
	}
	w.Header().Set("Location", "/chat/threads/"+url.PathEscape(string(msg.ThreadID))+"/messages/"+url.PathEscape(string(msg.ID)))
	writeJSON(w, http.StatusCreated, wire.SendMessageResponse{ID: string(msg.ID), SequenceID: seq(msg.Seq)})
	return nil
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	q := query{r: r}
	mq := service.MessageQuery{Before: herald.Seq(q.int("before")), Since: herald.Seq(q.int("since")), Oldest: r.URL.Query().Has("since"),
		StartTime: q.time("startTime"), Limit: q.pageSize()}
	if q.err != nil {
		return q.err
	}
	msgs, err := s.svc.ListMessages(r.Context(), c, threadID(r), mq)
	if err != nil {
		return err
	}
	out := wire.MessageList{Value: make([]wire.ChatMessage, len(msgs))}
	for i, m := range msgs {
		out.Value[i] = wire.FromMessage(m)
	}
	limit := mq.Limit
	if limit == 0 {
		limit = s.svc.Limits().DefaultPageSize
	}
	if n := len(msgs); n == limit {
		last := strconv.FormatInt(int64(msgs[n-1].Seq), 10)
		if mq.Oldest {
			out.NextLink = next(r, "since", last)
		} else {
			out.NextLink = next(r, "before", last)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	m, err := s.svc.GetMessage(r.Context(), c, threadID(r), messageID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.FromMessage(m))
	return nil
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	var in wire.UpdateMessageRequest
	if err := s.decode(w, r, &in, false); err != nil {
		return err
	}
	if err := s.svc.EditMessage(r.Context(), c, threadID(r), messageID(r), service.MessageUpdate{Content: in.Content, Metadata: in.Metadata}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	if err := s.svc.DeleteMessage(r.Context(), c, threadID(r), messageID(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) sendReadReceipt(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	var in wire.SendReadReceiptRequest
	if err := s.decode(w, r, &in, false); err != nil {
		return err
	}
	if rec := recordOf(r); rec != nil {
		rec.MessageID = herald.MessageID(in.ChatMessageID)
	}
	if err := s.svc.MarkRead(r.Context(), c, threadID(r), herald.MessageID(in.ChatMessageID)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) listReadReceipts(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	q := query{r: r}
	p := q.page()
	if q.err != nil {
		return q.err
	}
	rs, scanned, err := s.svc.ListReadReceipts(r.Context(), c, threadID(r), p)
	if err != nil {
		return err
	}
	out := wire.ReadReceiptList{Value: make([]wire.ReadReceipt, len(rs))}
	for i, rr := range rs {
		out.Value[i] = wire.ReadReceipt{SenderCommunicationIdentifier: wire.Identifier(string(rr.UserID)),
			ChatMessageID: string(rr.MessageID), ReadOn: rr.ReadAt}
	}
	out.NextLink = s.skipLink(r, p, scanned)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) sendTyping(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	var in wire.TypingRequest
	if err := s.decode(w, r, &in, true); err != nil {
		return err
	}
	if err := s.svc.Typing(r.Context(), c, threadID(r), in.SenderDisplayName); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func seq(s herald.Seq) string { return strconv.FormatInt(int64(s), 10) }
