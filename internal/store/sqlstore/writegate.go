package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// writeGate lets one SQLite write transaction of this process run at a
// time; the others wait here, in arrival order, and start the moment the
// one before commits.
//
// SQLite has one writer per database. Without the gate, a second
// BEGIN IMMEDIATE finds the lock taken and SQLite's busy handler puts it
// to sleep for 1, 2, 5, 10, 15, 20, 25… ms, whether or not the lock is
// freed meanwhile. Under load those sleeps, not the work, made the tail:
// a sign-in at half the peak rate waited tens of milliseconds for locks
// held a fraction of a millisecond. The busy timeout stays for another
// process on the same file.
type writeGate chan struct{}

// gateWait is how long a write waits for the gate before failing, as
// the busy timeout would have.
const gateWait = 10 * time.Second

func newWriteGate() writeGate { return make(writeGate, 1) }

func (g writeGate) enter(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("sqlite: another write held the database for over %s", gateWait)
	}
}

func (g writeGate) leave() { <-g }

// writes reports whether a statement run outside a transaction changes
// the database, and so needs the gate.
func writes(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "INSERT", "UPDATE", "DELETE", "REPLAC":
		return true
	}
	return false
}
