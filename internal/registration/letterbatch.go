package registration

import (
	"context"
	"fmt"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// PrintLetter is a queued letter with its code opened, for printing.
type PrintLetter struct {
	ID          string
	Language    string
	Recipient   string
	Address     []string
	Code        string // XXXX-XXXX-XXXX-XXXX
	ActivateURL string
	ExpiresAt   time.Time
	CreatedAt   time.Time
}

// PrintBatch returns the letters queued before until, oldest first, with
// their codes opened; the download is audited. The codes can be read only
// until the batch is marked sent.
func (s *Service) PrintBatch(ctx context.Context, a Actor, until time.Time) ([]PrintLetter, error) {
	if s.letters == nil {
		return nil, ErrLettersOff
	}
	ls, err := s.store.QueuedLetters(ctx, until)
	if err != nil {
		return nil, err
	}
	out := make([]PrintLetter, 0, len(ls))
	for _, l := range ls {
		code, err := s.letters.opts.Keyring.Open(l.CodeSealed, store.SealedValue{Table: "letters",
			Column: "code_sealed", RowID: l.ID}.AAD())
		if err != nil {
			return nil, fmt.Errorf("letter %s: open its code: %w", l.ID, err)
		}
		out = append(out, PrintLetter{ID: l.ID, Language: l.Language, Recipient: l.Recipient, Address: l.Address,
			Code: secure.FormatActivationCode(string(code)), ActivateURL: s.letters.opts.ActivateURL,
			ExpiresAt: l.ExpiresAt, CreatedAt: l.CreatedAt})
	}
	ev := a.event("letter.print", "letters", map[string]string{"letters": fmt.Sprint(len(out)),
		"until": until.UTC().Format(time.RFC3339Nano)})
	if err := audit.New(s.store, s.opts.Now).Record(ctx, *ev); err != nil {
		return nil, err
	}
	return out, nil
}

// MarkLettersSent marks the letters queued before until as sent, wipes
// their codes and tells each citizen by email, all in one transaction.
func (s *Service) MarkLettersSent(ctx context.Context, a Actor, until time.Time) (int, error) {
	if s.letters == nil {
		return 0, ErrLettersOff
	}
	now := s.opts.Now().UTC()
	n := 0
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		ls, err := tx.QueuedLetters(ctx, until)
		if err != nil {
			return err
		}
		for _, l := range ls {
			c, err := tx.CitizenByID(ctx, l.CitizenID)
			if err != nil {
				return err
			}
			if c.Email == "" {
				continue
			}
			if _, _, err := s.notify.Queue(ctx, tx, notify.Request{Channel: notify.Email, To: c.Email,
				Template: "letter.posted", Language: c.Language, EventKey: "letter_posted:" + l.ID,
				Data: map[string]any{"Date": now.Format("02/01/2006"), "URL": s.letters.opts.ActivateURL,
					"Expires": l.ExpiresAt.Format("02/01/2006")}}); err != nil {
				return err
			}
		}
		n, err = tx.MarkLettersSent(ctx, until, now)
		if err != nil {
			return err
		}
		if n != len(ls) {
			return store.ErrStale // a letter changed between the two statements: run again
		}
		return audit.Append(ctx, tx, a.event("letter.sent", "letters", map[string]string{"letters": fmt.Sprint(n),
			"until": until.UTC().Format(time.RFC3339Nano)}))
	})
	return n, err
}
