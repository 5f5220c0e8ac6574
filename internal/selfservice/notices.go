package selfservice

import (
	"context"
	"fmt"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/store"
)

// Security events a citizen is told about. Each names a template pair in
// internal/notify/templates: "email.<event>" and "sms.<event>".
const (
	NoticePasswordChanged = "password_changed"
	NoticeEmailChanged    = "email_changed"
	NoticeMobileChanged   = "mobile_changed"
	NoticePasskeyAdded    = "passkey_added"
)

// Recipients of a notice: where it goes besides the citizen's current
// email and mobile (the old ones, after a change).
type Recipients struct {
	Email  []string
	Mobile []string
}

// Language is the language of a citizen's messages: their stored
// preference, else the language of the page they used.
func Language(c *identity.Citizen, page string) string {
	if c.Language != "" {
		return c.Language
	}
	return page
}

// Notify queues the notice of event to every address in r, through tx so
// it commits with the change it reports. key makes it once-only (the
// change's ID or version).
func (s *Service) Notify(ctx context.Context, tx store.Outbox, c *identity.Citizen, event, key, lang string, r Recipients,
	extra map[string]any) error {
	data := map[string]any{"When": s.opts.Now().In(madrid).Format("02/01/2006 15:04")}
	for k, v := range extra {
		data[k] = v
	}
	send := func(ch notify.Channel, tmpl, to string, n int) error {
		if to == "" {
			return nil
		}
		_, _, err := s.notify.Queue(ctx, tx, notify.Request{Channel: ch, To: to, Template: tmpl,
			Language: Language(c, lang), Data: data, EventKey: fmt.Sprintf("notice:%s:%s:%s:%d", event, key, ch, n)})
		return err
	}
	for i, to := range r.Email {
		if err := send(notify.Email, "email."+event, to, i); err != nil {
			return err
		}
	}
	for i, to := range r.Mobile {
		if err := send(notify.SMS, "sms."+event, to, i); err != nil {
			return err
		}
	}
	return nil
}

// PasskeyAdded tells the citizen a passkey was added to their account;
// the passkey method calls it inside the transaction that stores it.
func (s *Service) PasskeyAdded(ctx context.Context, tx store.Tx, c *identity.Citizen, k *store.Passkey) error {
	return s.Notify(ctx, tx, c, NoticePasskeyAdded, k.ID, c.Language,
		Recipients{Email: []string{c.Email}, Mobile: []string{c.Mobile}}, map[string]any{"Name": k.Name})
}
