// Package devtools holds endpoints for development and tests only, mounted
// when dev.outbox_api is true (it is in `clau demo`, never by default):
// GET /dev/outbox shows the SMS and emails Clau sent, newest first.
package devtools

import (
	"net/http"
	"strconv"
	"time"

	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/store"
)

// OutboxEntry is one message as /dev/outbox shows it.
type OutboxEntry struct {
	ID        string    `json:"id"`
	Channel   string    `json:"channel"`
	Recipient string    `json:"recipient"`
	Subject   string    `json:"subject,omitempty"`
	Body      string    `json:"body"`
	Language  string    `json:"language"`
	Status    string    `json:"status"`
	Time      time.Time `json:"time"`
}

// Mount adds GET /dev/outbox (?limit=N, default 50, at most 500; ?to= to
// filter by recipient).
func Mount(srv *httpserver.Server, s store.Outbox) {
	srv.HandleFunc("GET /dev/outbox", func(w http.ResponseWriter, r *http.Request) {
		limit := 50
		if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 {
			limit = min(v, 500)
		}
		to := r.URL.Query().Get("to")
		msgs, err := s.ListMessages(r.Context(), 500)
		if err != nil {
			srv.WriteError(w, r, err)
			return
		}
		out := []OutboxEntry{}
		for _, m := range msgs {
			if to != "" && m.Recipient != to {
				continue
			}
			out = append(out, OutboxEntry{m.ID, m.Channel, m.Recipient, m.Subject, m.Body, m.Language, m.Status, m.CreatedAt})
			if len(out) == limit {
				break
			}
		}
		httpserver.WriteJSON(w, http.StatusOK, out)
	})
}
