// Package audit keeps the append-only, hash-chained audit trail: who did
// what to whom, when, from where, with what outcome. Each event's hash
// covers the previous event's hash and every field of its own, so an
// altered, deleted or reordered event breaks the chain, and Verify says
// where. The chain head is also kept apart, so cutting events off the end
// shows too.
//
// It owns the hashing and checking; the store only keeps the events and
// serialises appends. Callers must mask personal data in Details.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

// Outcomes.
const (
	OK     = "ok"
	Denied = "denied"
	Failed = "error"
)

// Event is what a caller records; the trail adds sequence and hashes.
type Event = store.AuditEvent

// Trail records events in a store.
type Trail struct {
	store interface {
		AppendAudit(ctx context.Context, e *store.AuditEvent, seal func(e *store.AuditEvent) error) error
	}
	now func() time.Time
}

// New returns a trail over s with a clock (nil means time.Now).
func New(s store.AuditLog, now func() time.Time) *Trail {
	if now == nil {
		now = time.Now
	}
	return &Trail{store: s, now: now}
}

// Record appends e in its own transaction.
func (t *Trail) Record(ctx context.Context, e Event) error {
	if e.At.IsZero() {
		e.At = t.now().UTC()
	}
	return Append(ctx, t.store, &e)
}

// Append appends e through log, which may be a store.Tx so the event
// commits or rolls back with the change it records.
func Append(ctx context.Context, log interface {
	AppendAudit(ctx context.Context, e *store.AuditEvent, seal func(e *store.AuditEvent) error) error
}, e *Event) error {
	if e.Outcome == "" {
		e.Outcome = OK
	}
	if e.Action == "" {
		return fmt.Errorf("audit: event without an action")
	}
	return log.AppendAudit(ctx, e, Seal)
}

// Seal sets e.Hash from e.PrevHash and e's fields.
func Seal(e *Event) error {
	h, err := Hash(e)
	if err != nil {
		return err
	}
	e.Hash = h
	return nil
}

// Hash computes an event's chain hash: SHA-256 over a JSON array of the
// previous hash and every field in a fixed order (map keys sorted by
// encoding/json), hex-encoded. Anyone with the events can recompute it.
func Hash(e *Event) (string, error) {
	details := e.Details
	if details == nil {
		details = map[string]string{}
	}
	b, err := json.Marshal([]any{"clau-audit-v1", e.PrevHash, e.Seq, e.At.UnixMicro(), e.Actor, e.Action,
		e.Subject, e.Office, e.Source, e.Outcome, details})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Problem kinds Verify reports.
const (
	Altered   = "altered"   // an event's fields no longer match its hash
	Broken    = "broken"    // an event does not follow the one before it: deleted, inserted or reordered
	Gap       = "gap"       // sequence numbers skip: events were deleted
	Truncated = "truncated" // the chain ends before the recorded head
)

// Finding is one place where the chain does not hold.
type Finding struct {
	Kind   string
	Seq    int64
	Detail string
}

// Report is the result of Verify.
type Report struct {
	Events   int64
	HeadSeq  int64
	HeadHash string
	Findings []Finding // empty when the trail is intact
}

// OK reports whether the trail is intact.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// maxFindings bounds a report on a badly damaged trail.
const maxFindings = 100

// Verify reads the whole trail and checks every link.
func Verify(ctx context.Context, log store.AuditLog) (*Report, error) {
	r := &Report{}
	add := func(f Finding) {
		if len(r.Findings) < maxFindings {
			r.Findings = append(r.Findings, f)
		}
	}
	var (
		prevSeq  int64
		prevHash string
	)
	err := log.ScanAudit(ctx, 1, func(e store.AuditEvent) error {
		r.Events++
		if e.Seq != prevSeq+1 {
			add(Finding{Gap, e.Seq, fmt.Sprintf("event %d follows event %d", e.Seq, prevSeq)})
		}
		if e.PrevHash != prevHash {
			add(Finding{Broken, e.Seq, "its previous-hash is not the hash of the event before it"})
		}
		want, err := Hash(&e)
		if err != nil {
			return err
		}
		if want != e.Hash {
			add(Finding{Altered, e.Seq, "its contents do not match its hash"})
		}
		prevSeq, prevHash = e.Seq, e.Hash
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.HeadSeq, r.HeadHash, err = log.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	if r.HeadSeq != prevSeq || r.HeadHash != prevHash {
		add(Finding{Truncated, prevSeq, fmt.Sprintf("the trail ends at event %d but its head records event %d", prevSeq, r.HeadSeq)})
	}
	return r, nil
}

// exported is one JSON line of Export.
type exported struct {
	Seq      int64             `json:"seq"`
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	Subject  string            `json:"subject,omitempty"`
	Office   string            `json:"office,omitempty"`
	Source   string            `json:"source,omitempty"`
	Outcome  string            `json:"outcome"`
	Details  map[string]string `json:"details,omitempty"`
	PrevHash string            `json:"prev_hash"`
	Hash     string            `json:"hash"`
}

// Export writes events with Seq >= from as JSON lines, oldest first.
func Export(ctx context.Context, log store.AuditLog, w io.Writer, from int64) (int64, error) {
	enc := json.NewEncoder(w)
	var n int64
	err := log.ScanAudit(ctx, from, func(e store.AuditEvent) error {
		n++
		return enc.Encode(exported{e.Seq, e.At, e.Actor, e.Action, e.Subject, e.Office, e.Source, e.Outcome,
			e.Details, e.PrevHash, e.Hash})
	})
	return n, err
}
