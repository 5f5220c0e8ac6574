package pin

import (
	"context"
	"errors"
	"fmt"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/store"
)

// NotifyExpiring announces, by SMS and email, the end of every PIN service
// that expires within NoticeBefore and was not yet told, once per period
// (renewing starts a new one). Any process may run it: the store lets one
// of them mark each service. It returns how many citizens were told.
func (m *Method) NotifyExpiring(ctx context.Context) (int, error) {
	now := m.opts.Now().UTC()
	due, err := m.store.PINServicesToNotify(ctx, now, now.Add(m.opts.NoticeBefore), 500)
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := range due {
		p := &due[i]
		err := m.store.InTx(ctx, func(tx store.Tx) error {
			c, err := tx.CitizenByID(ctx, p.CitizenID)
			if err != nil {
				return err
			}
			if err := tx.MarkPINNoticeSent(ctx, p, now); err != nil {
				return err
			}
			data := map[string]any{"Until": dateOf(p.ExpiresAt)}
			key := fmt.Sprintf("pin_expiring:%s:%d", c.ID, p.ExpiresAt.UnixMicro())
			if c.Mobile != "" {
				if _, _, err := m.notifier.Queue(ctx, tx, notify.Request{Channel: notify.SMS, To: c.Mobile,
					Template: "sms.pin_expiring", Language: c.Language, Data: data, EventKey: key + ":sms"}); err != nil {
					return err
				}
			}
			if c.Email != "" {
				if _, _, err := m.notifier.Queue(ctx, tx, notify.Request{Channel: notify.Email, To: c.Email,
					Template: "email.pin_expiring", Language: c.Language, Data: data, EventKey: key + ":email"}); err != nil {
					return err
				}
			}
			return audit.Append(ctx, tx, &audit.Event{At: now, Actor: "system", Action: "pin.expiry_notice",
				Subject: "citizen:" + c.ID, Details: map[string]string{"expires": p.ExpiresAt.Format("2006-01-02")}})
		})
		if errors.Is(err, store.ErrStale) {
			continue // renewed meanwhile, or another process told them
		}
		if err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}
