package broker

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"
)

// SignIn is the sign-in pages as a protocol front-end sees them. The
// front-end starts a Transaction for its own service (Start, with the
// service's ID and display name, its level, methods, force_authn and the
// front-end's continue path) and hands it to Begin, which ties it to the
// browser and does what comes next: SSO from the browser's session,
// step-up, or the method chooser. Once the transaction is done the
// browser goes to Request.ContinueURL, where the front-end reads the
// outcome with Outcome. Nothing about the service travels in a URL the
// browser could change.
//
// The citizen pages implement it; front-ends depend on this interface
// only, so dependencies keep pointing inward.
type SignIn interface {
	Begin(w http.ResponseWriter, r *http.Request, t *Transaction)
}

// LocalSP is the service of Clau's own pages (/login?continue=/me).
const LocalSP = "local"

// ErrTxPending: the transaction has not (or not successfully) finished.
var ErrTxPending = errors.New("broker: login transaction not done")

// Outcome returns transaction id as it ended, for the front-end that
// started it for service sp: ErrTxUnknown when there is no such
// transaction or it belongs to another service (two tabs never mix),
// ErrTxExpired when it is too old, ErrTxPending when it is not done.
func (b *Broker) Outcome(ctx context.Context, id, sp string) (*Transaction, error) {
	if id == "" {
		return nil, ErrTxUnknown
	}
	t, err := b.load(ctx, b.store, id)
	if err != nil {
		return nil, err
	}
	if t.Request.SP != sp {
		return nil, ErrTxUnknown
	}
	if !b.opts.Now().Before(t.ExpiresAt) {
		return nil, ErrTxExpired
	}
	if t.State != StateDone {
		return nil, ErrTxPending
	}
	return t, nil
}

// maxSPName bounds the service name pages show.
const maxSPName = 120

// DisplayName is the first of names that is not blank, made fit to show:
// control characters become spaces, runs of space one, at most 120
// characters. The last name should be the service's ID, so the citizen
// always sees which service asked.
func DisplayName(names ...string) string {
	for _, n := range names {
		n = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
				return ' '
			}
			return r
		}, n)
		n = strings.Join(strings.Fields(n), " ")
		if n == "" {
			continue
		}
		if utf8.RuneCountInString(n) > maxSPName {
			n = string([]rune(n)[:maxSPName-1]) + "…"
		}
		return n
	}
	return ""
}
