package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/store"
)

// cmdNotify sends a test message through the configured driver and waits
// for the outcome, so an operator can check SMTP or SMS settings.
func cmdNotify(ctx context.Context, args []string, out io.Writer) error {
	name, rest, err := sub(args, "test")
	if err != nil {
		return err
	}
	fs, cfgPath := flagSet("notify " + name)
	sms := fs.String("sms", "", "send a test SMS to this mobile number")
	email := fs.String("email", "", "send a test email to this address")
	lang := fs.String("language", "en", "ca, es or en")
	a, err := openFromFlags(ctx, fs, cfgPath, rest)
	if err != nil {
		return err
	}
	defer a.close()
	var req notify.Request
	switch {
	case *sms != "":
		to, err := identity.NormaliseMobile(*sms)
		if err != nil {
			return a.explain(err)
		}
		req = notify.Request{Channel: notify.SMS, To: to, Template: "sms.test"}
	case *email != "":
		to, err := identity.NormaliseEmail(*email)
		if err != nil {
			return a.explain(err)
		}
		req = notify.Request{Channel: notify.Email, To: to, Template: "email.test"}
	default:
		return usagef("give --sms NUMBER or --email ADDRESS")
	}
	req.Language = *lang
	req.Data = map[string]any{"Time": time.Now().Format(time.RFC1123)}
	req.EventKey = "notify.test:" + store.NewID()
	id, _, err := a.notifier.Queue(ctx, a.store, req)
	if err != nil {
		return err
	}
	d, err := newDispatcher(a, nil)
	if err != nil {
		return err
	}
	if d != nil {
		if _, err := d.RunOnce(ctx); err != nil {
			return err
		}
	}
	m, err := a.store.MessageByID(ctx, id)
	if err != nil {
		return err
	}
	switch m.Status {
	case store.MsgSent:
		fmt.Fprintf(out, "sent through %s (message %s)\n", m.Driver, m.ID)
		return nil
	case store.MsgPending:
		return fmt.Errorf("not sent yet, will be retried: %s", m.LastError)
	default:
		return fmt.Errorf("delivery failed: %s", m.LastError)
	}
}
