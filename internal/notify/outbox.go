package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// OutboxDriver is the name of the driver that only keeps messages.
const OutboxDriver = "outbox"

// Request asks for one message.
type Request struct {
	Channel  Channel
	To       string
	Template string
	Language string
	Data     map[string]any
	// EventKey names the event the message is for (e.g. "sms_otp:<code id>").
	// A second request with the same key sends nothing.
	EventKey string
}

// Notifier records messages in the outbox. With a channel's driver set to
// "outbox" the message is final once recorded; otherwise the Dispatcher
// delivers it.
type Notifier struct {
	templates *Templates
	delivered map[Channel]bool // channels whose driver is the outbox itself
	now       func() time.Time
}

// NewNotifier returns a notifier. outboxOnly lists the channels whose
// driver is "outbox".
func NewNotifier(t *Templates, outboxOnly []Channel, now func() time.Time) *Notifier {
	if now == nil {
		now = time.Now
	}
	n := &Notifier{templates: t, delivered: map[Channel]bool{}, now: now}
	for _, c := range outboxOnly {
		n.delivered[c] = true
	}
	return n
}

// Queue renders the request and records it through s (pass a store.Tx to
// commit the message with the change that causes it). It returns the
// message ID and whether it was recorded now (false: the event already had
// its message).
func (n *Notifier) Queue(ctx context.Context, s store.Outbox, r Request) (string, bool, error) {
	if r.EventKey == "" {
		return "", false, errors.New("notify: request without an event key")
	}
	if r.Channel != SMS && r.Channel != Email {
		return "", false, fmt.Errorf("notify: unknown channel %q", r.Channel)
	}
	subject, body, lang, err := n.templates.Render(r.Template, r.Language, r.Data)
	if err != nil {
		return "", false, err
	}
	now := n.now().UTC()
	m := &store.OutboxMessage{
		ID: store.NewID(), Channel: string(r.Channel), Recipient: r.To, Subject: subject, Body: body,
		Language: lang, EventKey: r.EventKey, Status: store.MsgPending, NextAttemptAt: now, CreatedAt: now,
	}
	if n.delivered[r.Channel] {
		m.Status, m.Driver, m.SentAt, m.Attempts = store.MsgSent, OutboxDriver, now, 1
	}
	ok, err := s.EnqueueMessage(ctx, m)
	if err != nil {
		return "", false, err
	}
	return m.ID, ok, nil
}

// QueueBoth queues r once by email and once by SMS, to whichever of the
// two addresses is set: a notice to a person's email and mobile. Each
// message's event key is r.EventKey plus its channel.
func (n *Notifier) QueueBoth(ctx context.Context, s store.Outbox, email, mobile string, r Request) error {
	key := r.EventKey
	for _, ch := range []struct {
		channel Channel
		to      string
	}{{Email, email}, {SMS, mobile}} {
		if ch.to == "" {
			continue
		}
		r.Channel, r.To, r.EventKey = ch.channel, ch.to, key+":"+string(ch.channel)
		if _, _, err := n.Queue(ctx, s, r); err != nil {
			return err
		}
	}
	return nil
}

// RetryPolicy says how often and how long delivery is retried.
type RetryPolicy struct {
	MaxAttempts int
	Base        time.Duration // wait after the first failure; doubles each time
	Max         time.Duration // longest wait
}

// Dispatcher delivers recorded messages through the real drivers, with
// retries and backoff, from any number of processes at once.
type Dispatcher struct {
	store   store.Outbox
	senders map[Channel]Sender
	drivers map[Channel]string
	retry   RetryPolicy
	now     func() time.Time
	log     *slog.Logger
	lease   time.Duration
	// Observe, when set, is told each attempt's outcome (for metrics).
	Observe func(channel, driver, outcome string)
}

// NewDispatcher returns a dispatcher for the channels that have a sender;
// drivers names each sender for the record.
func NewDispatcher(s store.Outbox, senders map[Channel]Sender, drivers map[Channel]string, retry RetryPolicy,
	now func() time.Time, log *slog.Logger) *Dispatcher {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{store: s, senders: senders, drivers: drivers, retry: retry, now: now, log: log, lease: 2 * time.Minute}
}

// RunOnce claims due messages and tries each once; it returns how many it
// tried.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	msgs, err := d.store.ClaimMessages(ctx, d.now().UTC(), d.lease, 20)
	if err != nil {
		return 0, err
	}
	for i := range msgs {
		d.deliver(ctx, &msgs[i])
	}
	return len(msgs), nil
}

func (d *Dispatcher) deliver(ctx context.Context, m *store.OutboxMessage) {
	ch := Channel(m.Channel)
	sender := d.senders[ch]
	m.Attempts++
	now := d.now().UTC()
	var err error
	if sender == nil {
		// A message recorded while this channel's driver was something
		// else, now the outbox: recording it was its delivery.
		m.Driver = OutboxDriver
	} else {
		m.Driver = d.drivers[ch]
		sendCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err = sender.Send(sendCtx, Message{ID: m.ID, Channel: ch, To: m.Recipient, Subject: m.Subject,
			Body: m.Body, Language: m.Language, EventKey: m.EventKey, Attempt: m.Attempts})
		cancel()
	}
	outcome := "sent"
	switch {
	case err == nil:
		m.Status, m.SentAt, m.LastError = store.MsgSent, now, ""
	case IsPermanent(err) || m.Attempts >= d.retry.MaxAttempts:
		m.Status, m.LastError, outcome = store.MsgFailed, truncate(err.Error(), 500), "failed"
	default:
		m.Status, m.LastError, outcome = store.MsgPending, truncate(err.Error(), 500), "retry"
		m.NextAttemptAt = now.Add(d.backoff(m.Attempts))
	}
	if err != nil {
		d.log.Warn("notify: delivery failed", "message", m.ID, "channel", m.Channel,
			"to", maskRecipient(ch, m.Recipient), "attempt", m.Attempts, "outcome", outcome, "error", err.Error())
	}
	if d.Observe != nil {
		d.Observe(m.Channel, m.Driver, outcome)
	}
	// Record the outcome even if the caller's context is ending, so a sent
	// message is not sent again.
	if ferr := d.store.FinishMessage(context.WithoutCancel(ctx), m); ferr != nil {
		d.log.Error("notify: cannot record delivery outcome", "message", m.ID, "error", ferr.Error())
	}
}

func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := d.retry.Base << min(attempt-1, 20)
	if b > d.retry.Max || b <= 0 {
		b = d.retry.Max
	}
	// ±20% jitter so many failed messages do not retry in lock step.
	j := time.Duration(rand.Int64N(int64(b)/5 + 1))
	return b - b/10 + j
}

// Run delivers due messages every interval until ctx ends.
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := d.RunOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.log.Error("notify: claim failed", "error", err.Error())
				}
				break
			}
			if n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func maskRecipient(ch Channel, to string) string {
	if ch == SMS {
		return secure.MaskPhone(to)
	}
	return secure.MaskEmail(to)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
