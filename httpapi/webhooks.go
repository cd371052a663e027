package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/webhook"
	"github.com/herald-chat/herald/wire"
)

func (s *Server) webhookRoutes() {
	if s.cfg.Webhooks == nil {
		return
	}
	s.route("POST /admin/webhooks", "CreateWebhook", s.createWebhook)
	s.route("GET /admin/webhooks", "ListWebhooks", s.listWebhooks)
	s.route("GET /admin/webhooks/{webhookId}", "GetWebhook", s.getWebhook)
	s.route("DELETE /admin/webhooks/{webhookId}", "DeleteWebhook", s.deleteWebhook)
	s.route("GET /admin/webhooks/{webhookId}/deliveries", "ListWebhookDeliveries", s.listWebhookDeliveries)
	s.route("GET /admin/webhooks/{webhookId}/deliveries/{deliveryId}", "GetWebhookDelivery", s.getWebhookDelivery)
	s.route("POST /admin/webhooks/{webhookId}/deliveries/{deliveryId}/:retry", "RetryWebhookDelivery", s.retryWebhookDelivery)
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	var in wire.CreateWebhookRequest
	if err := s.decode(w, r, &in, false); err != nil {
		return err
	}
	hook, err := s.cfg.Webhooks.Create(r.Context(), webhook.Spec{URL: in.URL, Schema: herald.WebhookSchema(in.Schema),
		EventTypes: in.EventTypes, Secret: in.Secret})
	if err != nil {
		return err
	}
	out := wire.FromWebhook(hook)
	out.Secret = hook.Secret
	w.Header().Set("Location", "/admin/webhooks/"+string(hook.ID))
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	hs, err := s.store.ListWebhooks(r.Context())
	if err != nil {
		return err
	}
	out := wire.WebhookList{Value: make([]wire.Webhook, 0, len(hs))}
	for _, h := range hs {
		v, err := s.webhookWithCounts(r, h)
		if err != nil {
			return err
		}
		out.Value = append(out.Value, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) webhookWithCounts(r *http.Request, h herald.Webhook) (wire.Webhook, error) {
	v := wire.FromWebhook(h)
	counts, err := s.store.CountWebhookDeliveries(r.Context(), h.ID)
	if err != nil {
		return v, err
	}
	v.Deliveries = map[string]int{}
	for _, st := range []herald.DeliveryState{herald.DeliveryPending, herald.DeliveryDelivered, herald.DeliveryDead} {
		v.Deliveries[string(st)] = counts[st]
	}
	return v, nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	h, err := s.cfg.Webhooks.Get(r.Context(), herald.WebhookID(r.PathValue("webhookId")))
	if err != nil {
		return err
	}
	v, err := s.webhookWithCounts(r, h)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	if err := s.cfg.Webhooks.Delete(r.Context(), herald.WebhookID(r.PathValue("webhookId"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listWebhookDeliveries answers GET …/deliveries?state=&thread=&maxPageSize=&before=,
// newest first.
func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	id := herald.WebhookID(r.PathValue("webhookId"))
	if _, err := s.cfg.Webhooks.Get(r.Context(), id); err != nil {
		return err
	}
	q := query{r: r}
	f := herald.WebhookDeliveryFilter{Webhook: id, Thread: herald.ThreadID(r.URL.Query().Get("thread")),
		State: herald.DeliveryState(r.URL.Query().Get("state")), Limit: q.pageSize()}
	switch f.State {
	case "", herald.DeliveryPending, herald.DeliveryDelivered, herald.DeliveryDead:
	default:
		q.fail(herald.ReasonInvalidField, "state", "state must be pending, delivered or dead, got %q", f.State)
	}
	if b := r.URL.Query().Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			q.fail(herald.ReasonInvalidCursor, "before", "before must be a delivery id, got %q", b)
		}
		f.Before = n
	}
	if q.err != nil {
		return q.err
	}
	ds, err := s.store.ListWebhookDeliveries(r.Context(), f)
	if err != nil {
		return err
	}
	out := wire.WebhookDeliveryList{Value: make([]wire.WebhookDelivery, 0, len(ds))}
	for _, d := range ds {
		out.Value = append(out.Value, wire.FromWebhookDelivery(d))
	}
	if len(ds) == f.Limit && len(ds) > 0 {
		next := url.Values{"before": {strconv.FormatInt(ds[len(ds)-1].ID, 10)}, "maxPageSize": {strconv.Itoa(f.Limit)}}
		if f.State != "" {
			next.Set("state", string(f.State))
		}
		if f.Thread != "" {
			next.Set("thread", string(f.Thread))
		}
		out.NextLink = "/admin/webhooks/" + url.PathEscape(string(id)) + "/deliveries?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deliveryID(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue("deliveryId"), 10, 64)
	if err != nil || n <= 0 {
		return 0, herald.Errorf(herald.CodeNotFound, herald.ReasonWebhookDeliveryNotFound,
			"no webhook delivery %q: delivery ids are positive integers", r.PathValue("deliveryId")).WithTarget("deliveryId")
	}
	return n, nil
}

func (s *Server) getWebhookDelivery(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	n, err := s.deliveryID(r)
	if err != nil {
		return err
	}
	d, attempts, err := s.cfg.Webhooks.Delivery(r.Context(), herald.WebhookID(r.PathValue("webhookId")), n)
	if err != nil {
		return err
	}
	out := wire.FromWebhookDelivery(d)
	out.Events = d.Events
	for _, a := range attempts {
		out.AttemptLog = append(out.AttemptLog, wire.FromWebhookAttempt(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) retryWebhookDelivery(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	n, err := s.deliveryID(r)
	if err != nil {
		return err
	}
	d, err := s.cfg.Webhooks.Retry(r.Context(), herald.WebhookID(r.PathValue("webhookId")), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.FromWebhookDelivery(d))
	return nil
}
