package secure

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// The admission decision is arithmetic over the queue and the recent time
// per hash; these cases set both and hold the slots, so nothing depends on
// how fast this machine hashes.
func TestAdmissionControl(t *testing.T) {
	cases := []struct {
		name      string
		slots     int
		avg       time.Duration
		maxWait   time.Duration
		queued    int // already waiting before the request
		wantBusy  bool
		wantRetry time.Duration
	}{
		{"first in line fits", 1, 100 * time.Millisecond, 150 * time.Millisecond, 0, false, 0},
		{"second in line would wait too long", 1, 100 * time.Millisecond, 150 * time.Millisecond, 1, true, time.Second},
		{"more slots drain the queue faster", 4, 100 * time.Millisecond, 150 * time.Millisecond, 4, false, 0},
		{"retry after rounds the expected wait up", 2, 2 * time.Second, time.Second, 4, true, 5 * time.Second},
		{"no estimate yet: queue", 1, 0, time.Nanosecond, 10, false, 0},
		{"no limit: queue", 1, time.Second, 0, 10, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := NewHasher(Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, c.slots, nil)
			h.SetQueueLimit(c.maxWait)
			h.avg.Store(int64(c.avg))
			release := h.Saturate()
			defer release()
			h.waiting.Add(int64(c.queued))
			// Admit, the early check, decides as the hash's own admission does.
			var early *BusyError
			if err := h.Admit(); c.wantBusy != errors.As(err, &early) || c.wantBusy && early.RetryAfter != c.wantRetry {
				t.Fatalf("Admit() = %v, want busy %v (retry %s)", err, c.wantBusy, c.wantRetry)
			}
			h.refused.Store(0)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := h.acquire(ctx)
			var busy *BusyError
			switch {
			case c.wantBusy:
				if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) {
					t.Fatalf("err = %v, want a BusyError", err)
				}
				if busy.RetryAfter != c.wantRetry {
					t.Fatalf("RetryAfter = %s, want %s", busy.RetryAfter, c.wantRetry)
				}
				if d := time.Since(start); d > 40*time.Millisecond {
					t.Fatalf("refusal took %s: it must not wait", d)
				}
				if h.Refused() != 1 {
					t.Fatalf("Refused() = %d", h.Refused())
				}
			default:
				// Admitted: it queues until the context ends, as the slots stay full.
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want to have queued until the deadline", err)
				}
				if h.Refused() != 0 {
					t.Fatalf("Refused() = %d", h.Refused())
				}
			}
			if h.Waiting() != c.queued {
				t.Fatalf("Waiting() = %d after the call, want %d", h.Waiting(), c.queued)
			}
		})
	}
}

func TestBusyRefusalLeavesTheSlotsAndProblem(t *testing.T) {
	h := NewHasher(Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, nil)
	h.SetQueueLimit(time.Nanosecond)
	phc, err := h.Hash(context.Background(), "Correct-horse-7")
	if err != nil {
		t.Fatal(err)
	}
	release := h.Saturate()
	h.waiting.Add(1) // someone already in line
	_, _, err = h.Verify(context.Background(), "Correct-horse-7", phc)
	p, ok := BusyProblem(err)
	if !ok || p.Status != http.StatusServiceUnavailable || p.MsgID != "busy.retry" || p.Args["Seconds"] != 1 || p.RetryAfter != time.Second {
		t.Fatalf("BusyProblem(%v) = %+v, %v", err, p, ok)
	}
	if err := h.VerifyDummy(context.Background(), "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("VerifyDummy while busy: %v", err)
	}
	h.waiting.Add(-1)
	release()
	if ok, _, err := h.Verify(context.Background(), "Correct-horse-7", phc); !ok || err != nil {
		t.Fatalf("after the burst: %v %v", ok, err)
	}
	if _, ok := BusyProblem(errors.New("other")); ok {
		t.Fatal("BusyProblem matched another error")
	}
}

// With a slot free, Admit lets the request on whatever the limit.
func TestAdmitWithAFreeSlot(t *testing.T) {
	h := NewHasher(Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, nil)
	h.SetQueueLimit(time.Nanosecond)
	h.avg.Store(int64(time.Second))
	h.waiting.Add(5)
	h.sem <- struct{}{} // one of two slots taken
	defer h.release()
	if err := h.Admit(); err != nil || h.Refused() != 0 {
		t.Fatalf("Admit() = %v, Refused() = %d with a free slot", err, h.Refused())
	}
}
