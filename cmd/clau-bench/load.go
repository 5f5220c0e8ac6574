package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/seed"
)

// loadResult is one open-loop run.
type loadResult struct {
	offered   int             // arrivals scheduled
	ok, busy  []time.Duration // latencies from each arrival's scheduled time
	errs      int
	firstErr  error
	elapsed   time.Duration
	rate      float64
	inFlight  int // most sign-ins in progress at once
	abandoned int // arrivals not sent because maxInFlight was reached
}

// maxInFlight bounds the client, so that an overloaded server cannot make
// the benchmark itself run out of memory or sockets.
const maxInFlight = 4096

// openLoop starts sign-ins at rate per second for d, whatever the server
// does: arrivals follow a Poisson process and each sign-in runs in its own
// goroutine. Latency counts from the scheduled arrival, so a slow server
// cannot hide its queue (no coordinated omission).
func (b *signinBench) openLoop(ctx context.Context, base string, rate float64, d time.Duration) loadResult {
	var (
		mu  sync.Mutex
		r   = loadResult{rate: rate}
		wg  sync.WaitGroup
		cur int
	)
	transport := &http.Transport{MaxIdleConnsPerHost: maxInFlight, MaxConnsPerHost: 0}
	defer transport.CloseIdleConnections()
	start := time.Now()
	next := start
	for ctx.Err() == nil {
		next = next.Add(time.Duration(rand.ExpFloat64() / rate * float64(time.Second)))
		if next.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(next))
		r.offered++
		mu.Lock()
		if cur >= maxInFlight {
			r.abandoned++
			mu.Unlock()
			continue
		}
		cur++
		r.inFlight = max(r.inFlight, cur)
		mu.Unlock()
		due := next
		wg.Go(func() {
			var err error
			doc := seed.DNI(rand.IntN(b.citizens))
			if b.oidc != nil {
				err = b.oidc.flow(base, doc, transport)
			} else {
				err = signIn(base, doc, transport)
			}
			el := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			cur--
			switch {
			case err == nil:
				r.ok = append(r.ok, el)
			case errors.Is(err, errBusy):
				r.busy = append(r.busy, el)
			default:
				r.errs++
				if r.firstErr == nil {
					r.firstErr = err
				}
			}
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	slices.Sort(r.ok)
	slices.Sort(r.busy)
	return r
}

// idealQueueP99 is the p99 latency of an ideal server at the same load:
// Poisson arrivals at rate per second, served first come first served by
// slots servers that each take a service time drawn from service (the
// one-at-a-time sign-ins, which include the hash) and nothing else; no
// noise, no collector, no client sharing the cores. It is the floor the
// open loop's p99 can be read against: with Poisson arrivals queueing
// alone makes the p99 a multiple of the service time (4.3× for one slot
// at half its capacity, 2.6× for two). A fixed seed makes it the same
// for the same inputs. At or above the slots' capacity the queue only
// grows, and the p99 says how long the simulation ran.
func idealQueueP99(service []time.Duration, slots int, rate float64) time.Duration {
	const arrivals = 200_000
	if len(service) == 0 || slots < 1 || rate <= 0 {
		return 0
	}
	rng := rand.New(rand.NewPCG(1, 2))
	free := make([]float64, slots) // when each server is next free, in seconds
	lat := make([]time.Duration, arrivals)
	var now float64
	for i := range lat {
		now += rng.ExpFloat64() / rate
		k := 0
		for j := range free {
			if free[j] < free[k] {
				k = j
			}
		}
		free[k] = max(now, free[k]) + service[rng.IntN(len(service))].Seconds()
		lat[i] = time.Duration((free[k] - now) * float64(time.Second))
	}
	slices.Sort(lat)
	return percentile(lat, 0.99)
}

// parseLoads reads -load: comma-separated multiples of the peak rate.
func parseLoads(s string) ([]float64, error) {
	if s == "" {
		return nil, nil
	}
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v > 20 {
			return nil, fmt.Errorf("-load: %q is not a multiple of the peak rate in (0, 20]", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// reportLoads runs the open-loop part of a benchmark: the single sign-in
// latency (one browser at a time), then each multiple of the peak rate
// measured in closed loop, and prints one table.
func (b *signinBench) reportLoads(ctx context.Context, out, log io.Writer, srv *server, peak float64, loads []float64) error {
	base := srv.base
	conc := b.concurrency
	b.concurrency = 1
	one := b.run(ctx, base, min(b.duration, 10*time.Second))
	b.concurrency = conc
	if err := one.failed("single sign-ins"); err != nil {
		return err
	}
	single := one.lat
	if len(single) == 0 {
		return errors.New("no single sign-in finished")
	}
	slices.Sort(single)
	slots := secure.DefaultConcurrency(b.params, serverCPUs())
	fmt.Fprintf(out, "\nopen loop (Poisson arrivals, latency from the scheduled arrival); peak %.1f/s closed loop; one at a time: p50 %s, p99 %s; "+
		"ideal server: %d sign-in(s) at once (the server's hashing slots), each as long as one drawn from the one-at-a-time sign-ins, first come first served, the same arrival rate\n\n",
		peak, fmtDur(percentile(single, 0.5)), fmtDur(percentile(single, 0.99)), slots)
	fmt.Fprintln(out, "| load | offered/s | completed/s | refused (503) | p50 | p99 | p99 / single p50 | ideal server: p99 / single p50 | refusal p99 | errors |")
	fmt.Fprintln(out, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, m := range loads {
		fmt.Fprintf(log, "open loop at %.2g× the peak (%.1f/s) for %s\n", m, m*peak, b.duration)
		// With -profile, the server's execution trace of each level's
		// window goes to FILE.<level>x.trace: where requests waited
		// (go tool trace -pprof=sched|sync|syscall FILE).
		traceDone := make(chan error, 1)
		tracePath := ""
		if b.profile != "" && srv.pprof != "" && b.duration > 2*time.Second {
			tracePath = fmt.Sprintf("%s.%gx.trace", b.profile, m)
			go func() {
				traceDone <- download(fmt.Sprintf("%s/debug/pprof/trace?seconds=%d", srv.pprof, int((b.duration-time.Second).Seconds())), tracePath)
			}()
		} else {
			traceDone <- nil
		}
		r := b.openLoop(ctx, base, m*peak, b.duration)
		if err := <-traceDone; err != nil {
			return fmt.Errorf("trace: %w", err)
		} else if tracePath != "" {
			fmt.Fprintf(log, "server execution trace in %s: go tool trace -pprof=sched %s\n", tracePath, tracePath)
		}
		if r.firstErr != nil {
			fmt.Fprintln(log, "first failure:", r.firstErr)
		}
		refusal := "–"
		if len(r.busy) > 0 {
			refusal = fmtDur(percentile(r.busy, 0.99))
		}
		// Past the ideal server's capacity its queue has no p99 to give.
		ideal := "–"
		if m*peak < float64(slots)/mean(single).Seconds() {
			ideal = fmt.Sprintf("%.1f", float64(idealQueueP99(single, slots, m*peak))/float64(percentile(single, 0.5)))
		}
		fmt.Fprintf(out, "| %.2g× | %.1f | %.1f | %d (%.0f%%) | %s | %s | %.1f | %s | %s | %d |\n",
			m, float64(r.offered)/r.elapsed.Seconds(), float64(len(r.ok))/r.elapsed.Seconds(),
			len(r.busy), 100*float64(len(r.busy))/float64(max(r.offered, 1)),
			fmtDur(percentile(r.ok, 0.5)), fmtDur(percentile(r.ok, 0.99)),
			float64(percentile(r.ok, 0.99))/float64(percentile(single, 0.5)),
			ideal, refusal, r.errs+r.abandoned)
		// Let the server drain before the next level.
		time.Sleep(warmup(b.duration))
	}
	return nil
}

// mean is the average of d (0 for none).
func mean(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return sum / time.Duration(max(len(d), 1))
}
