package main

import (
	"fmt"
	"math"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/secure"
)

// What an operator reads in /metrics: clau serve sizes the collector for
// its password hashes, and leaves it alone when GOGC or GOMEMLIMIT is set.
func TestServeSizesGCForHashing(t *testing.T) {
	params := secure.Argon2Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	slots := secure.DefaultConcurrency(params, runtime.NumCPU())
	h := secure.NewHasher(params, slots, nil)
	want, percent := h.GCMemoryLimit(), h.GCPercent()
	for _, c := range []struct {
		name        string
		env         []string
		limit, gogc float64
	}{
		{"default", nil, float64(want), float64(percent)},
		{"GOGC set", []string{"GOGC=100"}, math.MaxInt64, 100},
		{"GOMEMLIMIT set", []string{"GOMEMLIMIT=200MiB"}, 200 << 20, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, append([]string{"CLAU_SECURITY_ARGON2_PARALLELISM=1"}, c.env...)...)
			vars := e.vars[:0:0]
			for _, kv := range e.vars {
				if (strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GOMEMLIMIT=")) && !slices.Contains(c.env, kv) {
					continue // the caller's own settings would hide the default
				}
				vars = append(vars, kv)
			}
			e.vars = vars
			s := e.serve()
			_, body, _ := get(t, s.base+"/metrics")
			if got := metric(t, body, "go_gc_gomemlimit_bytes"); got != c.limit {
				t.Errorf("memory limit %.0f, want %.0f", got, c.limit)
			}
			if got := metric(t, body, "go_gc_gogc_percent"); got != c.gogc {
				t.Errorf("GC percent %.0f, want %.0f", got, c.gogc)
			}
		})
	}
}

func metric(t *testing.T, body, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in /metrics", name)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(fmt.Errorf("%s: %w", name, err))
	}
	return v
}
