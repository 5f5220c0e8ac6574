package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// settle runs load (a warm-up round) until the server has collected at
// least once, then waits until it has handed back to the kernel the heap
// its first sign-ins left free, so that a window measuring no hashing
// does not pay for that. Each argon2id hash allocates its memory block
// afresh (64 MiB at the default, times the sign-ins in flight); once a
// collection has freed them, the Go runtime's scavenger returns them in
// the background, paced at about 1% of the CPU: on 2 CPUs that took
// 10-15 s, inside the SAML windows, 0.1 ms of madvise per response that
// belongs to the sign-ins. It is done when the free heap the runtime
// still holds is no more than the next collection's goal, both read from
// the server's /metrics (until a collection, the sign-ins' blocks count
// as in use and their goal stands, so the reading means nothing); it
// gives up after limit.
func (s *server) settle(ctx context.Context, limit time.Duration, log io.Writer, load func() error) error {
	start := time.Now()
	m, err := s.memstats(ctx)
	if err != nil {
		return err
	}
	// A warm-up round at least, and another each time no collection has
	// run since the sign-ins.
	for gc0 := m[gcCount]; m[gcCount] == gc0; {
		if err := load(); err != nil {
			return err
		}
		if time.Since(start) > limit {
			fmt.Fprintf(log, "clau-bench: the server has not collected since the sign-ins after %s; measuring anyway\n", limit)
			return nil
		}
		if m, err = s.memstats(ctx); err != nil {
			return err
		}
	}
	for {
		held := m["go_memstats_heap_idle_bytes"] - m["go_memstats_heap_released_bytes"]
		if held <= m["go_memstats_next_gc_bytes"] {
			if d := time.Since(start); d > 5*time.Second {
				fmt.Fprintf(log, "clau-bench: waited %.0fs for the server to return its sign-ins' free heap\n", d.Seconds())
			}
			return nil
		}
		if time.Since(start) > limit {
			fmt.Fprintf(log, "clau-bench: the server still holds %.0f MiB of free heap after %s; measuring anyway\n",
				held/(1<<20), limit)
			return load() // warm again after the wait
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if m, err = s.memstats(ctx); err != nil {
			return err
		}
	}
}

const gcCount = "go_gc_duration_seconds_count"

// memstats reads the Go runtime's go_memstats_* gauges and its count of
// collections from the server's /metrics (Prometheus text format).
func (s *server) memstats(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(name, "go_memstats_") && name != gcCount {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			m[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, k := range []string{gcCount, "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes", "go_memstats_next_gc_bytes"} {
		if _, ok := m[k]; !ok {
			return nil, fmt.Errorf("GET /metrics: no %s", k)
		}
	}
	return m, nil
}
