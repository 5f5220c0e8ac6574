package main

import (
	"context"
	"errors"
	"sync"
	"time"
)

// declined is an answer that is neither a success nor a failure: admission
// control's "busy, retry later", a slot someone else has just taken.
// runWorkers counts these apart and keeps no latency for them.
type declined struct{ error }

// errBusy is a sign-in that admission control turned away (503 with
// Retry-After): an answer, not a failure, under overload.
var errBusy error = declined{errors.New("busy: 503 with Retry-After")}

// errDone is what an operation returns when there is nothing left to do
// (the codes of a round are used up): its worker stops.
var errDone = errors.New("no more work")

// loopResult is what a closed loop of workers did.
type loopResult struct {
	lat      []time.Duration // latency of each successful operation
	errs     int             // failed operations
	busy     int             // declined answers (see declined)
	firstErr error           // the first failure, to show
}

// worker is one closed-loop client: id numbers it from 0.
type worker struct {
	id int
	t0 time.Time
}

// begin restarts the operation's clock: work done before it (making a
// client certificate, signing a request) is not in the latency.
func (w *worker) begin() { w.t0 = time.Now() }

// runWorkers runs op again and again from concurrency workers, each
// starting its next operation when the last one has answered (a closed
// loop), until deadline or until ctx is done. A zero deadline means no
// time limit: the workers run until op returns errDone.
func runWorkers(ctx context.Context, deadline time.Time, concurrency int, op func(w *worker) error) loopResult {
	var (
		mu sync.Mutex
		r  loopResult
		wg sync.WaitGroup
	)
	for id := range concurrency {
		wg.Go(func() {
			w := &worker{id: id}
			for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
				w.begin()
				err := op(w)
				el := time.Since(w.t0)
				if errors.Is(err, errDone) {
					return
				}
				mu.Lock()
				var d declined
				switch {
				case err == nil:
					r.lat = append(r.lat, el)
				case errors.As(err, &d):
					r.busy++
				default:
					r.errs++
					if r.firstErr == nil {
						r.firstErr = err
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return r
}
