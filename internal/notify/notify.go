// Package notify sends SMS and email to citizens and staff. Every message is
// first recorded in the store's outbox (so a crash never loses one and an
// event never sends twice), then a dispatcher hands it to the configured
// driver: "outbox" (kept in the store only: the default, and what tests
// read), "smtp" for email, or "http" for an SMS provider's HTTP API.
//
// It owns message templates per language and delivery with retries. It
// must not know why a message is sent: callers pass a template ID and data.
package notify

import (
	"context"
	"errors"
	"fmt"
)

// Channel is how a message travels.
type Channel string

const (
	SMS   Channel = "sms"
	Email Channel = "email"
)

// Message is one rendered message ready for a driver.
type Message struct {
	ID       string // unique; also the idempotency key given to providers
	Channel  Channel
	To       string // E.164 phone number or email address
	Subject  string // email only
	Body     string // plain text
	Language string // ca, es or en
	EventKey string // the event that caused it; one message per key
	Attempt  int    // 1 for the first try
}

// Sender delivers a message through one driver. It returns an error
// wrapped with Permanent when retrying cannot help (a rejected address, a
// 4xx from the provider); any other error is retried with backoff.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent marks a delivery failure that retrying cannot fix.
var ErrPermanent = errors.New("permanent delivery failure")

// Permanent wraps err so IsPermanent reports true.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// IsPermanent reports whether err must not be retried.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }
