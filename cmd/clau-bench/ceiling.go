package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clau-eid/clau/internal/secure"
)

// ceiling is one piece of work (a password verification, signing a SAML
// response) done alone in this process from GOMAXPROCS goroutines, before
// the server's measured window while the server is idle: how fast this
// machine does it with nothing else to do. The flows' figures are read
// against it.
type ceiling struct {
	ops        int
	goroutines int
	elapsed    time.Duration
	cpu        time.Duration // this process's CPU time over it (getrusage)
}

func (c ceiling) perSecond() float64 { return float64(c.ops) / c.elapsed.Seconds() }

// cpuPerOp is the CPU time one operation costs.
func (c ceiling) cpuPerOp() time.Duration { return c.cpu / time.Duration(max(c.ops, 1)) }

// perCore is operations per second of CPU.
func (c ceiling) perCore() float64 { return float64(c.ops) / c.cpu.Seconds() }

// plus is c and o measured one after the other: their operations, times
// and CPU added.
func (c ceiling) plus(o ceiling) ceiling {
	return ceiling{ops: c.ops + o.ops, goroutines: max(c.goroutines, o.goroutines), elapsed: c.elapsed + o.elapsed, cpu: c.cpu + o.cpu}
}

// measureCeiling runs op from GOMAXPROCS goroutines for d.
func measureCeiling(ctx context.Context, d time.Duration, op func() error) (ceiling, error) {
	c := ceiling{goroutines: runtime.GOMAXPROCS(0)}
	runtime.GC()
	var (
		wg    sync.WaitGroup
		n     atomic.Int64
		first atomic.Pointer[error]
	)
	start, c0 := time.Now(), selfCPU()
	stop := start.Add(d)
	for range c.goroutines {
		wg.Go(func() {
			for time.Now().Before(stop) && ctx.Err() == nil && first.Load() == nil {
				if err := op(); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	c.cpu, c.elapsed, c.ops = selfCPU()-c0, time.Since(start), int(n.Load())
	if p := first.Load(); p != nil {
		return c, *p
	}
	if c.ops == 0 {
		return c, errors.New("no operation finished")
	}
	return c, ctx.Err()
}

// ceilingTime is how long a ceiling is measured: 3 s, or the measured
// time when that is shorter (smoke runs).
func ceilingTime(measured time.Duration) time.Duration { return min(3*time.Second, measured) }

// hashCeiling is secure.Hasher.Verify of the bench password with params.
func hashCeiling(ctx context.Context, params secure.Argon2Params, d time.Duration) (ceiling, error) {
	h := secure.NewHasher(params, runtime.GOMAXPROCS(0), nil)
	phc, err := h.Hash(ctx, benchPassword)
	if err != nil {
		return ceiling{}, err
	}
	return measureCeiling(ctx, d, func() error {
		ok, _, err := h.Verify(ctx, benchPassword, phc)
		if err == nil && !ok {
			err = errors.New("verify: the bench password does not match its hash")
		}
		return err
	})
}

// namedCeiling is a row of a ceiling table: which slices it adds up.
type namedCeiling struct {
	which string
	c     ceiling
}

// printCeilings writes a ceiling table of one row per entry under title.
func printCeilings(out io.Writer, title, what, op, ops string, rows ...namedCeiling) {
	fmt.Fprintf(out, "\n%s\n\n", title)
	fmt.Fprintf(out, "| %s | %s | seconds | %s/s on this machine | %s/s per core | CPU per %s |\n", what, ops, ops, ops, op)
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		c := r.c
		fmt.Fprintf(out, "| %s | %d | %.1f | %.1f | %.1f | %s |\n", r.which, c.ops, c.elapsed.Seconds(), c.perSecond(), c.perCore(), fmtDur(c.cpuPerOp()))
	}
}

// sliceEvery is how long a measured round runs before the next slice of
// its ceiling: this machine's speed drifts by a tenth and more within a
// minute, so a ceiling measured once, before the server, can be read
// against a window that ran on a faster or slower machine.
const sliceEvery = 5 * time.Second
